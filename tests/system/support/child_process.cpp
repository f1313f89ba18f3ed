#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

#include "temp_dir.hpp"

extern char** environ;

namespace bluetti::systest {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(10);

int status_of(int raw) {
    if (WIFEXITED(raw)) return WEXITSTATUS(raw);
    if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
    return -1;
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        const std::string entry(*e);
        const std::string name = entry.substr(0, entry.find('='));
        bool replaced = false;
        for (const std::string& x : extra) replaced = replaced || x.substr(0, x.find('=')) == name;
        if (!replaced) env.push_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (std::string& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// In the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const char* program, char* const* argv, char* const* envp, const char* out, const char* err, const char* cwd,
                             int report_fd) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = ::open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) ::dup2(fd, STDOUT_FILENO);
    if (err && out && std::strcmp(err, out) == 0) {
        ::dup2(STDOUT_FILENO, STDERR_FILENO);  // one file, one offset: the two streams interleave
    } else if (err) {
        fd = ::open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) ::dup2(fd, STDERR_FILENO);
    }
    fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) ::dup2(fd, STDIN_FILENO);
    if (cwd && ::chdir(cwd) != 0) {
        const int e = errno;
        (void)!::write(report_fd, &e, sizeof e);
        ::_exit(127);
    }
    ::execvpe(program, argv, envp);
    const int e = errno;
    (void)!::write(report_fd, &e, sizeof e);
    ::_exit(127);
}

}  // namespace

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && running()) stop();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept {
    *this = std::move(other);
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        if (pid_ > 0 && running()) stop();
        pid_ = other.pid_;
        status_ = other.status_;
        program_ = std::move(other.program_);
        stderr_file_ = std::move(other.stderr_file_);
        other.pid_ = -1;
        other.status_.reset();
    }
    return *this;
}

bool ChildProcess::start(const std::string& program, const std::vector<std::string>& args, const ChildOptions& options,
                         std::string& error) {
    if (pid_ > 0 && running()) {
        error = "ChildProcess::start: " + program_ + " is still running";
        return false;
    }
    program_ = program;
    stderr_file_ = options.stderr_file;
    status_.reset();

    std::vector<std::string> argv_strings{program};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings = merged_environment(options.env);
    std::vector<char*> argv = pointers(argv_strings);
    std::vector<char*> envp = pointers(env_strings);

    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        error = std::string("pipe2: ") + std::strerror(errno);
        return false;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        ::close(report[0]);
        ::close(report[1]);
        return false;
    }
    if (pid == 0) {
        ::close(report[0]);
        exec_child(program.c_str(), argv.data(), envp.data(), options.stdout_file.empty() ? nullptr : options.stdout_file.c_str(),
                   options.stderr_file.empty() ? nullptr : options.stderr_file.c_str(),
                   options.working_directory.empty() ? nullptr : options.working_directory.c_str(), report[1]);
    }
    ::close(report[1]);
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(report[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    ::close(report[0]);
    pid_ = pid;
    if (n == static_cast<ssize_t>(sizeof child_errno)) {  // exec failed: the pipe carried its errno
        reap(0);
        pid_ = -1;
        error = "cannot run " + program + ": " + std::strerror(child_errno);
        return false;
    }
    return true;
}

bool ChildProcess::reap(int options) {
    if (pid_ <= 0) return true;
    if (status_) return true;
    int raw = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &raw, options);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
        status_ = status_of(raw);
        return true;
    }
    return r < 0;  // not our child any more (ECHILD): treat as gone
}

bool ChildProcess::running() {
    return pid_ > 0 && !reap(WNOHANG);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(kPollInterval);
    }
    return status_;
}

bool ChildProcess::signal(int signo) {
    return running() && ::kill(pid_, signo) == 0;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return -1;
    if (running()) {
        ::kill(pid_, SIGTERM);
        if (!wait(grace)) {
            ::kill(pid_, SIGKILL);
            wait(std::chrono::seconds(10));
        }
    }
    return status_.value_or(-1);
}

std::string ChildProcess::stderr_text() const {
    return stderr_file_.empty() ? std::string() : read_text_file(stderr_file_);
}

std::string ChildProcess::describe(std::size_t tail_lines) const {
    std::ostringstream out;
    out << program_ << " (pid " << pid_ << ", " << (status_ ? "exit status " + std::to_string(*status_) : std::string("running")) << ")";
    const std::string text = stderr_text();
    if (!text.empty()) {
        std::size_t start = text.size();
        for (std::size_t lines = 0; start > 0 && lines <= tail_lines; --start)
            if (text[start - 1] == '\n') ++lines;
        out << "; stderr:\n" << text.substr(start);
    }
    return out.str();
}

CommandResult run_command(const std::string& program, const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    CommandResult result;
    TempDir dir("bluetti-cmd");
    ChildOptions options;
    options.stdout_file = dir.file("output");
    options.stderr_file = dir.file("output");
    ChildProcess child;
    std::string error;
    if (!child.start(program, args, options, error)) {
        result.output = error;
        return result;
    }
    const auto status = child.wait(timeout);
    if (!status) {
        child.stop(std::chrono::milliseconds(100));
        result.output = read_text_file(dir.file("output")) + "\n(killed after the timeout)";
        return result;
    }
    result.status = *status;
    result.output = read_text_file(dir.file("output"));
    return result;
}

}  // namespace bluetti::systest
