#include "bluetti/codec/crc.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::codec;

TEST_CASE("crc16_modbus check value of '123456789' is 0x4B37") {
    const std::string text = "123456789";
    const Bytes bytes(text.begin(), text.end());
    CHECK(crc16_modbus(bytes) == 0x4B37);
}

TEST_CASE("crc_matches accepts a frame and rejects one flipped bit") {
    Bytes frame = test::hex("00 03 05 14 00 10 05 1F");
    CHECK(crc_matches(frame));
    frame[3] ^= 0x01;
    CHECK_FALSE(crc_matches(frame));
}

// docs/protocol.md §3 "Worked requests": every row built by our builders and compared byte for byte.
TEST_CASE("worked request frames of docs/protocol.md §3") {
    struct Row {
        const char* name;
        Envelope envelope;
        std::uint8_t slave;
        std::uint16_t start;
        std::uint16_t count;
        const char* hex;
    };
    const Row rows[] = {
        {"1300x16 slave 0 bare", Envelope::bare, 0, 1300, 16, "00 03 05 14 00 10 05 1F"},
        {"1300x16 slave 0 v2", Envelope::v2, 0, 1300, 16, "01 F8 0F 05 14 00 00 00 00 00 00 03 05 14 00 10 05 1F"},
        {"1300x16 slave 1 bare", Envelope::bare, 1, 1300, 16, "01 03 05 14 00 10 04 CE"},
        {"1300x16 slave 1 v1", Envelope::v1, 1, 1300, 16, "01 01 03 05 14 00 10 04 CE"},
        {"100x62 slave 0 v2", Envelope::v2, 0, 100, 62, "01 F8 0F 00 64 00 00 00 00 00 00 03 00 64 00 3E 84 14"},
        {"6000x34 slave 0 v2", Envelope::v2, 0, 6000, 34, "01 F8 0F 17 70 00 00 00 00 00 00 03 17 70 00 22 C0 6D"},
        {"6100x104 slave 51 v2", Envelope::v2, 51, 6100, 104, "01 F8 0F 17 D4 00 00 00 00 00 33 03 17 D4 00 68 05 BA"},
        {"6300x25 slave 51 v2", Envelope::v2, 51, 6300, 25, "01 F8 0F 18 9C 00 00 00 00 00 33 03 18 9C 00 19 46 9C"},
        {"2000x30 slave 0 v2", Envelope::v2, 0, 2000, 30, "01 F8 0F 07 D0 00 00 00 00 00 00 03 07 D0 00 1E C4 9E"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        auto rtu = build_read_request(row.slave, row.start, row.count);
        REQUIRE(rtu.ok());
        CHECK(to_hex(wrap(row.envelope, row.start, *rtu)) == to_hex(test::hex(row.hex)));
    }
    CHECK(to_hex(build_exception(0, 0x06, 3)) == "00860353a1");
    CHECK(to_hex(*build_write_single(0, 2011, 1)) == "000607db00013894");
    CHECK(to_hex(build_node_info_query(0)) == "001052080001020001188d");
}

TEST_CASE("read request builder refuses counts Modbus cannot carry") {
    CHECK(build_read_request(0, 100, 0).error().code == Errc::bad_argument);
    CHECK(build_read_request(0, 100, 126).error().code == Errc::bad_argument);
    CHECK(build_read_request(0, 100, 125).ok());
}
