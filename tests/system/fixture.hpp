// The set-up every bridge/CLI system test shares: test certificates (made once per binary), a TLS
// mosquitto requiring client certificates playing the Bluetti cloud, bluetti-sim with its REST
// stand-in, and a plain mosquitto playing the user's broker. Everything on 127.0.0.1, every
// process stopped by its own PID.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "mosquitto.hpp"
#include "mqtt_test_client.hpp"
#include "net.hpp"
#include "temp_dir.hpp"
#include "test_certificates.hpp"

namespace bluetti::systest {

using namespace std::chrono_literals;
inline constexpr auto kTimeout = std::chrono::seconds(30);  // generous: the sanitizer build is slow

inline const std::string kEmail = "owner@example.com";
inline const std::string kPassword = "correct horse";

struct SimDevice {
    std::string model, sn, sub_sn;
    std::string arg() const { return model + ":" + sn + (sub_sn.empty() ? "" : ":" + sub_sn); }
};

// Certificates generated once per test binary (RSA keys take a while).
inline const TestCertificates& certificates() {
    static TempDir dir("bluetti-certs");
    static TestCertificates certs = [] {
        TestCertificates c;
        CertificateOptions o;
        o.expired_client = true;
        o.other_ca = true;
        o.pkcs12 = true;
        o.device_client = true;
        std::string error;
        REQUIRE_MESSAGE(c.generate(dir.path(), o, error), error);
        return c;
    }();
    return certs;
}

struct CloudOptions {
    // An ACL as the Bluetti broker may have one: the bridge's certificate may read only the reply
    // topics and write only the request topics (mosquitto then grants a subscription to a request
    // topic but delivers nothing on it); bluetti-sim connects with the device certificate, which
    // may do anything.
    bool reply_topics_only = false;
    // A broker that says no to the bridge's subscription to a request topic: the path of
    // support/subscribe_acl_plugin (empty: not loaded) and its answer, "deny" (SUBACK 0x80) or
    // "disconnect" (the broker closes the connection). It records every subscription it judged in
    // subscribes.log of the cloud's directory. bluetti-sim connects with the device certificate, whose
    // subscriptions the plugin leaves alone.
    std::string subscribe_acl_plugin{};  // {}: designated initialisers may leave it out without -Wmissing-field-initializers
    std::string request_subscribe = "deny";
    bool device_identity() const { return reply_topics_only || !subscribe_acl_plugin.empty(); }
};

class Cloud {
public:
    TempDir dir{"bluetti-system"};
    CloudOptions options;
    Mosquitto broker;
    ChildProcess sim;
    int rest_port = 0;
    std::vector<SimDevice> devices;

    explicit Cloud(std::vector<SimDevice> sim_devices = {{"EL100V2", "2345000000002", ""}}, std::vector<std::string> sim_flags = {},
                   CloudOptions cloud_options = {})
        : options(cloud_options), broker(broker_options(dir, cloud_options)), devices(std::move(sim_devices)) {
        std::string error;
        REQUIRE_MESSAGE(broker.start(dir.path(), error), error);
        start_sim(sim_flags);
    }

    static MosquittoOptions broker_options(const TempDir& dir, const CloudOptions& options) {
        MosquittoOptions o = tls_broker_options(certificates());
        if (!options.subscribe_acl_plugin.empty())
            o.extra_config.insert(
                o.extra_config.end(),
                {"plugin " + options.subscribe_acl_plugin, "plugin_opt_username bluetti-test-client",
                 "plugin_opt_request_subscribe " + options.request_subscribe, "plugin_opt_record " + dir.file("subscribes.log")});
        if (!options.reply_topics_only) return o;
        const std::string acl = dir.file("cloud.acl");
        REQUIRE(write_text_file(acl,
                                "user bluetti-test-client\ntopic read PUB/#\ntopic write SUB/#\n"
                                "user bluetti-test-device\ntopic readwrite #\n"));
        o.extra_config.push_back("acl_file " + acl);
        return o;
    }

    // `port`: the REST stand-in's port; 0 = any free one (then rest_port says which).
    // A "--pfx" in `flags` replaces the PKCS#12 the REST stand-in serves.
    void start_sim(const std::vector<std::string>& flags, int rest_port_wanted = 0) {
        const bool device_cert = options.device_identity();
        const bool own_pfx = std::find(flags.begin(), flags.end(), "--pfx") != flags.end();
        std::vector<std::string> args{"--broker",       broker.address(),
                                      "--ca",           certificates().ca_cert,
                                      "--cert",         device_cert ? certificates().device_client_cert : certificates().client_cert,
                                      "--key",          device_cert ? certificates().device_client_key : certificates().client_key,
                                      "--rest-port",    std::to_string(rest_port_wanted),
                                      "--rest-cert",    certificates().server_cert,
                                      "--rest-key",     certificates().server_key,
                                      "--account",      kEmail + ":" + kPassword,
                                      "--pfx-password", certificates().pkcs12_password,
                                      "--ready-file",   dir.file("sim.ready")};
        if (!own_pfx) args.insert(args.end(), {"--pfx", certificates().pkcs12});
        for (const auto& d : devices) args.insert(args.end(), {"--device", d.arg()});
        // "{dir}" in a flag is this cloud's directory (for files the simulator writes).
        for (std::string flag : flags) {
            if (flag.rfind("{dir}", 0) == 0) flag = dir.path() + flag.substr(5);
            args.push_back(std::move(flag));
        }
        ChildOptions o;
        o.stderr_file = dir.file("sim.log");
        std::string error;
        std::filesystem::remove(dir.file("sim.ready"));
        REQUIRE_MESSAGE(sim.start(BLUETTI_SIM_BINARY, args, o, error), error);
        auto ready = wait_for_file(
            dir.file("sim.ready"), [](const std::string& t) { return t.rfind("ready\n", 0) == 0; }, kTimeout,
            [this] { return sim.running(); });
        REQUIRE_MESSAGE(ready.has_value(), "bluetti-sim did not get ready: " << sim.describe());
        const auto port = ready_file_value(*ready, "rest_port");
        REQUIRE_MESSAGE(port.has_value(), *ready);
        rest_port = std::stoi(*port);
    }

    std::string api() const { return "https://127.0.0.1:" + std::to_string(rest_port); }

    // Global flags of bluetti-cli in account mode.
    std::vector<std::string> account_flags() const {
        return {"--email", kEmail,      "--password",           kPassword,  "--api",
                api(),     "--ca-file", certificates().ca_cert, "--broker", broker.address()};
    }
};

// Runs bluetti-cli and returns its status and output.
inline CommandResult cli(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::seconds(90)) {
    return run_command(BLUETTI_CLI_BINARY, args, timeout);
}

// The JSON lines of a --json output.
inline std::vector<nlohmann::json> json_lines(const std::string& output) {
    std::vector<nlohmann::json> out;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
}

// main() of a system test: exit 77 (ctest's "skipped") without mosquitto or openssl.
inline int run_system_tests(int argc, char** argv) {
    if (!Mosquitto::available() || !TestCertificates::available()) {
        std::cerr << "skipped: mosquitto or openssl is not installed\n";
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}

inline std::string joined(const std::vector<std::string>& args) {
    std::string s;
    for (const auto& a : args) s += a + " ";
    return s;
}

}  // namespace bluetti::systest
