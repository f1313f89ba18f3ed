// The one way a file in the state directory is written (counters.json, stations.json, device-id):
// a temporary file created 0600 by open(2) itself (never chmod afterwards, so no byte is ever
// readable by others), written completely, fsync'ed, renamed over the old file and the directory
// fsync'ed, so a crash or power cut leaves the old file or the new one, never a torn one. Every
// step is checked; a failure comes back as an error message, never as an exception, and the
// temporary file is removed.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "bluetti/result.hpp"

namespace bluetti::util {

// Replaces `path` with `content` (see above). The error names the file and the failing step.
Result<Ok, std::string> write_state_file(const std::filesystem::path& path, std::string_view content);

// Creates the state directory (and missing parents) with mode 0700 for the directory itself; an
// existing directory is left as it is. The error names the directory.
Result<Ok, std::string> make_state_dir(const std::filesystem::path& dir);

}  // namespace bluetti::util
