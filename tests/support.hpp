// Shared helpers of the unit tests: test data files and hex.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "bluetti/hex.hpp"

namespace bluetti::test {

inline std::string read_data_file(const std::string& relative) {
    std::ifstream in(std::string(BLUETTI_TEST_DATA) + "/" + relative);
    REQUIRE_MESSAGE(in.good(), "missing test data file " << relative);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A data file's text without its trailing newline and spaces (a .hex file ends in one).
inline std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

inline Bytes hex(std::string_view text) {
    auto bytes = parse_hex(text);
    REQUIRE_MESSAGE(bytes.ok(), "bad hex in test: " << text);
    return *bytes;
}

inline nlohmann::json golden_vectors() {
    return nlohmann::json::parse(read_data_file("golden_vectors.json"))["vectors"];
}

}  // namespace bluetti::test
