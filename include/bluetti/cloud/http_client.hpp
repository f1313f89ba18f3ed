// HTTP(S) requests through libcurl's multi interface, driven by our EventLoop (socket and timer
// callbacks), so a slow REST gateway never blocks the loop or the systemd watchdog.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bluetti/event_loop.hpp"
#include "bluetti/result.hpp"

namespace bluetti::cloud {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string content_type;  // for a body
    std::string ca_file;       // extra trust anchors; empty = system store
    bool insecure = false;     // no server verification (explicit config only)
    std::chrono::milliseconds timeout{30000};
};

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::string header(const std::string& name) const;
};

class HttpClient {
public:
    using Callback = std::function<void(Result<HttpResponse, std::string>)>;

    explicit HttpClient(EventLoop& loop);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Starts the transfer; `done` runs on the loop with the response or a one-line error.
    void send(const HttpRequest& request, Callback done);
    std::size_t in_flight() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// application/x-www-form-urlencoded body from pairs (values escaped).
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace bluetti::cloud
