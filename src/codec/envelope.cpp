#include "bluetti/codec/envelope.hpp"

#include <cstdio>

#include "bluetti/codec/crc.hpp"

namespace bluetti::codec {

std::string_view to_string(Envelope envelope) {
    switch (envelope) {
        case Envelope::v2:
            return "v2";
        case Envelope::v1:
            return "v1";
        case Envelope::bare:
            return "bare";
    }
    return "?";
}

std::optional<Envelope> envelope_from_string(std::string_view text) {
    if (text == "v2") return Envelope::v2;
    if (text == "v1") return Envelope::v1;
    if (text == "bare") return Envelope::bare;
    return std::nullopt;
}

Bytes wrap(Envelope envelope, std::uint16_t reg, ByteSpan rtu) {
    Bytes out;
    out.reserve(rtu.size() + kV2HeaderSize);
    switch (envelope) {
        case Envelope::v2:
            out = {0x01, 0xF8, 0x0F, static_cast<std::uint8_t>(reg >> 8), static_cast<std::uint8_t>(reg & 0xFF), 0, 0, 0, 0, 0};
            break;
        case Envelope::v1:
            out.push_back(0x01);
            break;
        case Envelope::bare:
            break;
    }
    out.insert(out.end(), rtu.begin(), rtu.end());
    return out;
}

namespace {

bool looks_like_v2(ByteSpan p) {
    return p.size() >= kV2HeaderSize + 5 && p[0] == 0x01 && p[1] == 0xF8;
}

// A frame whose length agrees with its function code (either direction) is the reading worth
// reporting when no CRC matches.
bool length_plausible(ByteSpan rtu) {
    if (rtu.size() < 5) return false;
    const std::uint8_t fc = rtu[1];
    if (fc & 0x80) return rtu.size() == 5;
    switch (fc) {
        case 0x03:
            return rtu.size() == 8 || rtu.size() == 5u + rtu[2];
        case 0x06:
            return rtu.size() == 8;
        case 0x10:
            return rtu.size() == 8 || (rtu.size() > 7 && rtu.size() == 9u + rtu[6]);
        default:
            return false;
    }
}

Failure<Error> crc_error(ByteSpan rtu, std::string_view reading, ByteSpan payload) {
    char text[96];
    std::snprintf(text, sizeof text, "CRC mismatch: frame says 0x%04X, computed 0x%04X", rtu[rtu.size() - 2] | rtu[rtu.size() - 1] << 8,
                  crc16_modbus(rtu.first(rtu.size() - 2)));
    return fail(Error{Errc::bad_crc, std::string(text) + " (" + std::string(reading) + " payload " + to_hex(payload) + ")"});
}

}  // namespace

Result<Unwrapped, Error> unwrap(ByteSpan payload) {
    if (payload.size() < 4) {
        return fail(Error{Errc::truncated,
                          "payload of " + std::to_string(payload.size()) + " bytes is too short (payload " + to_hex(payload) + ")"});
    }
    if (looks_like_v2(payload)) {
        ByteSpan rtu = payload.subspan(kV2HeaderSize);
        if (crc_matches(rtu)) {
            std::optional<int> rssi;
            if (payload[7] != 0) rssi = static_cast<int>(static_cast<std::int8_t>(payload[7]));
            return Unwrapped{Envelope::v2, rtu, rssi};
        }
    }
    if (payload[0] == 0x01 && crc_matches(payload.subspan(1))) return Unwrapped{Envelope::v1, payload.subspan(1), std::nullopt};
    if (crc_matches(payload)) return Unwrapped{Envelope::bare, payload, std::nullopt};

    // Nothing checks: report the reading whose length fits its function code.
    if (looks_like_v2(payload) && length_plausible(payload.subspan(kV2HeaderSize))) {
        return crc_error(payload.subspan(kV2HeaderSize), "v2", payload);
    }
    if (length_plausible(payload)) return crc_error(payload, "bare RTU", payload);
    if (payload[0] == 0x01 && length_plausible(payload.subspan(1))) return crc_error(payload.subspan(1), "v1", payload);
    if (looks_like_v2(payload)) return crc_error(payload.subspan(kV2HeaderSize), "v2", payload);
    return crc_error(payload, "bare RTU", payload);
}

}  // namespace bluetti::codec
