// ChildProcess: a program a system test starts (mosquitto, bluetti-sim, bluetti-bridge, openssl)
// and stops again — by its own PID only, never by name (docs/style.md #15).
//
//   ChildProcess sim;
//   ChildOptions o;
//   o.stderr_file = dir.file("sim.log");
//   if (!sim.start(BLUETTI_SIM_BINARY, {"--broker", broker.address(), ...}, o, error)) FAIL(error);
//   ...
//   CHECK(sim.stop() == 0);                      // SIGTERM, then SIGKILL after the grace period
//   CHECK(sim.stderr_text().find("forbidden_writes=0") != std::string::npos);
//
// A failed exec is reported by start() itself (errno through a close-on-exec pipe), not later as a
// mysterious exit code. The child gets PR_SET_PDEATHSIG(SIGTERM), so a crashed test does not leave
// brokers behind. The destructor stops a child that is still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace bluetti::systest {

struct ChildOptions {
    std::string stdout_file;        // empty: /dev/null
    std::string stderr_file;        // empty: the test's own stderr
    std::vector<std::string> env;   // "NAME=value" added to (or replacing in) the test's environment
    std::string working_directory;  // empty: the test's
};

class ChildProcess {
public:
    ChildProcess() = default;
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;

    // Starts `program` (looked up in PATH when it has no '/') with `args` (argv[1] …).
    bool start(const std::string& program, const std::vector<std::string>& args, const ChildOptions& options, std::string& error);

    pid_t pid() const { return pid_; }
    // True while the child runs; reaps it (and records its status) once it has exited.
    bool running();
    // Waits up to `timeout` for the child to exit: its exit code, 128 + signal number when a
    // signal ended it, nullopt when it still runs.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // Sends `signo` to the child (false when it is not running).
    bool signal(int signo);
    // SIGTERM, up to `grace` for it to exit, then SIGKILL: the exit status as wait() reports it
    // (-1 when nothing was started).
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
    std::optional<int> exit_status() const { return status_; }

    const std::string& stderr_file() const { return stderr_file_; }
    std::string stderr_text() const;  // contents of stderr_file (empty when it was not redirected)
    // One line for failure messages: program, PID, status and the last lines of stderr.
    std::string describe(std::size_t tail_lines = 20) const;

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string program_;
    std::string stderr_file_;

    bool reap(int options);
};

struct CommandResult {
    int status = -1;     // as ChildProcess::wait
    std::string output;  // stdout and stderr together
};
// Runs a command to completion (openssl and friends), with its output captured; a command still
// running after `timeout` is killed and reported with status -1.
CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// How often `what` occurs in `text`: lines of a kind in a child's log.
inline std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace bluetti::systest
