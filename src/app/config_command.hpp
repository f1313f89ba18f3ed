// What bluetti-bridge --check-config and bluetti-cli check-config print, and how bluetti-cli's
// --config FILE turns the daemon's configuration into the CLI's global options.
#pragma once

#include <iosfwd>
#include <string>

#include "config.hpp"
#include "online_commands.hpp"

namespace bluetti::app {

// Validates the file; prints "FILE: configuration OK (...)" and returns 0, or prints every error as
// file:line:column: message on `err` and returns 2.
int run_check_config(const std::string& file, std::ostream& out, std::ostream& err);

// Fills the options the command line left empty from the configuration: cloud credentials, broker,
// CA, retry policy, schema directories, and the device (the one named by --sn, else the only one
// configured).
void apply_config(const Config& config, GlobalOptions& g);

}  // namespace bluetti::app
