// The executable's MPI world (only host/run/mpi_world.cpp sees <mpi.h>, and only the synfield
// executable links MPI): started when a launcher (mpirun, srun --mpi) put this process in
// a world, so a plain `synfield run` or `synfield sweep` never initialises MPI; a build
// without MPI is a world of one.
#pragma once

#include <memory>

#include <synfield/comm.h>

namespace synfield {

class World {
 public:
  World();   // MPI_Init when launched by an MPI launcher
  ~World();  // MPI_Finalize
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool mpi() const { return mpi_; }
  // The ranks as a Comm (null in a world of one).
  const Comm* comm() const { return comm_.get(); }
  // Waits for every rank; returns the largest `status` over the ranks.
  int meet(int status) const { return max_over(comm_.get(), status); }

 private:
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  std::unique_ptr<Comm> comm_;
};

}  // namespace synfield
