// Reading and writing the integer base types at a byte offset. Internal to the schema layer;
// the only place that knows word order (docs/protocol.md §5: u32ws/i32ws/bits32 are low register first).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "bluetti/hex.hpp"
#include "bluetti/schema/block_schema.hpp"

namespace bluetti::schema::detail {

inline std::uint16_t be16(ByteSpan d, std::size_t at) {
    return static_cast<std::uint16_t>(d[at] << 8 | d[at + 1]);
}

// A transformed value as an integer for the bit transforms (truncated like a cast). A schema's scale
// and transforms can take the value anywhere (1e300, inf, NaN), and casting a double outside int64
// is undefined, so the result saturates at the int64 limits and NaN becomes 0.
inline std::int64_t saturating_integer(double v) {
    constexpr double kLimit = 9223372036854775808.0;  // 2^63, exact as a double
    if (std::isnan(v)) return 0;
    if (v >= kLimit) return std::numeric_limits<std::int64_t>::max();
    if (v < -kLimit) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(v);
}

// The raw integer of an integer-typed field, or nullopt when its bytes are not all in `data`.
inline std::optional<std::int64_t> read_integer(BaseType type, ByteSpan data, std::size_t at) {
    if (at + type_width(type, 0) > data.size()) return std::nullopt;
    switch (type) {
        case BaseType::u8:
        case BaseType::boolean:
        case BaseType::temp40u8:
            return data[at];
        case BaseType::i8:
            return static_cast<std::int8_t>(data[at]);
        case BaseType::u16:
        case BaseType::temp40:
        case BaseType::bits16:
            return be16(data, at);
        case BaseType::i16:
            return static_cast<std::int16_t>(be16(data, at));
        case BaseType::u32ws:
        case BaseType::bits32:
            return static_cast<std::uint32_t>(be16(data, at + 2)) << 16 | be16(data, at);
        case BaseType::i32ws:
            return static_cast<std::int32_t>(static_cast<std::uint32_t>(be16(data, at + 2)) << 16 | be16(data, at));
        case BaseType::u32be:
            return static_cast<std::uint32_t>(be16(data, at)) << 16 | be16(data, at + 2);
        case BaseType::i32be:
            return static_cast<std::int32_t>(static_cast<std::uint32_t>(be16(data, at)) << 16 | be16(data, at + 2));
        default:
            return std::nullopt;
    }
}

// Writes the low bits of `raw` selected by `mask` (in the type's own bit space) at `at`,
// keeping the other bits: fields may share a byte (nibbles) or a register (flag bits).
inline void write_integer(BaseType type, Bytes& data, std::size_t at, std::uint64_t raw, std::uint64_t mask) {
    const std::size_t width = type_width(type, 0);
    std::uint64_t old = 0;
    if (auto current = read_integer(type, data, at)) old = static_cast<std::uint64_t>(*current);
    const std::uint64_t full = width == 1 ? 0xFF : width == 2 ? 0xFFFF : 0xFFFFFFFF;
    const std::uint64_t v = ((old & ~mask) | (raw & mask)) & full;
    switch (width) {
        case 1:
            data[at] = static_cast<std::uint8_t>(v);
            break;
        case 2:
            data[at] = static_cast<std::uint8_t>(v >> 8);
            data[at + 1] = static_cast<std::uint8_t>(v);
            break;
        default: {
            const bool swapped = type != BaseType::u32be && type != BaseType::i32be;
            const auto low = static_cast<std::uint16_t>(v), high = static_cast<std::uint16_t>(v >> 16);
            const std::uint16_t first = swapped ? low : high, second = swapped ? high : low;
            data[at] = static_cast<std::uint8_t>(first >> 8);
            data[at + 1] = static_cast<std::uint8_t>(first);
            data[at + 2] = static_cast<std::uint8_t>(second >> 8);
            data[at + 3] = static_cast<std::uint8_t>(second);
        }
    }
}

}  // namespace bluetti::schema::detail
