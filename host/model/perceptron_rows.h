// Which data rows each replica of a perceptron model trains on (host/model/model.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include <synfield/problem.h>

namespace synfield {

// The identity for shared or streamed replica data; a bootstrap resample (P draws with
// replacement, SplitMix64 stream keyed by the model seed and the replica) otherwise.
std::vector<std::vector<std::int64_t>> training_rows(const Model& m, int replicas);

}  // namespace synfield
