// The bluetti-sim program behind its command line: simulated devices on an MQTT broker (the
// "cloud" broker), the REST stand-in, pushes, session kicks, another client's reads (--app-reads),
// the ready file and the status line.
//
// One thread runs the EventLoop: the MQTT sessions (bluetti::mqtt::Session: the devices',
// the kicker's and the app client's), every timer (delayed answers, pushes, kicks, app reads,
// status) and SIGINT/SIGTERM through a signalfd. The REST server runs on its own thread (see
// rest_server.hpp for why that is safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/app_client.hpp"
#include "sim/device.hpp"
#include "sim/device_spec.hpp"
#include "sim/rest_api.hpp"

namespace bluetti::sim {

struct RestOptions {
    int port = 0;  // 0 = any free port (reported in the ready file)
    std::string cert_file;
    std::string key_file;
    Account account;
    std::string pfx_file;
    std::string pfx_password;
    std::optional<std::string> iot_server;
    std::int64_t token_ttl_s = kDefaultTokenTtlSeconds;
    std::string uid{kDefaultUid};
};

struct SimOptions {
    HostPort broker;
    std::string ca_file;    // TLS to the broker when set (or when cert_file is set)
    std::string cert_file;  // client certificate
    std::string key_file;
    std::vector<DeviceSpec> devices;
    std::optional<RestOptions> rest;
    std::chrono::milliseconds push_every{0};  // 0 = no pushes
    FaultConfig faults;
    std::chrono::milliseconds kick_every{0};  // 0 = no kicks
    std::string kick_client_id;
    std::optional<AppReadPeriod> app_reads;  // another cloud client reading every device (app_client.hpp)
    std::uint64_t seed = 1;
    std::string ready_file;
    // Every device's clock stands still at the start instant: the same values for the whole run
    // (until a write changes a setting), so a test can call any change in a published value wrong.
    bool frozen = false;
    std::string answers_log;  // every block answered or pushed, decoded (answers_log.hpp); empty: none
};

// Runs until SIGINT/SIGTERM; 0 then, non-zero when start-up fails (the reason is logged).
int run_simulator(const SimOptions& options);

}  // namespace bluetti::sim
