// Host-side pieces of the perceptron model shared by the backends (host/model/perceptron.h).
#include <synfield/problem.h>

#include "host/config/initial.h"
#include "host/model/perceptron_rows.h"

namespace synfield {

std::vector<std::vector<std::int64_t>> training_rows(const Model& m, int replicas) {
  const std::int64_t P = m.data.samples();
  std::vector<std::vector<std::int64_t>> rows(replicas);
  for (int r = 0; r < replicas; ++r) {
    rows[r].resize(P);
    for (std::int64_t l = 0; l < P; ++l) rows[r][l] = l;
    if (m.replica_data != Model::ReplicaData::bootstrap) continue;
    // replica r draws P examples with replacement from stream (seed, r)
    const std::uint64_t stream = splitmix64(m.seed ^ splitmix64(0xB0075u + static_cast<std::uint64_t>(r)));
    for (std::int64_t l = 0; l < P; ++l)
      rows[r][l] = static_cast<std::int64_t>(splitmix64(stream + static_cast<std::uint64_t>(l)) % static_cast<std::uint64_t>(P));
  }
  return rows;
}

}  // namespace synfield
