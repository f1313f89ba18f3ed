// Loopback helpers of the system tests: a free TCP port, "is something listening" by connecting,
// and waiting for a file (a ready file) to say what we need — by event, never by sleeping blind.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace bluetti::systest {

// A port that was free a moment ago: bind 127.0.0.1:0, read the port, close. Another process may
// take it before we use it, so callers retry with a new one when the bind fails (Mosquitto does).
int free_tcp_port();

// True when a TCP connection to 127.0.0.1:`port` succeeds (closed again at once).
bool tcp_listening(int port);

// Connects every 20 ms until something listens on `port` (true), `alive()` says the process that
// should listen has died, or the timeout passes (false).
bool wait_for_tcp(int port, std::chrono::milliseconds timeout, const std::function<bool()>& alive);

// Waits until the file at `path` exists and its text satisfies `ready` (inotify on its directory,
// so no blind sleeps), `alive()` turns false, or the timeout passes. Returns the text when ready.
std::optional<std::string> wait_for_file(const std::string& path, const std::function<bool(const std::string&)>& ready,
                                         std::chrono::milliseconds timeout, const std::function<bool()>& alive);

// "key=value" from the lines of a ready file ("rest_port" → "43123"); nullopt when missing.
std::optional<std::string> ready_file_value(const std::string& text, const std::string& key);

}  // namespace bluetti::systest
