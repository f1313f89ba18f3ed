// Which TLS failures may be the client certificate's (then a new one is downloaded) and which are
// not (the server's certificate refused by us: a new client certificate cannot help).
#include <doctest/doctest.h>

#include "bluetti/cloud/tls.hpp"

using bluetti::cloud::tls_failure_may_be_client_certificate;

TEST_CASE("TLS failure: the broker's alerts about our certificate, or an expired one, may be the certificate's") {
    const long long now = 1'800'000'000;
    CHECK(tls_failure_may_be_client_certificate("TLS error error:0A000415:SSL routines::sslv3 alert certificate expired", 0, now));
    CHECK(tls_failure_may_be_client_certificate("error:0A000412:SSL routines::sslv3 alert bad certificate", 0, now));
    CHECK(tls_failure_may_be_client_certificate("error:0A000418:SSL routines::tlsv1 alert unknown ca", 0, now));
    CHECK(tls_failure_may_be_client_certificate("error:0A00045C:SSL routines::tlsv13 alert certificate required", 0, now));
    CHECK(tls_failure_may_be_client_certificate("error:0A000414:SSL routines::sslv3 alert certificate revoked", 0, now));
    // Our own certificate has run out, whatever the broker said.
    CHECK(tls_failure_may_be_client_certificate("TLS handshake failed", now - 1, now));
}

TEST_CASE("TLS failure: a refused server certificate or another failure is not the client certificate's") {
    const long long now = 1'800'000'000;
    CHECK_FALSE(tls_failure_may_be_client_certificate(
        "server certificate verify failed: unable to get local issuer certificate (subject /CN=broker)", now + 86400, now));
    CHECK_FALSE(tls_failure_may_be_client_certificate("server certificate verify failed: hostname mismatch (subject /CN=x)", 0, now));
    CHECK_FALSE(tls_failure_may_be_client_certificate("error:0A000410:SSL routines::sslv3 alert handshake failure", now + 1, now));
    CHECK_FALSE(tls_failure_may_be_client_certificate("TLS error: connection reset by peer", 0, now));
}
