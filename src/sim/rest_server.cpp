#include "sim/rest_server.hpp"

// Debian's libcpp-httplib is a compiled library: the header must see the same configuration as
// the library (pkg-config passes -DCPPHTTPLIB_OPENSSL_SUPPORT and friends).
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <thread>

#include "bluetti/log.hpp"

namespace bluetti::sim {

struct RestServer::Impl {
    std::unique_ptr<httplib::SSLServer> server;
    std::thread thread;
};

namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

RestRequest to_request(const httplib::Request& req) {
    RestRequest r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [name, value] : req.headers) r.headers.emplace(lower(name), value);
    for (const auto& [name, value] : req.params) r.form.emplace(name, value);
    return r;
}

}  // namespace

RestServer::RestServer(std::shared_ptr<RestApi> api) : api_(std::move(api)), impl_(std::make_unique<Impl>()) {}

RestServer::~RestServer() {
    stop();
}

bool RestServer::start(const std::string& cert_file, const std::string& key_file, int port, std::string& error) {
    impl_->server = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str());
    httplib::SSLServer& server = *impl_->server;
    if (!server.is_valid()) {
        error = "cannot load the REST certificate " + cert_file + " or key " + key_file;
        return false;
    }
    server.new_task_queue = [] { return new httplib::ThreadPool(2); };
    auto api = api_;
    auto logger = log::get("sim");  // fetched here: creating a logger from two threads at once would race
    const auto handler = [api, logger](const httplib::Request& req, httplib::Response& res) {
        const RestResponse r = api->handle(to_request(req));
        res.status = r.status;
        for (const auto& [name, value] : r.headers) res.set_header(name, value);
        res.set_content(r.body, r.content_type);
        // Method, path and status only: never the body, the form (password) or the token.
        logger->info("REST {} {} -> {}", req.method, req.path, r.status);
    };
    server.Get(".*", handler);
    server.Post(".*", handler);

    if (port == 0) {
        port_ = server.bind_to_any_port("127.0.0.1");
    } else {
        port_ = server.bind_to_port("127.0.0.1", port) ? port : -1;
    }
    if (port_ <= 0) {
        error = "cannot listen on 127.0.0.1:" + std::to_string(port);
        return false;
    }
    impl_->thread = std::thread([&server] { server.listen_after_bind(); });
    return true;
}

void RestServer::stop() {
    if (!impl_ || !impl_->server) return;
    impl_->server->stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    impl_->server.reset();
}

}  // namespace bluetti::sim
