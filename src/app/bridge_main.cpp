// bluetti-bridge: argument parsing and start-up only; the daemon lives in daemon.cpp.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "bluetti/log.hpp"
#include "config_command.hpp"
#include "daemon.hpp"
#include "exit_status.hpp"

int main(int argc, char** argv) {
    using namespace bluetti::app;
    return run_guarded([&] {
        CLI::App app{"bluetti-bridge: Bluetti V2 power stations in Home Assistant, through the Bluetti cloud"};
        std::string file = "/etc/bluetti-bridge/config.yaml";
        bool check = false;
        int verbose = 0;
        app.add_option("--config", file, "configuration file")->capture_default_str();
        app.add_flag("--check-config", check, "validate the configuration, print the errors and exit");
        app.add_flag("-v,--verbose", verbose, "more logging (-v debug, -vv trace)");
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            return app.exit(e) == 0 ? kExitOk : kExitConfig;
        }
        if (check) return run_check_config(file, std::cout, std::cerr);
        auto config = load_config(file);
        if (!config) {
            std::cerr << config.error() << "\n";
            return kExitConfig;
        }
        // Under systemd (JOURNAL_STREAM set) log to the journal with priorities.
        const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
        bluetti::log::init(journal, verbose >= 2 ? "trace" : verbose == 1 ? "debug" : config->log.level);
        Daemon daemon(std::move(*config));
        return daemon.run();
    });
}
