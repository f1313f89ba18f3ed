// bluetti-cli: argument parsing only; each command's work lives in its own *_command(s).cpp.
#include <CLI/CLI.hpp>
#include <iostream>

#include "bluetti/log.hpp"
#include "config_command.hpp"
#include "decode_command.hpp"
#include "entities_command.hpp"
#include "online_commands.hpp"

namespace {
std::vector<int> parse_block_list(const std::string& text) {
    std::vector<int> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) out.push_back(std::stoi(item));
    return out;
}

// The global flags, and which of them were given: a flag given wins over --config.
struct Globals {
    bluetti::app::GlobalOptions g;
    std::string password, mqtt_password, config_file;
    bool verbose = false;
    CLI::Option* password_option = nullptr;
    CLI::Option* mqtt_password_option = nullptr;
    CLI::Option* config_option = nullptr;
    CLI::Option* retries_option = nullptr;
    CLI::Option* initial_delay_option = nullptr;
    CLI::Option* max_delay_option = nullptr;
    CLI::Option* timeout_option = nullptr;
};

void add_global_options(CLI::App& app, Globals& o) {
    auto& g = o.g;
    app.add_option("--sn", g.sn, "device serial (device record sn or subSn)");
    app.add_option("--model", g.model, "device profile: EL30V2, EL100V2, ELITE200V2, AP300, GENERIC_V2 (default: from the device list)");
    app.add_option("--cert", g.cert, "PKCS#12 file: certificate mode, no REST login");
    o.password_option = app.add_option("--password", o.password,
                                       "account password, or the PKCS#12 password with --cert "
                                       "(else $BLUETTI_PASSWORD / $BLUETTI_CERT_PASSWORD, else a prompt)");
    app.add_option("--email", g.email, "account e-mail (account mode)");
    app.add_option("--api", g.api, "REST gateway (default https://gw.bluettipower.com)");
    app.add_option("--broker", g.broker, "cloud broker host:port (default: from the device record, else iot.bluettipower.com:18760)");
    app.add_option("--ca-file", g.ca_file, "extra CA certificates (PEM) for the gateway and the broker");
    app.add_flag("--tls-insecure", g.tls_insecure, "do not verify server certificates (logged as a warning)");
    app.add_option("--mqtt-username", g.mqtt_username, "MQTT user name in certificate mode (tid:...)");
    o.mqtt_password_option =
        app.add_option("--mqtt-password", o.mqtt_password, "MQTT password in certificate mode (else $BLUETTI_MQTT_PASSWORD)");
    app.add_option("--sub-sn", g.sub_sn, "device subSn in certificate mode (topic suffix)");
    app.add_option("--state-dir", g.state_dir, "keep the device id here (mode 0600); the token and certificate stay in memory");
    o.config_option =
        app.add_option("--config", o.config_file, "take credentials, broker, retry policy and device from bluetti-bridge's YAML");
    o.retries_option =
        app.add_option("--retries", g.retries, "sends per request, first included")->capture_default_str()->check(CLI::Range(1, 20));
    o.initial_delay_option =
        app.add_option("--retry-initial-delay", g.retry_initial_delay, "seconds before the first retry")->capture_default_str();
    o.max_delay_option =
        app.add_option("--retry-max-delay", g.retry_max_delay, "longest wait between retries, seconds")->capture_default_str();
    o.timeout_option = app.add_option("--request-timeout", g.request_timeout, "seconds to wait for an answer")->capture_default_str();
    app.add_flag("--json", g.json, "JSON output");
    app.add_option("--schema-dir", g.schema_dirs, "extra schema directory (repeatable)");
    app.add_option("--profile-dir", g.profile_dirs, "extra profile directory, loaded after the built-in profiles (repeatable)");
    app.add_flag("-v,--verbose", o.verbose, "debug logging");
}

// Each command and its own flags.
struct Commands {
    CLI::App* decode = nullptr;
    bluetti::app::DecodeRequest decode_request;
    int decode_block = -1, decode_slave = -1;
    CLI::App* login = nullptr;
    CLI::App* devices = nullptr;
    CLI::App* scan = nullptr;
    std::string scan_blocks;
    CLI::App* raw = nullptr;
    int raw_block = 0, raw_registers = 0, raw_pack = 1;
    CLI::App* listen = nullptr;
    double listen_interval = 10;
    int listen_count = 0;
    std::string listen_group = "core";
    CLI::App* write = nullptr;
    bluetti::app::WriteRequest write_request;
    int write_register = -1;
    CLI::App* check = nullptr;
    std::string check_file;
    CLI::App* entities = nullptr;
    bluetti::app::EntitiesRequest entities_request;
};

void add_decode_command(CLI::App& app, Commands& c) {
    auto& decode = c.decode_request;
    c.decode = app.add_subcommand("decode", "decode a payload, an RTU frame or register data given as hex (no network)");
    c.decode->add_option("--block", c.decode_block, "block id (needed for FC 03 replies and --data)");
    c.decode->add_option("--hex", decode.hex, "the bytes as hex; white space is ignored")->required();
    c.decode->add_flag("--data", decode.data_only, "the hex is bare register data, without slave/function/CRC");
    c.decode->add_flag("--table", decode.table, "print a table instead of JSON");
    c.decode->add_option("--pack", decode.pack, "pack number for per-pack blocks (6100, 6300)")
        ->capture_default_str()
        ->check(CLI::Range(1, 99));
    c.decode->add_option("--slave", c.decode_slave, "slave address to report for --data");
}

// The commands that talk to a station through the cloud.
void add_device_commands(CLI::App& app, Commands& c) {
    c.login = app.add_subcommand("login", "log in to the account and fetch the certificate");
    c.devices = app.add_subcommand("devices", "list the account's devices");
    c.scan = app.add_subcommand("scan", "read blocks once and print them decoded");
    c.scan->add_option("--blocks", c.scan_blocks, "comma-separated block ids (default: every block of the profile)");
    c.raw = app.add_subcommand("raw", "read one block; print request and reply hex (envelope included), then the decode");
    c.raw->add_option("--block", c.raw_block, "block id")->required();
    c.raw->add_option("--registers", c.raw_registers, "registers to read (default: the schema's read size)")->check(CLI::Range(1, 125));
    c.raw->add_option("--pack", c.raw_pack, "pack number for per-pack blocks")->check(CLI::Range(1, 99));
    c.listen = app.add_subcommand("listen", "poll a group's blocks (core by default) repeatedly and print pushes as they arrive");
    c.listen->add_option("--interval", c.listen_interval, "seconds between polls")->capture_default_str();
    c.listen->add_option("--count", c.listen_count, "polls before exiting (0 = until interrupted)")->capture_default_str();
    c.listen->add_option("--group", c.listen_group, "the profile's poll group to read; a per-pack group is read for every pack")
        ->capture_default_str();

    c.write = app.add_subcommand("write", "write one control (only the device's enabled controls; docs/protocol.md §8)");
    auto* write_key = c.write->add_option("--key", c.write_request.key, "control key, e.g. ac_output_switch");
    c.write->add_option("--register", c.write_register, "the control's register instead of its key")
        ->check(CLI::Range(0, 65535))
        ->excludes(write_key);
    c.write->add_option("--value", c.write_request.value, "on/off, an option (turbo), or a number")->required();
}

// The commands for this machine: the configuration, and the entities on the local broker.
void add_local_commands(CLI::App& app, Commands& c) {
    c.check = app.add_subcommand("check-config", "validate bluetti-bridge's configuration (as bluetti-bridge --check-config)");
    c.check->add_option("file", c.check_file, "the file (default: --config, else /etc/bluetti-bridge/config.yaml)");

    auto& entities = c.entities_request;
    c.entities =
        app.add_subcommand("entities", "show the Home Assistant entities on a local broker as HA would (device, name, value, unit)");
    c.entities->add_option("--local-broker", entities.broker, "mqtt://host:port or mqtts://host:port")->capture_default_str();
    c.entities->add_option("--local-username", entities.username, "user name on the local broker");
    c.entities->add_option("--prefix", entities.prefix, "discovery prefix")->capture_default_str();
    c.entities->add_option("--wait", entities.wait_s, "seconds to collect before printing")->capture_default_str();
    c.entities->add_flag("--watch", entities.watch, "keep printing until interrupted");
}

// --config: the file's settings, under the flags given on the command line. False when the file
// does not load (the error is printed).
bool apply_config_file(Globals& o) {
    auto config = bluetti::app::load_config(o.config_file);
    if (!config) {
        std::cerr << config.error() << "\n";
        return false;
    }
    const auto flags = o.g;  // what the command line said wins over the file
    bluetti::app::apply_config(*config, o.g);
    if (o.retries_option->count()) o.g.retries = flags.retries;
    if (o.initial_delay_option->count()) o.g.retry_initial_delay = flags.retry_initial_delay;
    if (o.max_delay_option->count()) o.g.retry_max_delay = flags.retry_max_delay;
    if (o.timeout_option->count()) o.g.request_timeout = flags.request_timeout;
    return true;
}

int run_command(Commands& c, const bluetti::app::GlobalOptions& g) {
    if (c.decode->parsed()) {
        auto& decode = c.decode_request;
        if (c.decode_block >= 0) decode.block = c.decode_block;
        if (c.decode_slave >= 0) decode.slave = c.decode_slave;
        if (!g.model.empty()) decode.model = g.model;
        decode.schema_dirs = g.schema_dirs;
        decode.profile_dirs = g.profile_dirs;
        return bluetti::app::run_decode(decode, std::cout, std::cerr);
    }
    if (c.entities->parsed()) {
        c.entities_request.json = g.json;
        if (auto* p = std::getenv("BLUETTI_HA_PASSWORD")) c.entities_request.password = p;
        return bluetti::app::run_entities(c.entities_request, std::cout, std::cerr);
    }
    if (c.login->parsed()) return bluetti::app::run_login(g, std::cout, std::cerr);
    if (c.devices->parsed()) return bluetti::app::run_devices(g, std::cout, std::cerr);
    if (c.scan->parsed()) return bluetti::app::run_scan(g, parse_block_list(c.scan_blocks), std::cout, std::cerr);
    if (c.raw->parsed()) return bluetti::app::run_raw(g, c.raw_block, c.raw_registers, c.raw_pack, std::cout, std::cerr);
    if (c.write->parsed()) {
        if (c.write_register >= 0) c.write_request.reg = static_cast<std::uint16_t>(c.write_register);
        return bluetti::app::run_write(g, c.write_request, std::cout, std::cerr);
    }
    if (c.listen->parsed()) return bluetti::app::run_listen(g, c.listen_group, c.listen_interval, c.listen_count, std::cout, std::cerr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bluetti-cli: talk to Bluetti V2 power stations through the Bluetti cloud, or decode their frames offline"};
    app.require_subcommand(1);
    app.fallthrough();  // global flags may stand before or after the command
    Globals o;
    add_global_options(app, o);
    Commands c;
    add_decode_command(app, c);
    add_device_commands(app, c);
    add_local_commands(app, c);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    bluetti::log::init(false, o.verbose ? "debug" : "warn");
    if (o.password_option->count()) o.g.password = o.password;
    if (o.mqtt_password_option->count()) o.g.mqtt_password = o.mqtt_password;

    if (c.check->parsed()) {
        const std::string file = !c.check_file.empty()    ? c.check_file
                                 : !o.config_file.empty() ? o.config_file
                                                          : "/etc/bluetti-bridge/config.yaml";
        return bluetti::app::run_check_config(file, std::cout, std::cerr);
    }
    if (o.config_option->count() && !apply_config_file(o)) return 2;
    return run_command(c, o.g);
}
