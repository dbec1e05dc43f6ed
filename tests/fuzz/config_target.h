// The config parser's fuzz contract, shared by the libFuzzer target (fuzz_config.cpp) and
// the ctest that replays the seed corpus (tests/robustness/test_config_corpus.cpp):
// parse_config either returns a Problem or throws synfield::ConfigError; any other
// exception is a bug (crashes, hangs and sanitizer reports are caught by the fuzzer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <synfield/problem.h>

namespace synfield::fuzz {

// Writes the small data files the seed configs name (coef.h5, init.h5, train.h5,
// train.csv, ../addition.csv) under a new temporary folder, removed at exit, and returns
// the folder to give parse_config as base_dir. Call once.
std::string make_data_dir();

// Parses `size` bytes as a config: the whole text, plus each line "#set KEY=VALUE" (a TOML
// comment) as an override; throws what parse_config throws.
Problem parse_input(const std::uint8_t* data, std::size_t size, const std::string& base_dir);

// parse_input's verdict: empty when it returned or threw ConfigError; else a description of
// the other exception (a bug).
std::string check_config(const std::uint8_t* data, std::size_t size, const std::string& base_dir);

}  // namespace synfield::fuzz
