// RestServer: the RestApi behind HTTPS (cpp-httplib) on 127.0.0.1.
//
// Threads. cpp-httplib's listen loop blocks, so it runs on its own thread (plus httplib's small
// worker pool) next to the simulator's event-loop thread. This is acceptable for a test tool
// because the two sides share nothing mutable: the REST threads only call RestApi::handle(), whose
// state (issued tokens, its generator) is behind RestApi's own mutex and is never touched by the
// event loop; the device records and the PKCS#12 bytes are copied into the RestApi before the
// thread starts and never change. Logging goes through spdlog's thread-safe sinks. SIGINT/SIGTERM
// are blocked before start() so only the event loop's signalfd ever sees them.
#pragma once

#include <memory>
#include <string>

#include "sim/rest_api.hpp"

namespace bluetti::sim {

class RestServer {
public:
    explicit RestServer(std::shared_ptr<RestApi> api);
    ~RestServer();  // stops and joins
    RestServer(const RestServer&) = delete;
    RestServer& operator=(const RestServer&) = delete;

    // Binds 127.0.0.1:`port` (0 = any free port) with the PEM certificate and key, then serves on
    // a thread. The socket is listening when this returns true.
    bool start(const std::string& cert_file, const std::string& key_file, int port, std::string& error);
    int port() const { return port_; }
    void stop();

private:
    struct Impl;
    std::shared_ptr<RestApi> api_;
    std::unique_ptr<Impl> impl_;
    int port_ = 0;
};

}  // namespace bluetti::sim
