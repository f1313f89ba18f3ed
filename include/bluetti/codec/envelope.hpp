// The Bluetti cloud payload envelope around a Modbus RTU frame (docs/protocol.md §3).
//
//   V2:  01 F8 0F RH RL 00 00 00 00 00 | RTU frame       (RH RL = register the frame addresses)
//        replies: byte 7 = RSSI in dBm (signed), the other header bytes are ignored
//   V1:  01 | RTU frame
//   bare: RTU frame only (never seen from the cloud; accepted for the CLI)
//
// The inbound envelope is detected by which interpretation has a valid CRC, because a bare frame
// from slave 1 also starts with 01.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "bluetti/codec/error.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/hex.hpp"
#include "bluetti/result.hpp"

namespace bluetti::codec {

enum class Envelope : std::uint8_t { v2, v1, bare };

std::string_view to_string(Envelope envelope);
std::optional<Envelope> envelope_from_string(std::string_view text);

inline constexpr std::size_t kV2HeaderSize = 10;
// The longest payload that can hold a frame: the V2 header (the longest envelope) and the longest
// frame. Anything longer is garbage, dropped before its CRC is computed or its bytes are shown.
inline constexpr std::size_t kMaxPayloadSize = kV2HeaderSize + kMaxFrameSize;

// Prefixes `rtu` with the envelope; `reg` fills the V2 register field.
Bytes wrap(Envelope envelope, std::uint16_t reg, ByteSpan rtu);

struct Unwrapped {
    Envelope envelope;
    ByteSpan rtu;             // slave … CRC, CRC already checked
    std::optional<int> rssi;  // V2 header byte 7 as signed dBm, when non-zero
};

// Finds the envelope by CRC. On failure the error names the most plausible reading of the payload
// (bad CRC of a V2 frame, a truncated payload, …) and carries the payload's hex.
Result<Unwrapped, Error> unwrap(ByteSpan payload);

}  // namespace bluetti::codec
