// Modbus RTU frames as the Bluetti cloud carries them (docs/protocol.md §4.1): builders for the requests
// we send and the replies the simulator sends, and one parser for any frame.
//
//   FC 03 request         slave 03 start(2) count(2) crc(2)                  8
//   FC 03 reply           slave 03 n data(n) crc(2)                          5 + n, n even, n ≤ 250
//   FC 06 write / echo    slave 06 reg(2) value(2) crc(2)                    8
//   FC 16 request format  slave 10 start(2) qty(2) n data(n) crc(2)          9 + n, n = 2·qty
//   FC 16 acknowledgement slave 10 start(2) qty(2) crc(2)                    8
//   exception             slave (fc|80) code crc(2)                          5
//
// The expected length comes from the function code and is checked before any field is read.
// Pure functions over byte spans: no I/O, clock or logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "bluetti/codec/error.hpp"
#include "bluetti/hex.hpp"
#include "bluetti/result.hpp"

namespace bluetti::codec {

inline constexpr std::uint8_t kReadHolding = 0x03;
inline constexpr std::uint8_t kWriteSingle = 0x06;
inline constexpr std::uint8_t kWriteMultiple = 0x10;
inline constexpr std::uint16_t kMaxReadRegisters = 125;
// The longest frame parse_frame() can accept: FC 16 in request format, 7 bytes up to its byte
// count, at most 255 data bytes (the count is one byte) and the CRC. No valid frame is longer.
inline constexpr std::size_t kMaxFrameSize = 7 + 255 + 2;

// Which side sent the frame: FC 03 and FC 16 look different in each direction.
enum class Direction : std::uint8_t { request, response };

enum class FrameKind : std::uint8_t {
    read_request,    // FC 03 request: address = start, quantity = count
    read_reply,      // FC 03 reply: data
    write_single,    // FC 06 request or its echo: address = register, value
    write_multiple,  // FC 16 in request format (pushes, NODE_INFO): address = start, quantity, data
    write_ack,       // FC 16 standard acknowledgement: address = start, quantity
    exception,       // function = original FC, exception_code
};

struct Frame {
    FrameKind kind;
    std::uint8_t slave = 0;
    std::uint8_t function = 0;  // without the 0x80 bit for exceptions
    std::uint16_t address = 0;
    std::uint16_t quantity = 0;
    std::uint16_t value = 0;
    std::uint8_t exception_code = 0;
    ByteSpan data;  // register data (read_reply, write_multiple); points into the parsed buffer
};

Result<Frame, Error> parse_frame(ByteSpan rtu, Direction direction);

std::string_view exception_name(std::uint8_t code);

// Builders append the CRC. They refuse what Modbus cannot express (count 0 or > 125, data > 250 B).
Result<Bytes, Error> build_read_request(std::uint8_t slave, std::uint16_t start, std::uint16_t count);
// FC 06, only for a register of the write whitelist and a value in its range (write_whitelist.hpp):
// anything else is Errc::forbidden_write and no frame exists.
Result<Bytes, Error> build_write_single(std::uint8_t slave, std::uint16_t reg, std::uint16_t value);
// The only FC 16 the bridge sends: the NODE_INFO query (selector 1 written to register 21000).
Bytes build_node_info_query(std::uint8_t slave);
// FC 16 in request format as a *device* sends it (pushes, NODE_INFO replies): simulator side.
Result<Bytes, Error> build_write_multiple(std::uint8_t slave, std::uint16_t start, ByteSpan data);
Result<Bytes, Error> build_read_reply(std::uint8_t slave, ByteSpan data);
Bytes build_exception(std::uint8_t slave, std::uint8_t function, std::uint8_t code);

}  // namespace bluetti::codec
