// TlsContext::from_pkcs12 on bundles the test makes itself with OpenSSL (EC keys, no files checked
// in): which server certificates the context then trusts, shown by real TLS handshakes in memory
// (a BIO pair, no socket), and what it says about a bundle it cannot use.
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/err.h>

#include <memory>
#include <string>
#include <vector>

#include "bluetti/cloud/tls.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"

using namespace bluetti;
using namespace bluetti::cloud;
using bluetti::test::pkcs12;
using bluetti::test::Pki;

namespace {

TlsOptions local(const std::string& host) {
    TlsOptions o;
    o.host = host;
    o.use_system_store = false;  // only what the test gives: the bundle and ca_file
    return o;
}

std::unique_ptr<TlsContext> context(const Bytes& bundle, const std::string& password, const TlsOptions& options) {
    auto ctx = TlsContext::from_pkcs12(bundle, password, options);
    REQUIRE_MESSAGE(ctx.ok(), ctx.error());
    return std::move(*ctx);
}

// A TLS handshake in memory between `client` and a server presenting `cert`; true when the client
// accepted it. Each side only ever waits for the other's bytes, so a bounded number of turns ends it.
bool handshake(TlsContext& client, X509* cert, EVP_PKEY* key) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> server_ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    REQUIRE(server_ctx);
    REQUIRE(SSL_CTX_use_certificate(server_ctx.get(), cert) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(server_ctx.get(), key) == 1);
    std::unique_ptr<SSL, decltype(&SSL_free)> c(SSL_new(client.get()), SSL_free), s(SSL_new(server_ctx.get()), SSL_free);
    REQUIRE((c && s));
    BIO *cb = nullptr, *sb = nullptr;
    REQUIRE(BIO_new_bio_pair(&cb, 0, &sb, 0) == 1);
    SSL_set_bio(c.get(), cb, cb);
    SSL_set_bio(s.get(), sb, sb);
    SSL_set_connect_state(c.get());
    SSL_set_accept_state(s.get());
    client.clear_verify_error();
    bool client_done = false, server_done = false;
    for (int turn = 0; turn < 20 && !(client_done && server_done); ++turn) {
        const int rc = SSL_do_handshake(c.get());
        if (rc == 1) client_done = true;
        if (rc <= 0 && SSL_get_error(c.get(), rc) != SSL_ERROR_WANT_READ) break;
        const int rs = SSL_do_handshake(s.get());
        if (rs == 1) server_done = true;
        if (rs <= 0 && SSL_get_error(s.get(), rs) != SSL_ERROR_WANT_READ) break;
    }
    ERR_clear_error();
    return client_done;
}

}  // namespace

TEST_CASE("TLS context: the CA certificates inside the PKCS#12 are trusted for the broker") {
    const Pki pki;
    auto with_ca = context(pkcs12(pki.client_key.get(), pki.client.get(), {pki.ca.get()}, "pw"), "pw", local("localhost"));
    CHECK(handshake(*with_ca, pki.server.get(), pki.server_key.get()));
    CHECK(with_ca->last_verify_error().empty());

    // The same bundle without the broker's CA: the server certificate has no trusted issuer.
    auto without = context(pkcs12(pki.client_key.get(), pki.client.get(), {pki.client_ca.get()}, "pw"), "pw", local("localhost"));
    CHECK_FALSE(handshake(*without, pki.server.get(), pki.server_key.get()));
    CHECK(without->last_verify_error().rfind("server certificate verify failed: unable to get local issuer certificate", 0) == 0);
    CHECK(without->last_verify_error().find("(subject /CN=localhost)") != std::string::npos);
}

TEST_CASE("TLS context: the broker's name or IP address must be the server certificate's") {
    const Pki pki;
    const Bytes bundle = pkcs12(pki.client_key.get(), pki.client.get(), {pki.ca.get()}, "pw");
    CHECK(handshake(*context(bundle, "pw", local("127.0.0.1")), pki.server.get(), pki.server_key.get()));

    auto other_ip = context(bundle, "pw", local("127.0.0.2"));
    CHECK_FALSE(handshake(*other_ip, pki.server.get(), pki.server_key.get()));
    CHECK(other_ip->last_verify_error().find("IP address mismatch") != std::string::npos);

    auto other_name = context(bundle, "pw", local("iot.example.com"));
    CHECK_FALSE(handshake(*other_name, pki.server.get(), pki.server_key.get()));
    CHECK(other_name->last_verify_error().find("hostname mismatch") != std::string::npos);
}

TEST_CASE("TLS context: ca_file adds trust anchors, insecure trusts any server, a missing ca_file is refused") {
    const Pki pki;
    const Bytes bundle = pkcs12(pki.client_key.get(), pki.client.get(), {}, "pw");
    CHECK_FALSE(handshake(*context(bundle, "pw", local("localhost")), pki.server.get(), pki.server_key.get()));

    test::TempDir dir;
    TlsOptions with_file = local("localhost");
    with_file.ca_file = dir.write("ca.pem", pki.ca_pem());
    CHECK(handshake(*context(bundle, "pw", with_file), pki.server.get(), pki.server_key.get()));

    TlsOptions insecure = local("somewhere.else");
    insecure.insecure = true;
    insecure.ca_file = dir.file("never-read.pem");  // no verification, so it is not even opened
    CHECK(handshake(*context(bundle, "pw", insecure), pki.server.get(), pki.server_key.get()));

    TlsOptions missing = local("localhost");
    missing.ca_file = dir.file("missing.pem");
    auto refused = TlsContext::from_pkcs12(bundle, "pw", missing);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().rfind("cannot load ca_file " + missing.ca_file + ": ", 0) == 0);
}

TEST_CASE("TLS context: the client certificate's notAfter is known, for telling an expired one apart") {
    const Pki pki;
    auto ctx = context(pkcs12(pki.client_key.get(), pki.client.get(), {pki.ca.get()}, "pw"), "pw", local("localhost"));
    CHECK(ctx->certificate_not_after() == pki.client_not_after);
}

TEST_CASE("TLS context: a bundle it cannot use says why") {
    const Pki pki;
    const Bytes bundle = pkcs12(pki.client_key.get(), pki.client.get(), {pki.ca.get()}, "right");

    auto wrong = TlsContext::from_pkcs12(bundle, "wrong", local("localhost"));
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error() == "wrong PKCS#12 password (the MAC does not verify)");

    const Bytes garbage{0x30, 0x03, 0x02, 0x01, 0x03};
    auto not_p12 = TlsContext::from_pkcs12(garbage, "right", local("localhost"));
    REQUIRE_FALSE(not_p12.ok());
    CHECK(not_p12.error().rfind("the certificate bundle is not a PKCS#12 file (", 0) == 0);

    // Certificates only: a CA bundle handed over instead of the client's.
    auto no_key = TlsContext::from_pkcs12(pkcs12(nullptr, nullptr, {pki.ca.get()}, "right"), "right", local("localhost"));
    REQUIRE_FALSE(no_key.ok());
    CHECK(no_key.error() == "the PKCS#12 holds no client certificate and key");
}

TEST_CASE("TLS context: a client key weaker than the configured security level is refused") {
    const Pki pki;
    TlsOptions strict = local("localhost");
    strict.security_level = 4;  // 192-bit security: a P-256 key (128 bits) is too weak
    auto refused = TlsContext::from_pkcs12(pkcs12(pki.client_key.get(), pki.client.get(), {}, "pw"), "pw", strict);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().rfind("the PKCS#12 certificate and key do not fit together: ", 0) == 0);
    CHECK(refused.error().find("too small") != std::string::npos);
}
