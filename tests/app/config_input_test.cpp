// parse_config() on hostile or surprising input: text that is not UTF-8 (refused with its
// position, before anything of it reaches a log line or a JSON document) and numbers written with
// leading zeros or in hex (decimal only: `010` is ten, never eight).
#include <doctest/doctest.h>

#include <string>

#include "config.hpp"

using namespace bluetti;

namespace {

const std::string kHead = "cloud:\n  email: me@example.com\n";

app::ConfigEnvironment env() {
    return app::ConfigEnvironment{{{"BLUETTI_TEST_HERMETIC", "1"}, {"BLUETTI_PASSWORD", "secret"}}};
}

Result<app::Config, std::string> parse(const std::string& yaml) {
    return app::parse_config(yaml, "config.yaml", env());
}

}  // namespace

TEST_CASE("config: a device name in Latin-1 is refused with its line and column") {
    // "Küche" saved as Latin-1: ü is the single byte FC.
    const auto c = parse(kHead +
                         "devices:\n  - serial: A1\n    name: K\xFC"
                         "che\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error() == "config.yaml:5:12: the config is not valid UTF-8 (byte \\xFC); save it as UTF-8");
}

TEST_CASE("config: invalid UTF-8 anywhere is refused, even in a comment, at its byte") {
    const auto c = parse("# \xC3\xA4 fine, then \xFF bad\n" + kHead);
    REQUIRE_FALSE(c.ok());
    // The column counts bytes, like yaml-cpp's: the two bytes of "ä" count as two.
    CHECK(c.error() == "config.yaml:1:17: the config is not valid UTF-8 (byte \\xFF); save it as UTF-8");
}

TEST_CASE("config: a name in UTF-8 is kept as it is") {
    const auto c = parse(kHead +
                         "devices:\n  - serial: A1\n    name: \"K\xC3\xBC"
                         "che \xF0\x9F\x94\x8B\"\n");
    REQUIRE_MESSAGE(c.ok(), c.error());
    CHECK(c->devices.at(0).name ==
          "K\xC3\xBC"
          "che \xF0\x9F\x94\x8B");
}

TEST_CASE("config: integers with leading zeros are decimal") {
    const auto c = parse(kHead + "  tls_security_level: 02\n  retry:\n    attempts: 010\n    factor: 010\n" +
                         "devices:\n  - serial: A1\n    slave: 010\n");
    REQUIRE_MESSAGE(c.ok(), c.error());
    CHECK(c->devices.at(0).slave == 10);
    CHECK(c->cloud.retry.attempts == 10);
    CHECK(c->cloud.retry.factor == 10.0);
    CHECK(c->cloud.tls_security_level == 2);
}

TEST_CASE("config: hex and other number spellings are not numbers in the config") {
    for (const char* slave : {"0x5", "0b101", "5.0", "1e1", "+ 5", "0o7"}) {
        const auto c = parse(kHead + "devices:\n  - serial: A1\n    slave: " + slave + "\n");
        REQUIRE_MESSAGE(!c.ok(), slave);
        CHECK(c.error() == "config.yaml:5:12: devices[0].slave must be an integer from 0 to 247, got '" + std::string(slave) + "'");
    }
    for (const char* factor : {"0x10", "inf", "nan", "0x1p3"}) {
        const auto c = parse(kHead + "  retry:\n    factor: " + factor + "\n");
        REQUIRE_MESSAGE(!c.ok(), factor);
        CHECK(c.error().find("cloud.retry.factor must be a number from 1 to 100, got '" + std::string(factor) + "'") != std::string::npos);
    }
}
