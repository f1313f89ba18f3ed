#include "mosquitto.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "net.hpp"
#include "temp_dir.hpp"

namespace bluetti::systest {

namespace {
constexpr int kAttempts = 5;
}

Mosquitto::Mosquitto(MosquittoOptions options) : options_(std::move(options)) {}

Mosquitto::~Mosquitto() {
    stop();
}

std::string Mosquitto::binary() {
    const char* env = std::getenv("BLUETTI_MOSQUITTO");
    return env && *env ? env : "/usr/sbin/mosquitto";
}

bool Mosquitto::available() {
    return ::access(binary().c_str(), X_OK) == 0;
}

std::string Mosquitto::config_text(int port) const {
    std::ostringstream c;
    c << "# written by the bluetti system tests (tests/system/support/mosquitto.cpp)\n"
      << "persistence false\n"
      << "allow_anonymous true\n"
      << "log_dest stderr\n"
      << (options_.verbose_log ? "log_type all\n" : "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
      << "connection_messages true\n"
      // Without it the broker's back-to-back QoS 1 writes wait for delayed ACKs (~40 ms each).
      << "set_tcp_nodelay true\n";
    // As root mosquitto would switch to the 'mosquitto' user, which cannot read our private files.
    if (::geteuid() == 0) c << "user root\n";
    c << "listener " << port << " 127.0.0.1\n";
    if (options_.tls) {
        c << "cafile " << options_.ca_file << "\n"
          << "certfile " << options_.cert_file << "\n"
          << "keyfile " << options_.key_file << "\n"
          << "tls_version tlsv1.2\n"
          << "require_certificate " << (options_.require_certificate ? "true" : "false") << "\n";
    }
    for (const std::string& line : options_.extra_config) c << line << "\n";
    return c.str();
}

bool Mosquitto::start(const std::string& work_dir, std::string& error, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
        port_ = free_tcp_port();
        if (port_ <= 0) {
            error = "no free TCP port on 127.0.0.1";
            return false;
        }
        const std::string config = work_dir + "/mosquitto-" + std::to_string(port_) + ".conf";
        log_file_ = work_dir + "/mosquitto-" + std::to_string(port_) + ".log";
        if (!write_text_file(config, config_text(port_))) {
            error = "cannot write " + config;
            return false;
        }
        ChildOptions o;
        o.stderr_file = log_file_;
        o.stdout_file = log_file_;
        if (!process_.start(binary(), {"-c", config}, o, error)) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (wait_for_tcp(port_, left, [this] { return process_.running(); })) return true;
        const bool died = !process_.running();
        process_.stop();
        if (!died || std::chrono::steady_clock::now() >= deadline) break;  // timed out: no point in another port
        // died: most likely the port was taken between free_tcp_port() and the bind; try another
    }
    error = "mosquitto did not come up on 127.0.0.1:" + std::to_string(port_) + "; " + process_.describe();
    return false;
}

int Mosquitto::stop() {
    return process_.stop();
}

bool Mosquitto::restart(const std::string& work_dir, std::string& error, std::chrono::milliseconds timeout) {
    process_.stop();
    const std::string config = work_dir + "/mosquitto-" + std::to_string(port_) + ".conf";
    ChildOptions o;
    o.stderr_file = log_file_;
    o.stdout_file = log_file_;
    // The port was just released by our own broker; a few attempts cover a slow TIME_WAIT release.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!process_.start(binary(), {"-c", config}, o, error)) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (wait_for_tcp(port_, left, [this] { return process_.running(); })) return true;
        process_.stop();
    }
    error = "mosquitto did not come back on 127.0.0.1:" + std::to_string(port_) + "; " + process_.describe();
    return false;
}

std::string Mosquitto::log_text() const {
    return log_file_.empty() ? std::string() : read_text_file(log_file_);
}

}  // namespace bluetti::systest
