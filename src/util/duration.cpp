#include "duration.hpp"

#include <charconv>

namespace bluetti::util {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::uint64_t number = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc{} || end == text.data()) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::uint64_t factor;
    if (unit == "ms")
        factor = 1;
    else if (unit == "s")
        factor = 1000;
    else if (unit == "m")
        factor = 60'000;
    else if (unit == "h")
        factor = 3'600'000;
    else
        return std::nullopt;
    if (number > (std::uint64_t{1} << 40) / factor) return std::nullopt;
    return std::chrono::milliseconds(number * factor);
}

std::string format_duration(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms % 3'600'000 == 0 && ms) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0 && ms) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace bluetti::util
