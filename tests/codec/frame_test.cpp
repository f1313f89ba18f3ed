#include "bluetti/codec/frame.hpp"
#include "bluetti/codec/crc.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::codec;

TEST_CASE("parse_frame reads every frame kind the device sends") {
    SUBCASE("FC 03 reply") {
        const Bytes rtu = test::hex("01032001F400000000000000000000000000000000000000000000000104AC090000345174");
        auto f = parse_frame(rtu, Direction::response);
        REQUIRE(f.ok());
        CHECK(f->kind == FrameKind::read_reply);
        CHECK(f->slave == 1);
        CHECK(f->data.size() == 32);
        CHECK(f->quantity == 16);
    }
    SUBCASE("FC 06 echo") {
        const Bytes rtu = test::hex("00 06 07 DB 00 01 38 94");
        auto f = parse_frame(rtu, Direction::response);
        REQUIRE(f.ok());
        CHECK(f->kind == FrameKind::write_single);
        CHECK(f->address == 2011);
        CHECK(f->value == 1);
    }
    SUBCASE("FC 16 push in request format") {
        const Bytes rtu = test::hex(
            "00100514001F3E01F3000000000021000000000000000000000000000000000001035209080025035E00000000000000000000000000000000000000000000"
            "0000"
            "000000002B07");
        auto f = parse_frame(rtu, Direction::response);
        REQUIRE_MESSAGE(f.ok(), f.error().message);
        CHECK(f->kind == FrameKind::write_multiple);
        CHECK(f->address == 1300);
        CHECK(f->quantity == 31);
        CHECK(f->data.size() == 62);
    }
    SUBCASE("FC 16 standard acknowledgement") {
        const Bytes rtu = test::hex("00 10 52 08 00 01 91 62");
        auto f = parse_frame(rtu, Direction::response);
        REQUIRE(f.ok());
        CHECK(f->kind == FrameKind::write_ack);
        CHECK(f->address == 21000);
        CHECK(f->quantity == 1);
    }
    SUBCASE("exception to an FC 06") {
        const Bytes rtu = test::hex("00 86 03 53 A1");
        auto f = parse_frame(rtu, Direction::response);
        REQUIRE(f.ok());
        CHECK(f->kind == FrameKind::exception);
        CHECK(f->function == 0x06);
        CHECK(f->exception_code == 3);
        CHECK(exception_name(3) == "illegal data value");
    }
    SUBCASE("FC 03 request, seen from the device side") {
        const Bytes rtu = test::hex("00 03 05 14 00 10 05 1F");
        auto f = parse_frame(rtu, Direction::request);
        REQUIRE(f.ok());
        CHECK(f->kind == FrameKind::read_request);
        CHECK(f->address == 1300);
        CHECK(f->quantity == 16);
    }
    SUBCASE("a reply shorter than requested is still a valid frame") {
        auto rtu = build_read_reply(0, test::hex("0010 0004 0CFD 0CFC"));
        REQUIRE(rtu.ok());
        auto f = parse_frame(*rtu, Direction::response);
        REQUIRE(f.ok());
        CHECK(f->data.size() == 8);
    }
}

// Each failure has its own error code, and the message carries the frame's hex.
TEST_CASE("parse_frame failure rows") {
    // The CRC itself is proven by crc_test against the check value; here it only has to be right.
    auto with_crc = [](std::string_view body) {
        Bytes frame = test::hex(body);
        append_crc(frame);
        return frame;
    };
    struct Row {
        const char* name;
        Bytes frame;
        Errc code;
        const char* says;
    };
    const Row rows[] = {
        {"truncated: three bytes", test::hex("00 03 02"), Errc::truncated, "too short"},
        {"truncated: FC 06 without its value", with_crc("00 06 07 DB"), Errc::truncated, "needs 8"},
        {"truncated: FC 03 reply cut inside its data", with_crc("00 03 08 00 01 00 02"), Errc::truncated, "needs 13"},
        {"bad CRC", test::hex("00 03 02 00 01 00 00"), Errc::bad_crc, "CRC mismatch"},
        {"wrong function", with_crc("00 04 02 00 01"), Errc::wrong_function, "0x04"},
        {"byte count mismatch: more data than the count says", with_crc("00 03 02 00 01 00 02"), Errc::byte_count_mismatch,
         "header says 7"},
        {"byte count mismatch: FC 16 count vs quantity", with_crc("00 10 05 14 00 02 02 00 01"), Errc::byte_count_mismatch, "quantity 2"},
        {"odd length", with_crc("00 03 03 00 01 02"), Errc::odd_length, "odd"},
        {"too long: FC 06 with a trailing byte", with_crc("00 06 07 DB 00 01 00"), Errc::too_long, "header says 8"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        auto f = parse_frame(row.frame, Direction::response);
        REQUIRE_FALSE(f.ok());
        CHECK(f.error().code == row.code);
        CHECK_MESSAGE(f.error().message.find(row.says) != std::string::npos, f.error().message);
        CHECK(f.error().message.find(to_hex(row.frame)) != std::string::npos);
    }
}
