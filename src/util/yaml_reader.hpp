// Strict reading of YAML documents for schemas, profiles and the config: unknown keys, wrong
// types and bad values throw YamlError with `file:line:column: message`. Exceptions are used only
// here, while loading at start-up (docs/style.md #11); callers turn them into typed errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bluetti::util {

class YamlError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class YamlReader {
public:
    explicit YamlReader(std::string file) : file_(std::move(file)) {}

    // Parses text; a syntax error becomes a YamlError with its position.
    YAML::Node parse(std::string_view text) const;

    const std::string& file() const { return file_; }
    std::string where(const YAML::Node& node) const;
    [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const;

    void require_map(const YAML::Node& node, std::string_view what) const;
    void require_sequence(const YAML::Node& node, std::string_view what) const;
    // Every key of the map must be in `allowed`.
    void check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed) const;
    // The value under `key`; fails when it is missing.
    YAML::Node required(const YAML::Node& map, std::string_view key) const;

    std::string as_string(const YAML::Node& node) const;
    std::int64_t as_integer(const YAML::Node& node, std::int64_t min, std::int64_t max) const;
    double as_number(const YAML::Node& node) const;
    bool as_bool(const YAML::Node& node) const;

    std::optional<std::string> optional_string(const YAML::Node& map, std::string_view key) const;

private:
    std::string file_;
};

// A decimal integer, optionally signed; leading zeros are decimal too ("010" is 10, never 8).
// nullopt when the whole text is not one.
std::optional<std::int64_t> parse_integer(std::string_view text);
// parse_integer(), or hex after "0x", only where the format documents it (a bitmask transform).
std::optional<std::int64_t> parse_integer_or_hex(std::string_view text);
// A decimal number (integer, fraction or exponent; also inf and nan, which the callers refuse
// with their own message); never hex.
std::optional<double> parse_number(std::string_view text);

}  // namespace bluetti::util
