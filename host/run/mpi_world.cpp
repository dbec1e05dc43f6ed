// MPI behind the Comm interface (include/synfield/comm.h), for the synfield executable.
#include "host/run/mpi_world.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#if defined(SYNFIELD_HAVE_MPI)
#define OMPI_SKIP_MPICXX 1  // the C API only: no deprecated C++ bindings to link
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace synfield {

#if defined(SYNFIELD_HAVE_MPI)
namespace {

// MPI counts are ints: transfers go in pieces of at most 1 GiB.
constexpr long kPiece = 1L << 30;

class MpiComm final : public Comm {
 public:
  MpiComm() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_);
    MPI_Comm_size(node, &local_size_);
    MPI_Comm_free(&node);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_; }
  int local_size() const override { return local_size_; }
  const void* mpi_comm() const override { return &world_; }

  void sum(double* v, long n) const override { sum_as(v, n, MPI_DOUBLE); }
  void sum(float* v, long n) const override { sum_as(v, n, MPI_FLOAT); }
  int max(int v) const override {
    int m = v;
    MPI_Allreduce(&v, &m, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return m;
  }
  void shift(const void* send, void* recv, long bytes, int to, int from) const override {
    const auto* s = static_cast<const char*>(send);
    auto* r = static_cast<char*>(recv);
    for (long at = 0; at < bytes; at += kPiece) {
      const int n = static_cast<int>(std::min(kPiece, bytes - at));
      MPI_Sendrecv(s + at, n, MPI_BYTE, to < 0 ? MPI_PROC_NULL : to, 0, r + at, n, MPI_BYTE,
                   from < 0 ? MPI_PROC_NULL : from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }
  void gather_all(const void* send, void* recv, const std::vector<long>& bytes_of) const override {
    auto* out = static_cast<char*>(recv);
    for (int r = 0; r < size_; ++r) {  // each rank's block broadcast from it, in pieces
      if (r == rank_) std::copy_n(static_cast<const char*>(send), bytes_of[r], out);
      for (long at = 0; at < bytes_of[r]; at += kPiece)
        MPI_Bcast(out + at, static_cast<int>(std::min(kPiece, bytes_of[r] - at)), MPI_BYTE, r, MPI_COMM_WORLD);
      out += bytes_of[r];
    }
  }
  void gather(const void* send, void* recv, const std::vector<long>& bytes_of) const override {
    const auto* in = static_cast<const char*>(send);
    if (rank_ > 0) {
      for (long at = 0; at < bytes_of[rank_]; at += kPiece)
        MPI_Send(in + at, static_cast<int>(std::min(kPiece, bytes_of[rank_] - at)), MPI_BYTE, 0, 1, MPI_COMM_WORLD);
      return;
    }
    auto* out = static_cast<char*>(recv);
    std::copy_n(in, bytes_of[0], out);
    for (int r = 1; r < size_; ++r) {  // each rank's block in turn, in pieces
      out += bytes_of[r - 1];
      for (long at = 0; at < bytes_of[r]; at += kPiece)
        MPI_Recv(out + at, static_cast<int>(std::min(kPiece, bytes_of[r] - at)), MPI_BYTE, r, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    }
  }
  [[noreturn]] void abort(int code) const override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
  }

 private:
  template <class T>
  void sum_as(T* v, long n, MPI_Datatype type) const {
    const long piece = kPiece / static_cast<long>(sizeof(T));
    for (long at = 0; at < n; at += piece)
      MPI_Allreduce(MPI_IN_PLACE, v + at, static_cast<int>(std::min(piece, n - at)), type, MPI_SUM, MPI_COMM_WORLD);
  }
  int rank_ = 0, size_ = 1, local_ = 0, local_size_ = 1;
  MPI_Comm world_ = MPI_COMM_WORLD;
};

}  // namespace

World::World() {
  const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK") ||
                        std::getenv("MPI_LOCALNRANKS");
  if (!launched) return;
  int started = 0;
  MPI_Initialized(&started);
  if (!started) MPI_Init(nullptr, nullptr);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  mpi_ = true;
  if (size_ > 1) comm_ = std::make_unique<MpiComm>();
}

World::~World() {
  comm_.reset();
  if (mpi_) MPI_Finalize();
}
#else
World::World() = default;
World::~World() = default;
#endif

}  // namespace synfield
