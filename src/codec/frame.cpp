#include "bluetti/codec/frame.hpp"

#include <cstdio>

#include "bluetti/codec/crc.hpp"
#include "bluetti/codec/write_whitelist.hpp"

namespace bluetti::codec {

std::string_view to_string(Errc code) {
    switch (code) {
        case Errc::truncated:
            return "truncated";
        case Errc::bad_crc:
            return "bad CRC";
        case Errc::wrong_function:
            return "wrong function";
        case Errc::byte_count_mismatch:
            return "byte count mismatch";
        case Errc::odd_length:
            return "odd length";
        case Errc::too_long:
            return "too long";
        case Errc::bad_argument:
            return "bad argument";
        case Errc::forbidden_write:
            return "forbidden write";
    }
    return "unknown";
}

std::string_view exception_name(std::uint8_t code) {
    switch (code) {
        case 1:
            return "illegal function";
        case 2:
            return "illegal data address";
        case 3:
            return "illegal data value";
        case 4:
            return "device failure";
        default:
            return "unknown exception";
    }
}

namespace {

std::uint16_t be16(ByteSpan b, std::size_t at) {
    return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

Failure<Error> frame_error(Errc code, const std::string& what, ByteSpan rtu) {
    return fail(Error{code, what + " (frame " + to_hex(rtu) + ")"});
}

// The function-code table (libmodbus compute_meta_length_after_function, adapted): how many bytes
// a frame of this function needs, given its first `head` bytes. 0 = unknown function.
struct LengthRule {
    std::size_t fixed;       // whole frame length when there is no byte count
    std::size_t count_at;    // index of the byte-count byte, 0 when fixed
    std::size_t count_base;  // frame length = count_base + count
};

LengthRule length_rule(std::uint8_t function, Direction direction, std::size_t size) {
    if (function & 0x80) return {5, 0, 0};
    switch (function) {
        case kReadHolding:
            return direction == Direction::request ? LengthRule{8, 0, 0} : LengthRule{0, 2, 5};
        case kWriteSingle:
            return {8, 0, 0};
        case kWriteMultiple:
            // A device answers in request format (pushes, NODE_INFO); an 8-byte frame is the
            // standard acknowledgement, which is accepted too.
            if (direction == Direction::response && size == 8) return {8, 0, 0};
            return {0, 6, 9};
        default:
            return {0, 0, 0};
    }
}

// The frame's CRC, then its length from the function-code table, before any field is read.
Result<Ok, Error> check_frame(ByteSpan rtu, Direction direction) {
    if (rtu.size() < 4) return frame_error(Errc::truncated, "frame of " + std::to_string(rtu.size()) + " bytes is too short", rtu);
    if (!crc_matches(rtu)) {
        char text[64];
        std::snprintf(text, sizeof text, "CRC mismatch: frame says 0x%04X, computed 0x%04X", rtu[rtu.size() - 2] | rtu[rtu.size() - 1] << 8,
                      crc16_modbus(rtu.first(rtu.size() - 2)));
        return frame_error(Errc::bad_crc, text, rtu);
    }
    const std::uint8_t function = rtu[1];
    const LengthRule rule = length_rule(function, direction, rtu.size());
    if (rule.fixed == 0 && rule.count_at == 0) {
        char text[48];
        std::snprintf(text, sizeof text, "unsupported function code 0x%02X", function);
        return frame_error(Errc::wrong_function, text, rtu);
    }
    std::size_t expected = rule.fixed;
    if (rule.count_at != 0) {
        if (rtu.size() < rule.count_at + 3) {
            return frame_error(Errc::truncated, "frame ends before its byte count", rtu);
        }
        expected = rule.count_base + rtu[rule.count_at];
    }
    if (rtu.size() < expected) {
        return frame_error(Errc::truncated,
                           "frame has " + std::to_string(rtu.size()) + " bytes, its function needs " + std::to_string(expected), rtu);
    }
    if (rtu.size() > expected) {
        return frame_error(rule.count_at ? Errc::byte_count_mismatch : Errc::too_long,
                           "frame has " + std::to_string(rtu.size()) + " bytes, its header says " + std::to_string(expected), rtu);
    }
    return Ok{};
}

// FC 03: a request's address and quantity, or a reply's data.
Result<Frame, Error> read_fields(Frame frame, ByteSpan rtu, Direction direction) {
    if (direction == Direction::request) {
        frame.kind = FrameKind::read_request;
        frame.address = be16(rtu, 2);
        frame.quantity = be16(rtu, 4);
        return frame;
    }
    const std::size_t n = rtu[2];
    if (n % 2 != 0) return frame_error(Errc::odd_length, "byte count " + std::to_string(n) + " is odd", rtu);
    frame.kind = FrameKind::read_reply;
    frame.data = rtu.subspan(3, n);
    frame.quantity = static_cast<std::uint16_t>(n / 2);
    return frame;
}

// FC 16: data in request format (also a device's pushes), or the 8-byte acknowledgement.
Result<Frame, Error> write_multiple_fields(Frame frame, ByteSpan rtu, Direction direction) {
    frame.address = be16(rtu, 2);
    frame.quantity = be16(rtu, 4);
    if (rtu.size() == 8 && direction == Direction::response) {
        frame.kind = FrameKind::write_ack;
        return frame;
    }
    const std::size_t n = rtu[6];
    if (n != 2u * frame.quantity) {
        return frame_error(Errc::byte_count_mismatch,
                           "byte count " + std::to_string(n) + " does not match quantity " + std::to_string(frame.quantity), rtu);
    }
    frame.kind = FrameKind::write_multiple;
    frame.data = rtu.subspan(7, n);
    return frame;
}

}  // namespace

Result<Frame, Error> parse_frame(ByteSpan rtu, Direction direction) {
    if (auto checked = check_frame(rtu, direction); !checked) return fail(checked.error());
    const std::uint8_t function = rtu[1];
    Frame frame{};
    frame.slave = rtu[0];
    frame.function = function & 0x7F;
    if (function & 0x80) {
        frame.kind = FrameKind::exception;
        frame.exception_code = rtu[2];
        return frame;
    }
    switch (function) {
        case kReadHolding:
            return read_fields(frame, rtu, direction);
        case kWriteSingle:
            frame.kind = FrameKind::write_single;
            frame.address = be16(rtu, 2);
            frame.value = be16(rtu, 4);
            return frame;
        default:  // kWriteMultiple: check_frame knows no other function
            return write_multiple_fields(frame, rtu, direction);
    }
}

Result<Bytes, Error> build_read_request(std::uint8_t slave, std::uint16_t start, std::uint16_t count) {
    if (count == 0 || count > kMaxReadRegisters) {
        return fail(Error{Errc::bad_argument, "cannot read " + std::to_string(count) + " registers (1 to 125)"});
    }
    Bytes out{slave, kReadHolding};
    put16(out, start);
    put16(out, count);
    append_crc(out);
    return out;
}

Result<Bytes, Error> build_write_single(std::uint8_t slave, std::uint16_t reg, std::uint16_t value) {
    const WritableRegister* writable = find_writable(reg);
    if (!writable) {
        return fail(Error{Errc::forbidden_write,
                          "register " + std::to_string(reg) + " is not writable (only the registers of docs/protocol.md §8)"});
    }
    if (value < writable->min || value > writable->max) {
        return fail(Error{Errc::forbidden_write, std::string(writable->key) + " (register " + std::to_string(reg) + ") takes " +
                                                     std::to_string(writable->min) + ".." + std::to_string(writable->max) + ", not " +
                                                     std::to_string(value)});
    }
    Bytes out{slave, kWriteSingle};
    put16(out, reg);
    put16(out, value);
    append_crc(out);
    return out;
}

Bytes build_node_info_query(std::uint8_t slave) {
    static constexpr std::uint8_t kSelector[] = {0x00, 0x01};
    return *build_write_multiple(slave, 21000, kSelector);
}

Result<Bytes, Error> build_write_multiple(std::uint8_t slave, std::uint16_t start, ByteSpan data) {
    if (data.empty() || data.size() % 2 != 0 || data.size() > 250) {
        return fail(Error{Errc::bad_argument, "FC 16 data must be 2 to 250 bytes, even; got " + std::to_string(data.size())});
    }
    Bytes out{slave, kWriteMultiple};
    put16(out, start);
    put16(out, static_cast<std::uint16_t>(data.size() / 2));
    out.push_back(static_cast<std::uint8_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    append_crc(out);
    return out;
}

Result<Bytes, Error> build_read_reply(std::uint8_t slave, ByteSpan data) {
    if (data.size() % 2 != 0 || data.size() > 250) {
        return fail(Error{Errc::bad_argument, "FC 03 reply data must be even and at most 250 bytes; got " + std::to_string(data.size())});
    }
    // Reserved once, then appended: inserting into a vector built from a 3-byte initializer list
    // made g++ 12 -O3 see a memcpy past its end (-Warray-bounds).
    Bytes out;
    out.reserve(3 + data.size() + 2);
    out.push_back(slave);
    out.push_back(kReadHolding);
    out.push_back(static_cast<std::uint8_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    append_crc(out);
    return out;
}

Bytes build_exception(std::uint8_t slave, std::uint8_t function, std::uint8_t code) {
    Bytes out{slave, static_cast<std::uint8_t>(function | 0x80), code};
    append_crc(out);
    return out;
}

}  // namespace bluetti::codec
