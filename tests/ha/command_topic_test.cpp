// parse_command_topic(): which topics are commands, and for whom.
#include <doctest/doctest.h>

#include "bluetti/ha/local_session.hpp"

using bluetti::ha::parse_command_topic;

TEST_CASE("command topics: <base>/<serial>/set/<key>, one level each") {
    auto c = parse_command_topic("bluetti", "bluetti/2345000000002/set/ac_output_switch");
    REQUIRE(c);
    CHECK(c->serial == "2345000000002");
    CHECK(c->key == "ac_output_switch");
    CHECK(parse_command_topic("home/bluetti", "home/bluetti/A1/set/x")->key == "x");
    for (const char* other : {"bluetti/A1/availability", "bluetti/A1/set/", "bluetti//set/x", "bluetti/A1/set/x/y", "bluetti/A/B/set/x",
                              "bluettiX/A1/set/x", "bluetti", "other/A1/set/x", "bluetti/A1/setx"})
        CHECK_MESSAGE(!parse_command_topic("bluetti", other), other);
}
