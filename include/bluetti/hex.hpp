// Hex text <-> bytes, for logs, error messages, the CLI and tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/result.hpp"

namespace bluetti {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

// Lower-case hex, no separators ("01f80f...").
std::string to_hex(ByteSpan bytes);

// Parses hex digits; white space, ':' and '-' between bytes are ignored, an optional leading "0x"
// is skipped. The error text says which character is wrong and where.
Result<Bytes, std::string> parse_hex(std::string_view text);

}  // namespace bluetti
