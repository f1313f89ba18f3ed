#include "bluetti/text.hpp"

#include <cstdint>

namespace bluetti::text {

namespace {

// The length of the well-formed UTF-8 sequence starting at s[at], 0 when none starts there
// (RFC 3629 table 3-7: the second byte's range depends on the first).
std::size_t sequence_length(std::string_view s, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
    const std::uint8_t b0 = byte(at);
    if (b0 < 0x80) return 1;
    std::size_t n = 0;
    std::uint8_t lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0) lo = 0xA0;  // overlong
        if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0) lo = 0x90;  // overlong
        if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return 0;  // a continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (at + n > s.size()) return 0;
    if (byte(at + 1) < lo || byte(at + 1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
    return n;
}

void append_escaped(std::string& out, std::uint8_t b) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    out += "\\x";
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
}

}  // namespace

std::size_t invalid_utf8_at(std::string_view s) {
    for (std::size_t at = 0; at < s.size();) {
        const std::size_t n = sequence_length(s, at);
        if (n == 0) return at;
        at += n;
    }
    return std::string_view::npos;
}

bool valid_utf8(std::string_view s) {
    return invalid_utf8_at(s) == std::string_view::npos;
}

std::string echo(std::string_view untrusted, std::size_t max_bytes) {
    const std::string_view shown = untrusted.substr(0, max_bytes);
    std::string out;
    out.reserve(shown.size() + 16);
    for (std::size_t at = 0; at < shown.size();) {
        const auto b = static_cast<std::uint8_t>(shown[at]);
        const std::size_t n = sequence_length(shown, at);
        // A character cut by the limit has no whole sequence within `shown`: escaped, like any
        // malformed byte. C1 controls (U+0080..U+009F, C2 80..C2 9F) are control characters too.
        const bool c1_control = n == 2 && b == 0xC2 && static_cast<std::uint8_t>(shown[at + 1]) < 0xA0;
        if (n == 1 && b >= 0x20 && b < 0x7F) {
            if (b == '\\') out += '\\';
            out += static_cast<char>(b);
        } else if (n > 1 && !c1_control) {
            out.append(shown.substr(at, n));
        } else {
            append_escaped(out, b);
            at += 1;
            continue;
        }
        at += n;
    }
    if (untrusted.size() > shown.size()) out += "\u2026(" + std::to_string(untrusted.size()) + " bytes)";
    return out;
}

}  // namespace bluetti::text
