#include "test_certificates.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <vector>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace bluetti::systest {

namespace {

// openssl ca wants a small database per CA; the extension sections name what each leaf is for.
std::string ca_config(const std::string& dir, const std::string& name) {
    return "[ca]\ndefault_ca = ca_default\n"
           "[ca_default]\n"
           "database = " +
           dir + "/" + name +
           ".index\n"
           "new_certs_dir = " +
           dir +
           "\n"
           "serial = " +
           dir + "/" + name +
           ".serial\n"
           "default_md = sha256\n"
           "policy = policy_any\n"
           "unique_subject = no\n"
           "[policy_any]\ncommonName = supplied\n"
           "[server_ext]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
           "extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n"
           "[client_ext]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
           "extendedKeyUsage = clientAuth\n";
}

std::string asn1_time(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&tt, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%d%H%M%SZ", &utc);
    return text;
}

class Pki {
public:
    Pki(std::string dir, const CertificateOptions& options) : dir_(std::move(dir)), options_(options) {}

    bool run(const std::vector<std::string>& args, std::string& error) {
        const CommandResult r = run_command(TestCertificates::openssl(), args);
        if (r.status == 0) return true;
        std::string line = "openssl";
        for (const std::string& a : args) line += " " + a;
        error = line + " failed (status " + std::to_string(r.status) + "): " + r.output;
        return false;
    }

    // A self-signed CA `name`.crt/.key with its openssl-ca database.
    bool make_ca(const std::string& name, const std::string& cn, std::string& error) {
        if (!write_text_file(path(name + ".cnf"), ca_config(dir_, name)) || !write_text_file(path(name + ".index"), "") ||
            !write_text_file(path(name + ".serial"), "1000\n")) {
            error = "cannot write the CA files of " + name + " in " + dir_;
            return false;
        }
        return run({"req", "-x509", "-newkey", "rsa:" + std::to_string(options_.rsa_bits), "-nodes", "-keyout", path(name + ".key"), "-out",
                    path(name + ".crt"), "-days", std::to_string(options_.days + 1), "-subj", "/CN=" + cn, "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
                   error);
    }

    // A key and a certificate `name`.crt/.key signed by CA `ca`, with extensions `ext`, valid in [from, to].
    bool make_leaf(const std::string& ca, const std::string& name, const std::string& cn, const std::string& ext,
                   std::chrono::system_clock::time_point from, std::chrono::system_clock::time_point to, std::string& error) {
        return run({"req", "-newkey", "rsa:" + std::to_string(options_.rsa_bits), "-nodes", "-keyout", path(name + ".key"), "-out",
                    path(name + ".csr"), "-subj", "/CN=" + cn},
                   error) &&
               run({"ca", "-batch", "-notext", "-config", path(ca + ".cnf"), "-cert", path(ca + ".crt"), "-keyfile", path(ca + ".key"),
                    "-in", path(name + ".csr"), "-out", path(name + ".crt"), "-extensions", ext, "-startdate", asn1_time(from), "-enddate",
                    asn1_time(to)},
                   error);
    }

    std::string path(const std::string& file) const { return dir_ + "/" + file; }

private:
    std::string dir_;
    const CertificateOptions& options_;
};

}  // namespace

std::string TestCertificates::openssl() {
    const char* env = std::getenv("BLUETTI_OPENSSL");
    return env && *env ? env : "openssl";
}

bool TestCertificates::available() {
    return run_command(openssl(), {"version"}).status == 0;
}

bool TestCertificates::generate(const std::string& dir, const CertificateOptions& options, std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        error = "cannot create " + dir + ": " + ec.message();
        return false;
    }
    Pki pki(dir, options);
    const auto now = std::chrono::system_clock::now();
    const auto from = now - std::chrono::hours(24);
    const auto to = now + std::chrono::hours(24 * options.days);

    if (!pki.make_ca("ca", "bluetti test CA", error) || !pki.make_leaf("ca", "server", "localhost", "server_ext", from, to, error) ||
        !pki.make_leaf("ca", "client", options.client_cn, "client_ext", from, to, error)) {
        return false;
    }
    ca_cert = pki.path("ca.crt");
    ca_key = pki.path("ca.key");
    server_cert = pki.path("server.crt");
    server_key = pki.path("server.key");
    client_cert = pki.path("client.crt");
    client_key = pki.path("client.key");

    if (options.expired_client) {
        const auto y2020 = std::chrono::system_clock::from_time_t(1577836800);  // 2020-01-01T00:00:00Z
        if (!pki.make_leaf("ca", "expired-client", options.client_cn, "client_ext", y2020, y2020 + std::chrono::hours(24), error))
            return false;
        expired_client_cert = pki.path("expired-client.crt");
        expired_client_key = pki.path("expired-client.key");
    }
    if (options.other_ca) {
        if (!pki.make_ca("other-ca", "unrelated test CA", error) ||
            !pki.make_leaf("other-ca", "other-client", options.client_cn, "client_ext", from, to, error)) {
            return false;
        }
        other_ca_cert = pki.path("other-ca.crt");
        other_ca_key = pki.path("other-ca.key");
        other_client_cert = pki.path("other-client.crt");
        other_client_key = pki.path("other-client.key");
    }
    if (options.device_client) {
        if (!pki.make_leaf("ca", "device-client", options.device_cn, "client_ext", from, to, error)) return false;
        device_client_cert = pki.path("device-client.crt");
        device_client_key = pki.path("device-client.key");
    }
    if (options.pkcs12) {
        if (!pki.run({"pkcs12", "-export", "-legacy", "-in", client_cert, "-inkey", client_key, "-certfile", ca_cert, "-name",
                      options.client_cn, "-out", pki.path("client.p12"), "-passout", "pass:" + options.pkcs12_password},
                     error)) {
            error += " (the legacy provider of OpenSSL 3 is needed: libssl3 ships it as ossl-modules/legacy.so)";
            return false;
        }
        pkcs12 = pki.path("client.p12");
        pkcs12_password = options.pkcs12_password;
    }
    return true;
}

}  // namespace bluetti::systest
