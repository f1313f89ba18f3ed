// Durations as written in YAML: "500ms", "10s", "2m", "1h" (docs/configuration.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace bluetti::util {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace bluetti::util
