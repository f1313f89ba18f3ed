// `bluetti-cli entities`: what Home Assistant would show, read from the local broker the way HA
// reads it — discovery configs, availability, state topics through each entity's value_template.
// For the demo, for troubleshooting, and as the "Home Assistant" of the system tests.
#pragma once

#include <iosfwd>
#include <string>

namespace bluetti::app {

struct EntitiesRequest {
    std::string broker = "mqtt://127.0.0.1:1883";
    std::string username, password;
    std::string prefix = "homeassistant";
    double wait_s = 3;   // collect for this long, then print
    bool watch = false;  // keep printing every `wait_s` until interrupted
    bool json = false;
};

int run_entities(const EntitiesRequest& request, std::ostream& out, std::ostream& err);

}  // namespace bluetti::app
