// bluetti-sim: argument parsing only; the simulator lives in src/sim/ (docs/simulator.md).
#include <CLI/CLI.hpp>
#include <iostream>

#include "bluetti/log.hpp"
#include "sim/simulator.hpp"

namespace {

namespace sim = bluetti::sim;

// The flags whose values still need parsing or converting after CLI11.
struct Arguments {
    std::string broker;
    std::vector<std::string> devices;
    std::string account;
    std::string iot_server;
    std::string app_reads;
    int rest_port = -1;
    double push_every_s = 0;
    double kick_every_s = 0;
    int delay_ms = 0;
    int verbose = 0;
    CLI::Option* rest = nullptr;
    CLI::Option* iot = nullptr;
    CLI::Option* app = nullptr;
};

std::chrono::milliseconds seconds(double s) {
    return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

void add_broker_options(CLI::App& app, Arguments& a, sim::SimOptions& o) {
    app.add_option("--broker", a.broker, "the cloud broker, HOST:PORT")->required();
    app.add_option("--ca", o.ca_file, "CA file that verifies the broker (TLS)")->check(CLI::ExistingFile);
    auto* cert = app.add_option("--cert", o.cert_file, "client certificate for the broker (TLS with a client certificate)")
                     ->check(CLI::ExistingFile);
    auto* key = app.add_option("--key", o.key_file, "key of --cert")->check(CLI::ExistingFile);
    cert->needs(key);
    key->needs(cert);
    app.add_option("--device", a.devices, "MODEL:SN[:SUBSN], repeatable; MODEL = EL30V2, EL100V2, ELITE200V2, AP300, GENERIC_V2")
        ->required()
        ->allow_extra_args(false);
}

void add_rest_options(CLI::App& app, Arguments& a, sim::RestOptions& rest) {
    a.rest = app.add_option("--rest-port", a.rest_port, "serve the REST stand-in on 127.0.0.1:N over HTTPS (0 = any free port)")
                 ->check(CLI::Range(0, 65535));
    auto* cert = app.add_option("--rest-cert", rest.cert_file, "PEM certificate of the REST server")->check(CLI::ExistingFile);
    auto* key = app.add_option("--rest-key", rest.key_file, "PEM key of the REST server")->check(CLI::ExistingFile);
    auto* account = app.add_option("--account", a.account, "EMAIL:PASSWORD of the one account that can log in");
    auto* pfx = app.add_option("--pfx", rest.pfx_file, "PKCS#12 served by /api/midppkic/cert/app/v1/pfx")->check(CLI::ExistingFile);
    auto* pfx_password = app.add_option("--pfx-password", rest.pfx_password, "password of --pfx (hidden in X-Signature)");
    a.iot = app.add_option("--iot-server", a.iot_server, "HOST:PORT for iotSrvIp in the device records (default null)");
    auto* ttl =
        app.add_option("--token-ttl", rest.token_ttl_s, "token lifetime in seconds")->check(CLI::PositiveNumber)->capture_default_str();
    auto* uid = app.add_option("--uid", rest.uid, "user id of basic/get")->capture_default_str();
    a.rest->needs(cert, key, account, pfx, pfx_password);
    for (CLI::Option* opt : {cert, key, account, pfx, pfx_password, a.iot, ttl, uid}) opt->needs(a.rest);
}

void add_fault_options(CLI::App& app, Arguments& a, sim::SimOptions& o) {
    const auto percent = CLI::Range(0.0, 100.0);
    app.add_option("--push-every", a.push_every_s, "push blocks 100 and 1300 (FC 16) every S seconds")->check(CLI::NonNegativeNumber);
    app.add_option("--drop", o.faults.drop_pct, "percent of requests not answered")->check(percent);
    app.add_option("--delay", a.delay_ms, "answer every request MS milliseconds late")->check(CLI::Range(0, 3'600'000));
    app.add_option("--bad-crc", o.faults.bad_crc_pct, "percent of answers with an inverted CRC")->check(percent);
    app.add_option("--exception", o.faults.exception_pct, "percent of requests answered with exception 04")->check(percent);
    app.add_option("--short-reply", o.faults.short_reply_pct, "percent of FC 03 answers shorter than asked (but >= min_len)")
        ->check(percent);
    auto* kick_every = app.add_option("--kick-every", a.kick_every_s, "every S seconds connect --kick-client-id and disconnect")
                           ->check(CLI::PositiveNumber);
    auto* kick_id = app.add_option("--kick-client-id", o.kick_client_id, "client id whose session the kick takes over");
    kick_every->needs(kick_id);
    kick_id->needs(kick_every);
    app.add_flag("--silent", o.faults.silent, "never answer, never push");
    app.add_option("--lose-echoes", o.faults.lose_echoes, "apply the first N writes but send no echo (per device)")
        ->check(CLI::NonNegativeNumber);
    a.app = app.add_option("--app-reads", a.app_reads,
                           "a second cloud client (like the vendor app) sends each device an FC 03 read of one of its blocks, "
                           "each after a uniformly random MIN_MS..MAX_MS wait; MS alone means MS:MS")
                ->type_name("MIN_MS:MAX_MS");
}

// The parsed text values into SimOptions; false (and a message on stderr) when one is wrong.
bool complete(const Arguments& a, sim::RestOptions rest, sim::SimOptions& o) {
    auto broker = sim::parse_broker(a.broker);
    if (!broker) {
        std::cerr << "bluetti-sim: --broker " << broker.error() << "\n";
        return false;
    }
    o.broker = *broker;
    for (const std::string& text : a.devices) {
        auto spec = sim::parse_device_spec(text);
        if (!spec) {
            std::cerr << "bluetti-sim: " << spec.error() << "\n";
            return false;
        }
        o.devices.push_back(*spec);
    }
    if (*a.rest) {
        auto account = sim::parse_account(a.account);
        if (!account) {
            std::cerr << "bluetti-sim: " << account.error() << "\n";
            return false;
        }
        rest.account = *account;
        rest.port = a.rest_port;
        if (*a.iot) rest.iot_server = a.iot_server;
        o.rest = rest;
    }
    if (*a.app) {
        auto period = sim::parse_app_read_period(a.app_reads);
        if (!period) {
            std::cerr << "bluetti-sim: " << period.error() << "\n";
            return false;
        }
        o.app_reads = *period;
    }
    o.push_every = seconds(a.push_every_s);
    o.kick_every = seconds(a.kick_every_s);
    o.faults.delay = std::chrono::milliseconds(a.delay_ms);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bluetti-sim: simulated Bluetti V2 power stations on an MQTT broker, and a stand-in for the Bluetti REST API"};
    Arguments a;
    sim::SimOptions o;
    sim::RestOptions rest;
    add_broker_options(app, a, o);
    add_rest_options(app, a, rest);
    add_fault_options(app, a, o);
    app.add_option("--seed", o.seed, "seed of every random draw")->capture_default_str();
    app.add_option("--answers-log", o.answers_log,
                   "write every block answered or pushed, decoded as the bridge publishes it, as JSON lines to FILE");
    app.add_flag("--frozen", o.frozen,
                 "stop every device's clock at start-up: every value (energy counters too) stays the same for the whole run");
    app.add_option("--ready-file", o.ready_file, "write \"ready\" (and rest_port=N) here once subscribed");
    app.add_flag("-v,--verbose", a.verbose, "log every request (-vv: also libmosquitto)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (!complete(a, rest, o)) return 2;
    bluetti::log::init(false, a.verbose >= 2 ? "trace" : a.verbose == 1 ? "debug" : "info");
    return sim::run_simulator(o);
}
