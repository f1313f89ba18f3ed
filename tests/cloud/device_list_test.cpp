// The account's device list is untrusted text: a serial becomes a topic level and part of every
// unique_id, so one that could change a topic is never bridged.
#include <doctest/doctest.h>

#include "bluetti/cloud/account.hpp"

using namespace bluetti::cloud;

TEST_CASE("device list: serials that could change a topic or an ID are left out, and said") {
    const std::string body = R"({"data":[
        {"sn":"2237000012345","model":"EL100V2"},
        {"sn":"AC180-P_12","model":"AC180P"},
        {"sn":"a/b","model":"EL100V2"},
        {"sn":"x+","model":"EL100V2"},
        {"sn":"#","model":"EL100V2"},
        {"sn":"two words","model":"EL100V2"},
        {"sn":"dot.ted","model":"EL100V2"},
        {"sn":"bell\u0007","model":"EL100V2"},
        {"sn":"","model":"EL100V2"}]})";
    std::vector<std::string> refused;
    auto devices = parse_device_list(body, &refused);
    REQUIRE(devices);
    REQUIRE(devices->size() == 2);
    CHECK((*devices)[0].sn == "2237000012345");
    CHECK((*devices)[1].sn == "AC180-P_12");
    REQUIRE(refused.size() == 6);  // the empty serial is no device at all
    CHECK(refused[0] == "a/b");
    CHECK(refused[5] == "bell\\x07");  // escaped for the log line
}

TEST_CASE("device list: serial_is_safe bounds the length") {
    CHECK(serial_is_safe(std::string(64, '7')));
    CHECK_FALSE(serial_is_safe(std::string(65, '7')));
    CHECK_FALSE(serial_is_safe(""));
    CHECK_FALSE(serial_is_safe("caf\xc3\xa9"));
}
