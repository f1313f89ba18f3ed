// The one host:port parser (bluetti/host_port.hpp): config URLs, cloud.broker, iotSrvIp, --broker.
#include <doctest/doctest.h>

#include "bluetti/host_port.hpp"

using bluetti::parse_host_port;

TEST_CASE("host:port: a name or an IPv4 address with or without a port") {
    auto a = parse_host_port("iot.bluettipower.com:18760");
    REQUIRE(a);
    CHECK(a->host == "iot.bluettipower.com");
    CHECK(a->port == 18760);
    auto b = parse_host_port("127.0.0.1", 1883);
    REQUIRE(b);
    CHECK(b->host == "127.0.0.1");
    CHECK(b->port == 1883);
    CHECK_FALSE(parse_host_port("127.0.0.1"));  // no port and no default
}

TEST_CASE("host:port: IPv6 in brackets") {
    auto a = parse_host_port("[::1]:8883");
    REQUIRE(a);
    CHECK(a->host == "::1");
    CHECK(a->port == 8883);
    auto b = parse_host_port("[fe80::1]", 18760);
    REQUIRE(b);
    CHECK(b->host == "fe80::1");
    CHECK(b->port == 18760);
    // Unbracketed, the colons of an IPv6 address are not a port: refused, not misread.
    CHECK_FALSE(parse_host_port("fe80::1:1883", 1883));
}

TEST_CASE("host:port: what is not an address") {
    for (const char* bad : {"", ":1883", "host:", "host:0", "host:65536", "host:12x", "host:123456", "[]:1883", "[::1", "[::1]x",
                            "user@host:1883", "host/path:1883", "mqtt://host:1883"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_host_port(bad, 1883));
    }
}
