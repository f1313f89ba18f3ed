// `bluetti-cli entities` against a broker that refuses it: a stand-in that answers the CONNECT with
// CONNACK "not authorised" (on a thread, over loopback), and a broker address it cannot use at all.
// Either way the command says why on stderr and exits 1, without waiting out --wait.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <thread>

#include "entities_command.hpp"

using namespace bluetti;

namespace {

// Accepts one MQTT client on 127.0.0.1, reads its CONNECT, answers with CONNACK `code`, and
// keeps the connection until the client closes it.
class RefusingBroker {
public:
    explicit RefusingBroker(unsigned char code) : code_(code) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        REQUIRE(::bind(listener_, reinterpret_cast<const sockaddr*>(&address), size) == 0);
        REQUIRE(::listen(listener_, 1) == 0);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~RefusingBroker() {
        stop();
        ::close(listener_);
    }
    RefusingBroker(const RefusingBroker&) = delete;
    RefusingBroker& operator=(const RefusingBroker&) = delete;

    int port() const { return port_; }
    // Ends the stand-in; whether it received an MQTT CONNECT.
    bool stop() {
        ::shutdown(listener_, SHUT_RDWR);  // ends a wait in accept() if no client ever came
        if (thread_.joinable()) thread_.join();
        return saw_connect_;
    }

private:
    int listener_ = -1;
    int port_ = 0;
    unsigned char code_;
    bool saw_connect_ = false;  // written by the thread, read after join
    std::thread thread_;

    void serve() {
        const int client = ::accept(listener_, nullptr, nullptr);
        if (client < 0) return;
        unsigned char byte = 0;
        // Fixed header: the packet type, then the remaining length (7 bits a byte, high bit = more).
        if (::read(client, &byte, 1) == 1 && byte == 0x10) {
            std::size_t remaining = 0, shift = 0;
            while (::read(client, &byte, 1) == 1) {
                remaining |= static_cast<std::size_t>(byte & 0x7F) << shift;
                shift += 7;
                if (!(byte & 0x80)) break;
            }
            std::string body(remaining, '\0');
            std::size_t got = 0;
            while (got < remaining) {
                const ssize_t n = ::read(client, body.data() + got, remaining - got);
                if (n <= 0) break;
                got += static_cast<std::size_t>(n);
            }
            saw_connect_ = got == remaining && body.compare(2, 4, "MQTT") == 0;
            const unsigned char connack[] = {0x20, 0x02, 0x00, code_};
            if (::write(client, connack, sizeof connack) != sizeof connack) saw_connect_ = false;
            while (::read(client, &byte, 1) > 0) {
            }
        }
        ::close(client);
    }
};

struct Run {
    int code;
    std::string out, err;
};

Run entities(const app::EntitiesRequest& request) {
    std::ostringstream out, err;
    const int code = app::run_entities(request, out, err);
    return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("entities: a broker that refuses the login is an error on stderr, exit 1, nothing listed") {
    app::EntitiesRequest request;
    request.wait_s = 600;  // a refusal must end it long before
    request.username = "homeassistant";
    request.password = "wrong";
    Run run{};
    {
        RefusingBroker broker(0x05);  // 3.1.1 CONNACK: not authorised
        request.broker = "mqtt://127.0.0.1:" + std::to_string(broker.port());
        run = entities(request);
        CHECK(run.code == 1);
        CHECK(broker.stop());
    }
    CHECK(run.out.empty());
    CHECK(run.err.rfind("bluetti-cli entities: ", 0) == 0);
    CHECK_MESSAGE(run.err.find("refused") != std::string::npos, run.err);  // libmosquitto's words for the CONNACK
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
}

TEST_CASE("entities: a broker address it cannot connect to is an error at once") {
    app::EntitiesRequest request;
    request.wait_s = 600;
    request.broker = "mqtt://127.0.0.1:99999";  // no port
    const Run run = entities(request);
    CHECK(run.code == 1);
    CHECK(run.out.empty());
    CHECK(run.err.rfind("bluetti-cli entities: ", 0) == 0);
    CHECK(run.err.size() > std::string("bluetti-cli entities: \n").size());
}
