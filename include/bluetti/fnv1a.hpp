// FNV-1a, 64 bits: a small, stable hash of a text. Used where a fingerprint of a payload is kept
// instead of the payload itself (HA discovery change detection) and for the simulator's per-serial
// seeds. Not for anything adversarial.
#pragma once

#include <cstdint>
#include <string_view>

namespace bluetti {

inline std::uint64_t fnv1a64(std::string_view text) {
    std::uint64_t h = 0xCBF29CE484222325ull;
    for (const char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001B3ull;
    }
    return h;
}

}  // namespace bluetti
