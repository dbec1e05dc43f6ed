// The ranks one lattice is split over: `mpirun -np R synfield run` gives every rank a slab
// of the lattice along its slowest axis (axis 0). The engine talks to the other ranks only
// through this interface, so the library never sees <mpi.h>: the executable implements it
// with MPI (host/run/mpi_world.cpp), and a build without MPI never makes one.
#pragma once

#include <string>
#include <vector>

namespace synfield {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // This rank's index among the ranks of its node (the GPU it takes), and their number.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;

  // In-place sums over the ranks (every rank gets the result).
  virtual void sum(double* v, long n) const = 0;
  virtual void sum(float* v, long n) const = 0;
  // The largest `v` over the ranks.
  virtual int max(int v) const = 0;
  // Sends `bytes` from `send` to rank `to` while receiving `bytes` into `recv` from rank
  // `from`; -1 for either means no partner on that side.
  virtual void shift(const void* send, void* recv, long bytes, int to, int from) const = 0;
  // Every rank's block (bytes_of[r] bytes from rank r) concatenated in rank order into
  // `recv`, on every rank (gather_all) or on rank 0 alone (gather; recv unused elsewhere).
  virtual void gather_all(const void* send, void* recv, const std::vector<long>& bytes_of) const = 0;
  virtual void gather(const void* send, void* recv, const std::vector<long>& bytes_of) const = 0;
  // Ends every rank's process with `code` (an error one rank cannot share with the others).
  [[noreturn]] virtual void abort(int code) const = 0;
  // The ranks' MPI communicator (an MPI_Comm*), for a library that takes one (parallel HDF5,
  // host/io/h5.h); null when the ranks are not MPI processes (tests/common/thread_comm.h).
  virtual const void* mpi_comm() const { return nullptr; }
};

// The largest `v` over the ranks of `comm`, or `v` itself without one.
inline int max_over(const Comm* comm, int v) { return comm ? comm->max(v) : v; }

// The rows [begin, begin + count) of axis 0 that rank r of R owns: n0 rows split as evenly
// as they go, the first n0 mod R ranks one row more.
struct Slab {
  int begin = 0, count = 0;
};
inline Slab slab_of(int n0, int ranks, int r) {
  const int base = n0 / ranks, extra = n0 % ranks;
  return {r * base + (r < extra ? r : extra), base + (r < extra ? 1 : 0)};
}

}  // namespace synfield
