#include "bluetti/cloud/tls.hpp"

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace bluetti::cloud {

namespace {

// The legacy provider (RC2/3DES, which the cloud's PKCS#12 bundles use) is only needed while a
// bundle is decrypted. It is loaded with retain_fallbacks so that OpenSSL still activates
// "default" by itself, and released again after the parse: OpenSSL counts the loads, and a load
// that is never released keeps the provider alive past OPENSSL_cleanup (LeakSanitizer sees it).
class LegacyProvider {
public:
    LegacyProvider() : provider_(OSSL_PROVIDER_try_load(nullptr, "legacy", /*retain_fallbacks=*/1)) { ERR_clear_error(); }
    ~LegacyProvider() {
        if (provider_) OSSL_PROVIDER_unload(provider_);
    }
    LegacyProvider(const LegacyProvider&) = delete;
    LegacyProvider& operator=(const LegacyProvider&) = delete;
    bool loaded() const { return provider_ != nullptr; }

private:
    OSSL_PROVIDER* provider_;
};

int app_data_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

constexpr std::string_view kServerVerifyFailed = "server certificate verify failed";

long long to_epoch(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<long long>(timegm(&tm));
}

}  // namespace

std::string drain_openssl_errors() {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(e, text, sizeof text);
        out += (out.empty() ? "" : "; ") + std::string(text);
    }
    return out;
}

bool tls_failure_may_be_client_certificate(std::string_view error, long long not_after, long long now) {
    if (not_after > 0 && not_after <= now) return true;
    if (error.starts_with(kServerVerifyFailed)) return false;
    // OpenSSL names a received alert "sslv3 alert bad certificate", "tlsv1 alert unknown ca",
    // "tlsv13 alert certificate required", ...
    const auto alert = error.find(" alert ");
    if (alert == std::string_view::npos) return false;
    const std::string_view what = error.substr(alert + 7);
    for (std::string_view about : {"certificate", "bad certificate", "unsupported certificate", "unknown ca", "access denied"})
        if (what.starts_with(about)) return true;
    return false;
}

int TlsContext::verify_callback(int ok, X509_STORE_CTX* store) {
    if (ok) return ok;
    SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* self = ssl ? static_cast<TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), app_data_index())) : nullptr;
    if (self) {
        char subject[256] = "?";
        if (X509* cert = X509_STORE_CTX_get_current_cert(store)) X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
        self->last_verify_error_ = std::string(kServerVerifyFailed) + ": " +
                                   X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)) + " (subject " + subject + ")";
    }
    return ok;
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

Result<std::unique_ptr<TlsContext>, std::string> TlsContext::from_pkcs12(ByteSpan pkcs12, const std::string& password,
                                                                         const TlsOptions& options) {
    const LegacyProvider legacy;
    ERR_clear_error();
    const unsigned char* cursor = pkcs12.data();
    PKCS12* p12 = d2i_PKCS12(nullptr, &cursor, static_cast<long>(pkcs12.size()));
    if (!p12) return fail("the certificate bundle is not a PKCS#12 file (" + drain_openssl_errors() + ")");
    std::unique_ptr<PKCS12, decltype(&PKCS12_free)> p12_guard(p12, PKCS12_free);
    if (!PKCS12_verify_mac(p12, password.c_str(), static_cast<int>(password.size()))) {
        ERR_clear_error();
        return fail(std::string("wrong PKCS#12 password (the MAC does not verify)"));
    }
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* cas = nullptr;
    if (!PKCS12_parse(p12, password.c_str(), &key, &cert, &cas)) {
        const std::string detail = drain_openssl_errors();
        if (!legacy.loaded()) {
            return fail(
                "cannot decrypt the PKCS#12: it probably uses legacy encryption (RC2/3DES) and OpenSSL's legacy provider "
                "could not be loaded (Debian ships it in libssl3 as ossl-modules/legacy.so): " +
                detail);
        }
        return fail("cannot decrypt the PKCS#12: " + detail);
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_guard(key, EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert_guard(cert, X509_free);
    auto free_stack = [](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); };
    std::unique_ptr<STACK_OF(X509), decltype(free_stack)> cas_guard(cas, free_stack);
    if (!key || !cert) return fail(std::string("the PKCS#12 holds no client certificate and key"));

    SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
    if (!raw) return fail("cannot create a TLS context: " + drain_openssl_errors());
    std::unique_ptr<TlsContext> ctx(new TlsContext(raw));
    SSL_CTX_set_ex_data(raw, app_data_index(), ctx.get());
    SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
    SSL_CTX_set_security_level(raw, options.security_level);
    if (SSL_CTX_use_certificate(raw, cert) != 1 || SSL_CTX_use_PrivateKey(raw, key) != 1 || SSL_CTX_check_private_key(raw) != 1) {
        return fail("the PKCS#12 certificate and key do not fit together: " + drain_openssl_errors());
    }
    ctx->not_after_ = to_epoch(X509_get0_notAfter(cert));

    if (options.insecure) {
        SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
        return ctx;
    }
    X509_STORE* store = SSL_CTX_get_cert_store(raw);
    if (options.use_system_store) SSL_CTX_set_default_verify_paths(raw);
    if (!options.ca_file.empty() && SSL_CTX_load_verify_locations(raw, options.ca_file.c_str(), nullptr) != 1) {
        return fail("cannot load ca_file " + options.ca_file + ": " + drain_openssl_errors());
    }
    for (int i = 0; cas && i < sk_X509_num(cas); ++i) X509_STORE_add_cert(store, sk_X509_value(cas, i));
    if (!options.host.empty()) {
        X509_VERIFY_PARAM* param = SSL_CTX_get0_param(raw);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        const bool is_ip =
            options.host.find_first_not_of("0123456789.") == std::string::npos || options.host.find(':') != std::string::npos;
        if (is_ip)
            X509_VERIFY_PARAM_set1_ip_asc(param, options.host.c_str());
        else
            X509_VERIFY_PARAM_set1_host(param, options.host.c_str(), 0);
    }
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, &TlsContext::verify_callback);
    ERR_clear_error();
    return ctx;
}

}  // namespace bluetti::cloud
