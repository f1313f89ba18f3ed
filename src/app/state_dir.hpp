// The state directory (`state_dir`): where counters.json, stations.json and the account cache live.
// An unusable one used to pass --check-config and then abort the daemon at its first save
// ("filesystem error: cannot rename"). It is now checked by --check-config and at start, and the
// problem is reported with the place the directory came from (the key's file:line:column).
#pragma once

#include <optional>
#include <string>

#include "config.hpp"

namespace bluetti::app {

// What is wrong with `dir` as a state directory, or nullopt when it is usable: it exists or can be
// created, is a directory, and a file can be created in it and removed (the only proof that also
// holds for root, who ignores permission bits, and for read-only mounts). With `create` a missing
// directory is created (the daemon at start); without, only its nearest existing parent is checked
// (--check-config changes nothing).
std::optional<std::string> state_dir_problem(const std::string& dir, bool create);

// The error line for config.state_dir, or nullopt: "<file>:<line>:<column>: state_dir '<dir>' …"
// when the key gave it, "$STATE_DIRECTORY: …" for systemd's, a note on the default otherwise.
std::optional<std::string> check_state_dir(const Config& config, bool create);

}  // namespace bluetti::app
