// Profiles from the directories of `profile_dirs` (config) and --profile-dir (bluetti-cli), loaded
// after the built-in ones (ProfileSet::load_directory) the same way by the daemon and the CLI.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bluetti/profile/profile.hpp"

namespace bluetti::app {

// Loads each directory of `dirs` in order into `profiles`; every built-in profile one of them
// replaces is logged at info level (logger `config`). The error names file:line:column.
std::optional<profile::ProfileError> load_profile_dirs(profile::ProfileSet& profiles, const std::vector<std::string>& dirs);

}  // namespace bluetti::app
