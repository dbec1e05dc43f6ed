// Initial conditions on the host: [field][replica][site] arrays of w and π from the
// Problem's [initial] specs.
#pragma once

#include <cstdint>
#include <vector>

#include <synfield/problem.h>

namespace synfield {

// SplitMix64 finaliser: the hash behind every seeded stream in synfield (initial data,
// generators, samplers), so results never depend on thread count or backend.
std::uint64_t splitmix64(std::uint64_t x);

// Standard normal deviate number `counter` of stream `seed`: a counter-based generator
// (SplitMix64 hashing + Box–Muller), so values do not depend on threads or backends.
double gaussian_deviate(std::uint64_t seed, std::uint64_t counter);

// [field][replica][site] for the `count` sites from site `first` (all of them by default),
// each value the one it has in the whole lattice.
void initial_state(const Problem& p, std::vector<double>& w, std::vector<double>& pi, std::int64_t first = 0,
                   std::int64_t count = -1);

}  // namespace synfield
