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
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bluetti-cli: talk to Bluetti V2 power stations through the Bluetti cloud, or decode their frames offline"};
    app.require_subcommand(1);
    app.fallthrough();  // global flags may stand before or after the command
    bluetti::app::GlobalOptions g;
    std::string password, mqtt_password;
    bool verbose = false;
    app.add_option("--sn", g.sn, "device serial (device record sn or subSn)");
    app.add_option("--model", g.model, "device profile: EL30V2, EL100V2, ELITE200V2, AP300, GENERIC_V2 (default: from the device list)");
    app.add_option("--cert", g.cert, "PKCS#12 file: certificate mode, no REST login");
    auto* password_option = app.add_option("--password", password,
                                           "account password, or the PKCS#12 password with --cert "
                                           "(else $BLUETTI_PASSWORD / $BLUETTI_CERT_PASSWORD, else a prompt)");
    app.add_option("--email", g.email, "account e-mail (account mode)");
    app.add_option("--api", g.api, "REST gateway (default https://gw.bluettipower.com)");
    app.add_option("--broker", g.broker, "cloud broker host:port (default: from the device record, else iot.bluettipower.com:18760)");
    app.add_option("--ca-file", g.ca_file, "extra CA certificates (PEM) for the gateway and the broker");
    app.add_flag("--tls-insecure", g.tls_insecure, "do not verify server certificates (logged as a warning)");
    app.add_option("--mqtt-username", g.mqtt_username, "MQTT user name in certificate mode (tid:...)");
    auto* mqtt_password_option =
        app.add_option("--mqtt-password", mqtt_password, "MQTT password in certificate mode (else $BLUETTI_MQTT_PASSWORD)");
    app.add_option("--sub-sn", g.sub_sn, "device subSn in certificate mode (topic suffix)");
    app.add_option("--state-dir", g.state_dir, "keep the device id here (mode 0600); the token and certificate stay in memory");
    std::string config_file;
    auto* config_option =
        app.add_option("--config", config_file, "take credentials, broker, retry policy and device from bluetti-bridge's YAML");
    auto* retries_option =
        app.add_option("--retries", g.retries, "sends per request, first included")->capture_default_str()->check(CLI::Range(1, 20));
    auto* initial_delay_option =
        app.add_option("--retry-initial-delay", g.retry_initial_delay, "seconds before the first retry")->capture_default_str();
    auto* max_delay_option =
        app.add_option("--retry-max-delay", g.retry_max_delay, "longest wait between retries, seconds")->capture_default_str();
    auto* timeout_option = app.add_option("--request-timeout", g.request_timeout, "seconds to wait for an answer")->capture_default_str();
    app.add_flag("--json", g.json, "JSON output");
    app.add_option("--schema-dir", g.schema_dirs, "extra schema directory (repeatable)");
    app.add_flag("-v,--verbose", verbose, "debug logging");

    bluetti::app::DecodeRequest decode;
    int decode_block = -1, decode_slave = -1;
    auto* decode_cmd = app.add_subcommand("decode", "decode a payload, an RTU frame or register data given as hex (no network)");
    decode_cmd->add_option("--block", decode_block, "block id (needed for FC 03 replies and --data)");
    decode_cmd->add_option("--hex", decode.hex, "the bytes as hex; white space is ignored")->required();
    decode_cmd->add_flag("--data", decode.data_only, "the hex is bare register data, without slave/function/CRC");
    decode_cmd->add_flag("--table", decode.table, "print a table instead of JSON");
    decode_cmd->add_option("--pack", decode.pack, "pack number for per-pack blocks (6100, 6300)")
        ->capture_default_str()
        ->check(CLI::Range(1, 99));
    decode_cmd->add_option("--slave", decode_slave, "slave address to report for --data");

    auto* login_cmd = app.add_subcommand("login", "log in to the account and fetch the certificate");
    auto* devices_cmd = app.add_subcommand("devices", "list the account's devices");
    std::string scan_blocks;
    auto* scan_cmd = app.add_subcommand("scan", "read blocks once and print them decoded");
    scan_cmd->add_option("--blocks", scan_blocks, "comma-separated block ids (default: every block of the profile)");
    int raw_block = 0, raw_registers = 0, raw_pack = 1;
    auto* raw_cmd = app.add_subcommand("raw", "read one block; print request and reply hex (envelope included), then the decode");
    raw_cmd->add_option("--block", raw_block, "block id")->required();
    raw_cmd->add_option("--registers", raw_registers, "registers to read (default: the schema's read size)")->check(CLI::Range(1, 125));
    raw_cmd->add_option("--pack", raw_pack, "pack number for per-pack blocks")->check(CLI::Range(1, 99));
    double listen_interval = 10;
    int listen_count = 0;
    auto* listen_cmd = app.add_subcommand("listen", "poll the core blocks repeatedly and print pushes as they arrive");
    listen_cmd->add_option("--interval", listen_interval, "seconds between polls")->capture_default_str();
    listen_cmd->add_option("--count", listen_count, "polls before exiting (0 = until interrupted)")->capture_default_str();

    bluetti::app::WriteRequest write;
    int write_register = -1;
    auto* write_cmd = app.add_subcommand("write", "write one control (only the device's enabled controls; docs/protocol.md §8)");
    auto* write_key = write_cmd->add_option("--key", write.key, "control key, e.g. ac_output_switch");
    write_cmd->add_option("--register", write_register, "the control's register instead of its key")
        ->check(CLI::Range(0, 65535))
        ->excludes(write_key);
    write_cmd->add_option("--value", write.value, "on/off, an option (turbo), or a number")->required();

    std::string check_file;
    auto* check_cmd = app.add_subcommand("check-config", "validate bluetti-bridge's configuration (as bluetti-bridge --check-config)");
    check_cmd->add_option("file", check_file, "the file (default: --config, else /etc/bluetti-bridge/config.yaml)");

    bluetti::app::EntitiesRequest entities;
    auto* entities_cmd =
        app.add_subcommand("entities", "show the Home Assistant entities on a local broker as HA would (device, name, value, unit)");
    entities_cmd->add_option("--local-broker", entities.broker, "mqtt://host:port or mqtts://host:port")->capture_default_str();
    entities_cmd->add_option("--local-username", entities.username, "user name on the local broker");
    entities_cmd->add_option("--prefix", entities.prefix, "discovery prefix")->capture_default_str();
    entities_cmd->add_option("--wait", entities.wait_s, "seconds to collect before printing")->capture_default_str();
    entities_cmd->add_flag("--watch", entities.watch, "keep printing until interrupted");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    bluetti::log::init(false, verbose ? "debug" : "warn");
    if (password_option->count()) g.password = password;
    if (mqtt_password_option->count()) g.mqtt_password = mqtt_password;

    if (check_cmd->parsed()) {
        const std::string file = !check_file.empty() ? check_file : !config_file.empty() ? config_file : "/etc/bluetti-bridge/config.yaml";
        return bluetti::app::run_check_config(file, std::cout, std::cerr);
    }
    if (config_option->count()) {
        auto config = bluetti::app::load_config(config_file);
        if (!config) {
            std::cerr << config.error() << "\n";
            return 2;
        }
        const auto flags = g;  // what the command line said wins over the file
        bluetti::app::apply_config(*config, g);
        if (retries_option->count()) g.retries = flags.retries;
        if (initial_delay_option->count()) g.retry_initial_delay = flags.retry_initial_delay;
        if (max_delay_option->count()) g.retry_max_delay = flags.retry_max_delay;
        if (timeout_option->count()) g.request_timeout = flags.request_timeout;
    }

    if (decode_cmd->parsed()) {
        if (decode_block >= 0) decode.block = decode_block;
        if (decode_slave >= 0) decode.slave = decode_slave;
        if (!g.model.empty()) decode.model = g.model;
        decode.schema_dirs = g.schema_dirs;
        return bluetti::app::run_decode(decode, std::cout, std::cerr);
    }
    if (entities_cmd->parsed()) {
        entities.json = g.json;
        if (auto* p = std::getenv("BLUETTI_HA_PASSWORD")) entities.password = p;
        return bluetti::app::run_entities(entities, std::cout, std::cerr);
    }
    if (login_cmd->parsed()) return bluetti::app::run_login(g, std::cout, std::cerr);
    if (devices_cmd->parsed()) return bluetti::app::run_devices(g, std::cout, std::cerr);
    if (scan_cmd->parsed()) return bluetti::app::run_scan(g, parse_block_list(scan_blocks), std::cout, std::cerr);
    if (raw_cmd->parsed()) return bluetti::app::run_raw(g, raw_block, raw_registers, raw_pack, std::cout, std::cerr);
    if (write_cmd->parsed()) {
        if (write_register >= 0) write.reg = static_cast<std::uint16_t>(write_register);
        return bluetti::app::run_write(g, write, std::cout, std::cerr);
    }
    if (listen_cmd->parsed()) return bluetti::app::run_listen(g, listen_interval, listen_count, std::cout, std::cerr);
    return 2;
}
