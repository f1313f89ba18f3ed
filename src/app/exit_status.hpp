// bluetti-bridge's exit statuses, and the one place main() turns an exception into one. systemd
// (Restart=on-failure) restarts the service after any non-zero status; an exception that reached
// std::terminate would instead abort with a core dump holding the secrets in memory.
#pragma once

#include <functional>

namespace bluetti::app {

constexpr int kExitOk = 0;
constexpr int kExitConfig = 2;     // the command line, the configuration or the state directory is unusable
constexpr int kExitSoftware = 70;  // an unexpected exception (EX_SOFTWARE): logged, then restarted by systemd

// Runs `body` (main's work) and returns its status; an exception that leaves it is logged at
// critical level and becomes kExitSoftware. The event loop catches what its callbacks throw
// (event_loop.hpp); this catches the rest: start-up, and the destructors after the loop.
int run_guarded(const std::function<int()>& body);

}  // namespace bluetti::app
