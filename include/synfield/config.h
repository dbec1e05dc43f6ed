// TOML config → validated Problem. Every rejection is a ConfigError whose message names
// the key and the offending value, e.g. "[dynamics].dt = -0.1: must be > 0".
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <synfield/problem.h>

namespace synfield {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `overrides` are "dotted.key=value" strings (the CLI's --set); the value is read as
// TOML, or as a plain string when it does not parse. Relative data paths in the config
// are resolved against the config file's folder.
// `s` as a TOML basic string (quoted and escaped), e.g. for a --set value.
std::string toml_quote(const std::string& s);

Problem load_config(const std::string& path, const std::vector<std::string>& overrides = {});
Problem parse_config(const std::string& text, const std::vector<std::string>& overrides = {},
                     const std::string& base_dir = ".");

}  // namespace synfield
