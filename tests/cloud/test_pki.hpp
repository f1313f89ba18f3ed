// Keys, certificates and PKCS#12 bundles made by the test itself with OpenSSL's API (EC P-256 keys,
// nothing checked in): a broker CA with a server certificate for localhost and 127.0.0.1, and a
// client certificate from a second CA, as the cloud's bundle holds one.
#pragma once

#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bluetti/hex.hpp"

namespace bluetti::test {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

inline Key make_key() {
    Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    REQUIRE(key);
    return key;
}

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext);
    REQUIRE(X509_add_ext(cert, ext, -1) == 1);
    X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer` (self-signed without one), valid from an
// hour ago until `not_after` (Unix seconds). `san`: subjectAltName, e.g. "DNS:localhost".
inline Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool ca, const std::string& san,
                      long long not_after) {
    static long serial = 1;  // tests run on one thread
    Cert cert(X509_new(), X509_free);
    REQUIRE(cert);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after));
    X509_set_pubkey(cert.get(), key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()),
                               -1, -1, 0);
    X509* signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    add_extension(cert.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (!san.empty()) add_extension(cert.get(), signer, NID_subject_alt_name, san.c_str());
    REQUIRE(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return cert;
}

// PEM text of a certificate or (unencrypted) private key, for a file a server or ca_file reads.
inline std::string pem_of(const std::function<int(BIO*)>& write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    REQUIRE(write(bio.get()) == 1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}
inline std::string pem(X509* cert) {
    return pem_of([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
}
inline std::string pem(EVP_PKEY* key) {
    return pem_of([key](BIO* bio) { return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
}

inline constexpr long long kFarFuture = 4'102'444'800;  // 2100-01-01

// A CA, a server certificate from it for localhost and 127.0.0.1, and a client certificate from
// another CA (the broker does not ask for it here).
struct Pki {
    Key ca_key = make_key();
    Cert ca = make_cert(ca_key.get(), "test broker CA", nullptr, nullptr, true, "", kFarFuture);
    Key server_key = make_key();
    Cert server = make_cert(server_key.get(), "localhost", ca.get(), ca_key.get(), false, "DNS:localhost,IP:127.0.0.1", kFarFuture);
    Key client_ca_key = make_key();
    Cert client_ca = make_cert(client_ca_key.get(), "test client CA", nullptr, nullptr, true, "", kFarFuture);
    Key client_key = make_key();
    long long client_not_after = 2'000'000'000;
    Cert client = make_cert(client_key.get(), "client", client_ca.get(), client_ca_key.get(), false, "", client_not_after);

    std::string ca_pem() const { return pem(ca.get()); }
};

// The DER of a PKCS#12 with `key` and `cert` (either may be null) and `extra` certificates.
inline Bytes pkcs12(EVP_PKEY* key, X509* cert, const std::vector<X509*>& extra, const std::string& password) {
    STACK_OF(X509)* cas = sk_X509_new_null();
    for (X509* c : extra) sk_X509_push(cas, c);
    PKCS12* p12 = PKCS12_create(password.c_str(), "bluetti test", key, cert, cas, 0, 0, 0, 0, 0);
    sk_X509_free(cas);
    REQUIRE(p12);
    unsigned char* der = nullptr;
    const int size = i2d_PKCS12(p12, &der);
    PKCS12_free(p12);
    REQUIRE(size > 0);
    Bytes out(der, der + size);
    OPENSSL_free(der);
    return out;
}

}  // namespace bluetti::test
