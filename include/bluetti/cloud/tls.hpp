// The client TLS context for the Bluetti broker, built from the PKCS#12 in memory: the private key
// never touches disk (docs/protocol.md §1.7, §1.10). Server verification is on unless `insecure`, from
// the system store, `ca_file` and the CA certificates inside the PKCS#12; the host name is checked.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "bluetti/hex.hpp"
#include "bluetti/result.hpp"

namespace bluetti::cloud {

struct TlsOptions {
    std::string host;     // checked against the server certificate
    std::string ca_file;  // extra trust anchors (PEM)
    bool use_system_store = true;
    bool insecure = false;   // skip server verification (loudly logged by the caller)
    int security_level = 0;  // OpenSSL @SECLEVEL: the broker's keys are small (docs/protocol.md §1.10)
};

class TlsContext {
public:
    // Parses the PKCS#12 (loading OpenSSL's legacy provider for RC2/3DES bundles) and builds the
    // context. Errors say which: wrong password, legacy provider missing, unreadable bundle, CA file.
    static Result<std::unique_ptr<TlsContext>, std::string> from_pkcs12(ByteSpan pkcs12, const std::string& password,
                                                                        const TlsOptions& options);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    SSL_CTX* get() const { return ctx_; }
    // What the last failed verification said ("certificate verify failed: unable to get local
    // issuer certificate (subject …)"), for a one-line error.
    const std::string& last_verify_error() const { return last_verify_error_; }
    void clear_verify_error() { last_verify_error_.clear(); }
    // notAfter of the client certificate as seconds since the epoch (0 if unknown).
    long long certificate_not_after() const { return not_after_; }

private:
    explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
    SSL_CTX* ctx_;
    std::string last_verify_error_;
    long long not_after_ = 0;
    static int verify_callback(int ok, X509_STORE_CTX* store);
};

// Whether a failed TLS connection can be the client certificate's fault, so that downloading a new
// one may help: the certificate has expired (by `now`, seconds since the epoch), or the broker sent
// an alert about it (bad/expired/revoked/unknown certificate, unknown CA, certificate required,
// access denied). Not when we refused the server's certificate (a CA or host-name problem a new
// client certificate cannot fix) or the connection failed otherwise.
bool tls_failure_may_be_client_certificate(std::string_view error, long long not_after, long long now);

// The OpenSSL error queue as one line (and cleared), for messages after a failed handshake.
std::string drain_openssl_errors();

}  // namespace bluetti::cloud
