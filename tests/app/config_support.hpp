// Helpers of the load_config() tests (config_test.cpp, config_errors_test.cpp,
// config_credentials_test.cpp): a temporary directory, a hermetic environment, and loading a text.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "config.hpp"
#include "temp_dir.hpp"

namespace bluetti::config_test {

namespace fs = std::filesystem;
using test::TempDir;

// Always a non-empty map, so the process environment is never consulted by accident.
inline app::ConfigEnvironment env(std::map<std::string, std::string> variables = {}) {
    variables.emplace("BLUETTI_TEST_HERMETIC", "1");
    return app::ConfigEnvironment{std::move(variables)};
}

inline Result<app::Config, std::string> load(const TempDir& dir, const std::string& yaml, const app::ConfigEnvironment& e) {
    return app::load_config(dir.write("config.yaml", yaml), e);
}

inline app::Config load_ok(const TempDir& dir, const std::string& yaml, const app::ConfigEnvironment& e) {
    auto c = load(dir, yaml, e);
    REQUIRE_MESSAGE(c.ok(), c.error());
    return *c;
}

inline std::string load_error(const TempDir& dir, const std::string& yaml, const app::ConfigEnvironment& e) {
    auto c = load(dir, yaml, e);
    REQUIRE_MESSAGE(!c.ok(), "expected an error for:\n" << yaml);
    return c.error();
}

inline std::size_t lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

}  // namespace bluetti::config_test
