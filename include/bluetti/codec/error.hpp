// Typed errors of the codec layer. Every message carries the offending frame's hex so a log line
// or a CLI error is enough to reproduce the problem.
#pragma once

#include <string>
#include <string_view>

namespace bluetti::codec {

enum class Errc {
    truncated,            // shorter than its function code needs
    bad_crc,              // CRC-16/Modbus does not match
    wrong_function,       // function code not in the table (or not the one expected)
    byte_count_mismatch,  // byte count / quantity disagrees with the frame length
    odd_length,           // FC 03 byte count is odd
    too_long,             // more than one frame, or a read of more than 125 registers
    bad_argument,         // a builder was asked for something Modbus cannot express
    forbidden_write,      // not a whitelisted register, or a value outside its range
};

std::string_view to_string(Errc code);

struct Error {
    Errc code;
    std::string message;
};

}  // namespace bluetti::codec
