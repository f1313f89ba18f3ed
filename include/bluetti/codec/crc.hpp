// CRC-16/Modbus: reflected polynomial 0xA001, initial 0xFFFF, no final XOR, appended low byte first.
// Check value: crc16_modbus("123456789") == 0x4B37.
#pragma once

#include <cstdint>

#include "bluetti/hex.hpp"

namespace bluetti::codec {

std::uint16_t crc16_modbus(ByteSpan bytes);

// True when the last two bytes of `frame` are the CRC of the bytes before them.
bool crc_matches(ByteSpan frame);

// Appends the CRC of everything in `frame` (low byte first).
void append_crc(Bytes& frame);

}  // namespace bluetti::codec
