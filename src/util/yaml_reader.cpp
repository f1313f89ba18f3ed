#include "yaml_reader.hpp"

#include <algorithm>
#include <charconv>

namespace bluetti::util {

namespace {
// from_chars takes a '-' but no '+'; a '+' before a digit is as good.
std::string_view without_plus(std::string_view text) {
    if (text.size() > 1 && text.front() == '+' && text[1] >= '0' && text[1] <= '9') text.remove_prefix(1);
    return text;
}
}  // namespace

std::optional<std::int64_t> parse_integer(std::string_view text) {
    text = without_plus(text);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 10);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

std::optional<std::int64_t> parse_integer_or_hex(std::string_view text) {
    if (!text.starts_with("0x") && !text.starts_with("0X")) return parse_integer(text);
    text.remove_prefix(2);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

std::optional<double> parse_number(std::string_view text) {
    if (auto i = parse_integer(text)) return static_cast<double>(*i);
    text = without_plus(text);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::general);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

YAML::Node YamlReader::parse(std::string_view text) const {
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
        throw YamlError(file_ + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
}

std::string YamlReader::where(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return file_;
    return file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

void YamlReader::fail(const YAML::Node& node, const std::string& message) const {
    throw YamlError(where(node) + ": " + message);
}

void YamlReader::require_map(const YAML::Node& node, std::string_view what) const {
    if (!node.IsMap()) fail(node, std::string(what) + " must be a mapping");
}

void YamlReader::require_sequence(const YAML::Node& node, std::string_view what) const {
    if (!node.IsSequence()) fail(node, std::string(what) + " must be a list");
}

void YamlReader::check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed) const {
    for (const auto& entry : map) {
        const std::string key = entry.first.as<std::string>();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            std::string list;
            for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            fail(entry.first, "unknown key '" + key + "' (expected one of: " + list + ")");
        }
    }
}

YAML::Node YamlReader::required(const YAML::Node& map, std::string_view key) const {
    const YAML::Node value = map[std::string(key)];
    if (!value) fail(map, "missing required key '" + std::string(key) + "'");
    return value;
}

std::string YamlReader::as_string(const YAML::Node& node) const {
    if (!node.IsScalar()) fail(node, "expected a text value");
    return node.Scalar();
}

std::int64_t YamlReader::as_integer(const YAML::Node& node, std::int64_t min, std::int64_t max) const {
    if (!node.IsScalar()) fail(node, "expected an integer");
    const auto v = parse_integer(node.Scalar());
    if (!v) fail(node, "expected an integer, got '" + node.Scalar() + "'");
    if (*v < min || *v > max) {
        fail(node, "value " + node.Scalar() + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
    }
    return *v;
}

double YamlReader::as_number(const YAML::Node& node) const {
    if (!node.IsScalar()) fail(node, "expected a number");
    const auto v = parse_number(node.Scalar());
    if (!v) fail(node, "expected a number, got '" + node.Scalar() + "'");
    return *v;
}

bool YamlReader::as_bool(const YAML::Node& node) const {
    if (node.IsScalar()) {
        const std::string& s = node.Scalar();
        if (s == "true" || s == "yes" || s == "on") return true;
        if (s == "false" || s == "no" || s == "off") return false;
    }
    fail(node, "expected true or false");
}

std::optional<std::string> YamlReader::optional_string(const YAML::Node& map, std::string_view key) const {
    const YAML::Node value = map[std::string(key)];
    if (!value) return std::nullopt;
    return as_string(value);
}

}  // namespace bluetti::util
