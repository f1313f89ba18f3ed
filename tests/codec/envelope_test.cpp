#include "bluetti/codec/envelope.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::codec;

TEST_CASE("unwrap detects the envelope by CRC, V2 first") {
    struct Row {
        const char* name;
        const char* payload;
        Envelope envelope;
        const char* rtu;
        std::optional<int> rssi;
    };
    const Row rows[] = {
        {"v2 reply with rssi -64", "01F80F00000000C0000001032001F400000000000000000000000000000000000000000000000104AC090000345174",
         Envelope::v2, "01032001F400000000000000000000000000000000000000000000000104AC090000345174", -64},
        {"v2 request, rssi byte 0 is absent", "01F80F0514000000000001030514001004CE", Envelope::v2, "01030514001004CE", std::nullopt},
        {"v1 payload of slave 1", "01 01 03 05 14 00 10 04 CE", Envelope::v1, "01 03 05 14 00 10 04 CE", std::nullopt},
        {"bare frame of slave 1 starts with 01 too", "01 03 05 14 00 10 04 CE", Envelope::bare, "01 03 05 14 00 10 04 CE", std::nullopt},
        {"bare frame of slave 0", "00 03 05 14 00 10 05 1F", Envelope::bare, "00 03 05 14 00 10 05 1F", std::nullopt},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        const Bytes payload = test::hex(row.payload);
        auto u = unwrap(payload);
        REQUIRE_MESSAGE(u.ok(), u.error().message);
        CHECK(u->envelope == row.envelope);
        CHECK(to_hex(u->rtu) == to_hex(test::hex(row.rtu)));
        CHECK(u->rssi == row.rssi);
    }
}

TEST_CASE("unwrap failures name the problem and carry the payload hex") {
    struct Row {
        const char* name;
        const char* payload;
        Errc code;
        const char* says;
    };
    const Row rows[] = {
        {"too short", "01 F8", Errc::truncated, "too short"},
        {"bad CRC in a v2 payload", "01F80F00000000C0000001032001F400000000000000000000000000000000000000000000000104AC090000345175",
         Errc::bad_crc, "CRC mismatch: frame says 0x7551, computed 0x7451"},
        {"bare frame with another slave's CRC", "01 03 05 14 00 10 05 1F", Errc::bad_crc,
         "CRC mismatch: frame says 0x1F05, computed 0xCE04"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        const Bytes payload = test::hex(row.payload);
        auto u = unwrap(payload);
        REQUIRE_FALSE(u.ok());
        CHECK(u.error().code == row.code);
        CHECK(u.error().message.find(row.says) != std::string::npos);
        CHECK(u.error().message.find(to_hex(payload)) != std::string::npos);
    }
}

TEST_CASE("wrap fills the V2 register field big-endian") {
    const Bytes rtu = test::hex("00 06 07 DB 00 01 38 94");
    CHECK(to_hex(wrap(Envelope::v2, 2011, rtu)) == "01f80f07db0000000000000607db00013894");
    CHECK(to_hex(wrap(Envelope::v1, 2011, rtu)) == "01000607db00013894");
    CHECK(to_hex(wrap(Envelope::bare, 2011, rtu)) == "000607db00013894");
}
