// Mosquitto: a real mosquitto broker on 127.0.0.1 for one test, plain or TLS (optionally requiring
// client certificates signed by a CA), on a port chosen at run time.
//
//   TestCertificates certs;  certs.generate(dir.file("pki"), {}, error);
//   MosquittoOptions o;
//   o.tls = true;  o.ca_file = certs.ca_cert;  o.cert_file = certs.server_cert;  o.key_file = certs.server_key;
//   Mosquitto cloud(o);
//   REQUIRE_MESSAGE(cloud.start(dir.path(), error), error);   // ready: something accepted a connection
//   ... cloud.port(), cloud.address() ("127.0.0.1:PORT") ...
//
// The port: mosquitto needs a concrete one, so start() takes a free port (bind to 0, close), starts
// the broker there and waits until a TCP connect succeeds; if the broker died instead (the port was
// taken in between) it retries with another port. The broker is stopped by its own PID. Its log
// (connections, TLS errors) is in log_file(), worth attaching to a failing test.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "test_certificates.hpp"

namespace bluetti::systest {

struct MosquittoOptions {
    bool tls = false;
    std::string ca_file;    // TLS: the CA that signs accepted client certificates
    std::string cert_file;  // TLS: the server certificate (for 127.0.0.1 / localhost)
    std::string key_file;
    bool require_certificate = true;        // TLS: clients must present a certificate from ca_file
    bool verbose_log = false;               // log_type all (every packet)
    std::vector<std::string> extra_config;  // lines appended to mosquitto.conf (ACLs, password_file, …)
};

// The broker that plays the Bluetti cloud: TLS, and a client certificate from `certs`' CA required
// (the certificate's identity is the MQTT user name).
inline MosquittoOptions tls_broker_options(const TestCertificates& certs) {
    MosquittoOptions o;
    o.tls = true;
    o.ca_file = certs.ca_cert;
    o.cert_file = certs.server_cert;
    o.key_file = certs.server_key;
    o.require_certificate = true;
    o.extra_config = {"use_identity_as_username true"};
    return o;
}

class Mosquitto {
public:
    explicit Mosquitto(MosquittoOptions options = {});
    ~Mosquitto();
    Mosquitto(const Mosquitto&) = delete;
    Mosquitto& operator=(const Mosquitto&) = delete;

    // Writes the config into `work_dir` (a TempDir) and starts the broker; false with `error`
    // (and the broker's log) when it does not come up within `timeout`.
    bool start(const std::string& work_dir, std::string& error, std::chrono::milliseconds timeout = std::chrono::seconds(15));
    // SIGTERM to our broker, SIGKILL if it lingers. The exit status, -1 if it was not running.
    int stop();
    // Stops the broker and starts it again on the same port (clients must reconnect by themselves).
    bool restart(const std::string& work_dir, std::string& error, std::chrono::milliseconds timeout = std::chrono::seconds(15));
    bool running() { return process_.running(); }

    int port() const { return port_; }
    std::string host() const { return "127.0.0.1"; }
    std::string address() const { return host() + ":" + std::to_string(port_); }
    const std::string& log_file() const { return log_file_; }
    std::string log_text() const;
    ChildProcess& process() { return process_; }

    // $BLUETTI_MOSQUITTO, else /usr/sbin/mosquitto.
    static std::string binary();
    static bool available();

private:
    MosquittoOptions options_;
    ChildProcess process_;
    int port_ = 0;
    std::string log_file_;

    std::string config_text(int port) const;
};

}  // namespace bluetti::systest
