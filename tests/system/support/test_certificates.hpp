// TestCertificates: a throw-away PKI made with the `openssl` command line, for TLS brokers and the
// REST stand-in in system tests:
//
//   ca.crt / ca.key                  a CA
//   server.crt / server.key          signed by it, for 127.0.0.1 and localhost (serverAuth)
//   client.crt / client.key          signed by it (clientAuth)
//   options.expired_client:          expired-client.crt/.key, signed by the CA, valid in 2020 only
//   options.other_ca:                other-ca.crt/.key, an unrelated CA, and other-client.crt/.key it signed
//   options.device_client:           device-client.crt/.key, signed by the CA, with its own CN
//                                    (options.device_cn): the simulated stations' side, so that a
//                                    broker ACL can tell them from the bridge
//   options.pkcs12:                  client.p12: client certificate + key + CA, legacy-encrypted
//                                    (openssl pkcs12 -export -legacy: RC2/3DES as the Bluetti cloud
//                                    serves it, docs/protocol.md §1.7), password options.pkcs12_password
//
// Every certificate is valid from a day ago (no clock-skew surprises) for `days` days. RSA keys,
// `rsa_bits` long. generate() fails with the failing command's output in `error`.
#pragma once

#include <string>

namespace bluetti::systest {

struct CertificateOptions {
    int rsa_bits = 2048;
    int days = 30;
    bool expired_client = false;
    bool other_ca = false;
    bool pkcs12 = false;
    bool device_client = false;
    std::string device_cn = "bluetti-test-device";
    std::string pkcs12_password = "test-pfx-password";
    std::string client_cn = "bluetti-test-client";
};

class TestCertificates {
public:
    // Creates `dir` if needed and writes every file there.
    bool generate(const std::string& dir, const CertificateOptions& options, std::string& error);

    std::string ca_cert, ca_key;
    std::string server_cert, server_key;
    std::string client_cert, client_key;
    std::string expired_client_cert, expired_client_key;  // with options.expired_client
    std::string other_ca_cert, other_ca_key;              // with options.other_ca
    std::string other_client_cert, other_client_key;      // with options.other_ca
    std::string pkcs12, pkcs12_password;                  // with options.pkcs12
    std::string device_client_cert, device_client_key;    // with options.device_client

    // $BLUETTI_OPENSSL, else `openssl` from PATH.
    static std::string openssl();
    static bool available();
};

}  // namespace bluetti::systest
