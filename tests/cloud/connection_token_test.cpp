// cloud::Connection's token renewal against the REST stand-in (sim::RestServer, HTTPS on 127.0.0.1,
// its certificates made by the test): the token is renewed before it runs out, every renewal
// schedules the next, and a failed renewal keeps the old token and tries again later. The stand-in
// issues two-second tokens, so the renewal comes after one second (halfway through a token shorter
// than two hours); the test waits for what the connection does, with a generous bound.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bluetti/cloud/connection.hpp"
#include "log_capture.hpp"
#include "sim/rest_api.hpp"
#include "sim/rest_server.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"

using namespace bluetti;
using namespace bluetti::cloud;
using namespace std::chrono_literals;

namespace {

constexpr auto kBound = 30s;  // only ever reached when the behaviour is broken

std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

bool logged(const test::LogCapture& log, spdlog::level::level_enum level, const std::string& text) {
    for (const auto& m : log.at_level(level))
        if (m.find(text) != std::string::npos) return true;
    return false;
}

struct Cloud {
    test::TempDir dir;
    test::Pki pki;
    std::shared_ptr<sim::RestApi> api;
    std::optional<sim::RestServer> server;

    Cloud() {
        sim::RestConfig config;
        config.account = {"me@example.com", "secret"};
        const Bytes bundle = test::pkcs12(pki.client_key.get(), pki.client.get(), {pki.ca.get()}, "bundle-password");
        config.pfx.assign(bundle.begin(), bundle.end());
        config.pfx_password = "bundle-password";
        config.token_ttl_s = 2;
        api = std::make_shared<sim::RestApi>(std::move(config), now_ms, 7);
        server.emplace(api);
        std::string error;
        REQUIRE_MESSAGE(server->start(dir.write("rest.crt", test::pem(pki.server.get())),
                                      dir.write("rest.key", test::pem(pki.server_key.get())), 0, error),
                        error);
    }

    ConnectionOptions options() {
        ConnectionOptions o;
        o.account.api = "https://127.0.0.1:" + std::to_string(server->port());
        o.account.email = "me@example.com";
        o.account.password = "secret";
        o.ca_file = dir.write("ca.crt", test::pem(pki.ca.get()));
        o.broker = "127.0.0.1:18760";  // never connected to: the test does not start the link
        o.retry_login = false;
        return o;
    }
};

}  // namespace

TEST_CASE("connection: the account token is renewed before it runs out, again and again, and a failed renewal keeps the old one") {
    Cloud cloud;
    test::LogCapture log("cloud");
    EventLoop loop;
    Connection connection(loop, cloud.options());
    std::optional<Result<Ok, ConnectionError>> opened;
    connection.open([&](Result<Ok, ConnectionError> r) { opened.emplace(std::move(r)); });
    loop.run_until([&] { return opened.has_value(); }, kBound);
    REQUIRE(opened.has_value());
    REQUIRE_MESSAGE(opened->ok(), opened->error().message);
    REQUIRE(connection.account().has_value());
    const std::string first = connection.account()->token;

    // The first renewal: a new token, and the log says until when it holds.
    loop.run_until([&] { return connection.account()->token != first; }, kBound);
    REQUIRE(connection.account()->token != first);
    const std::string second = connection.account()->token;
    CHECK(logged(log, spdlog::level::info,
                 "account token renewed (valid until unix time " + std::to_string(connection.account()->token_expires)));

    // It scheduled the next one.
    loop.run_until([&] { return connection.account()->token != second; }, kBound);
    REQUIRE(connection.account()->token != second);
    const std::string third = connection.account()->token;

    // The account service goes away: the renewal fails, is retried later, and the token stays.
    cloud.server->stop();
    loop.run_until([&] { return logged(log, spdlog::level::warn, "token refresh: "); }, kBound);
    CHECK(logged(log, spdlog::level::warn, "; retrying in 30 s"));
    CHECK(connection.account()->token == third);
    connection.stop();
}

TEST_CASE("connection: a refused login is final, an unreachable account service is reported when not retrying") {
    Cloud cloud;
    EventLoop loop;
    const auto open = [&](ConnectionOptions o) {
        Connection connection(loop, std::move(o));
        std::vector<std::string> status;
        connection.on_status_text([&](const std::string& text) { status.push_back(text); });
        std::optional<Result<Ok, ConnectionError>> opened;
        connection.open([&](Result<Ok, ConnectionError> r) { opened.emplace(std::move(r)); });
        loop.run_until([&] { return opened.has_value(); }, kBound);
        REQUIRE(opened.has_value());
        REQUIRE_FALSE(opened->ok());
        return std::pair{opened->error(), status};
    };

    ConnectionOptions wrong = cloud.options();
    wrong.account.password = "not the password";
    wrong.retry_login = true;  // refused credentials are not retried even so
    const auto refused = open(wrong);
    CHECK(refused.first.code == ConnectionErrc::bad_credentials);
    CHECK(refused.second.back() == "login refused (check e-mail and password, then reload)");

    cloud.server->stop();
    const auto unreachable = open(cloud.options());
    CHECK(unreachable.first.code == ConnectionErrc::account);
    CHECK_MESSAGE(unreachable.first.message.rfind("network error: ", 0) == 0, unreachable.first.message);
}
