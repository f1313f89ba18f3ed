// bluetti-cli: argument parsing only; each command's work lives in its own *_command.cpp.
#include <CLI/CLI.hpp>
#include <iostream>

#include "decode_command.hpp"

int main(int argc, char** argv) {
    CLI::App app{"bluetti-cli: talk to Bluetti V2 power stations, or decode their frames offline"};
    app.require_subcommand(1);

    bluetti::app::DecodeRequest decode;
    int block = -1, slave = -1;
    auto* cmd = app.add_subcommand("decode", "decode a payload, an RTU frame or register data given as hex (no network)");
    cmd->add_option("--model", decode.model, "device profile (EL30V2, EL100V2, ELITE200V2, AP300, GENERIC_V2)")->capture_default_str();
    cmd->add_option("--block", block, "block id (needed for FC 03 replies and --data)");
    cmd->add_option("--hex", decode.hex, "the bytes as hex; white space is ignored")->required();
    cmd->add_flag("--data", decode.data_only, "the hex is bare register data, without slave/function/CRC");
    cmd->add_flag("--table", decode.table, "print a table instead of JSON");
    cmd->add_option("--pack", decode.pack, "pack number for per-pack blocks (6100, 6300)")->capture_default_str()->check(CLI::Range(1, 99));
    cmd->add_option("--slave", slave, "slave address to report for --data");
    cmd->add_option("--schema-dir", decode.schema_dirs, "extra schema directory (repeatable)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (cmd->parsed()) {
        if (block >= 0) decode.block = block;
        if (slave >= 0) decode.slave = slave;
        return bluetti::app::run_decode(decode, std::cout, std::cerr);
    }
    return 2;
}
