#include "bluetti/codec/crc.hpp"

#include <array>

namespace bluetti::codec {

namespace {
// Byte-wise table, built at compile time: one lookup per byte instead of eight shifts.
constexpr std::array<std::uint16_t, 256> make_table() {
    std::array<std::uint16_t, 256> table{};
    for (unsigned i = 0; i < 256; ++i) {
        std::uint16_t crc = static_cast<std::uint16_t>(i);
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001) : crc >> 1;
        table[i] = crc;
    }
    return table;
}
constexpr auto kTable = make_table();
}  // namespace

std::uint16_t crc16_modbus(ByteSpan bytes) {
    std::uint16_t crc = 0xFFFF;
    for (std::uint8_t b : bytes) crc = static_cast<std::uint16_t>((crc >> 8) ^ kTable[(crc ^ b) & 0xFF]);
    return crc;
}

bool crc_matches(ByteSpan frame) {
    if (frame.size() < 3) return false;
    const std::uint16_t computed = crc16_modbus(frame.first(frame.size() - 2));
    const std::uint16_t carried = static_cast<std::uint16_t>(frame[frame.size() - 2] | frame[frame.size() - 1] << 8);
    return computed == carried;
}

void append_crc(Bytes& frame) {
    const std::uint16_t crc = crc16_modbus(frame);
    frame.push_back(static_cast<std::uint8_t>(crc & 0xFF));
    frame.push_back(static_cast<std::uint8_t>(crc >> 8));
}

}  // namespace bluetti::codec
