// Named loggers per area (docs/style.md #13): cloud, local, decode, ha, config, sim, bridge.
// Thin over spdlog's registry; secrets never reach a log line (callers pass redacted text).
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace bluetti::log {

// The logger of an area, created on first use with the current default sink and level.
std::shared_ptr<spdlog::logger> get(const std::string& area);

// Sets every area's level ("trace" … "off"); unknown names are rejected with false.
bool set_level(const std::string& level);

// Logs to the systemd journal with priorities when `journal` (run by systemd), else to stderr.
void init(bool journal, const std::string& level);

}  // namespace bluetti::log
