// docs/protocol.md §1 worked examples [A1]–[A4] and the password vector.
#include "bluetti/cloud/auth.hpp"
#include "bluetti/cloud/crypto.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::cloud;

namespace {
const std::string kToken = "eyJhbGciOiJub25lIn0.c2lkLWV4YW1wbGUtMTIzNDU2.c2lnbmF0dXJl";
constexpr std::uint64_t kServerMs = 1767225600123;
}  // namespace

TEST_CASE("[A1] login password hash, AES key and passOpen of 'correct horse'") {
    CHECK(login_password_hash("correct horse") == "4104D36F8DA2C254349F85836793EBE029E0C957063A34C91C2E9203187B5631");
    CHECK(md5_hex_upper(login_password_hash("correct horse")) == "39C72E6503987FCB48DF1FE60F6C2BBF");
    CHECK(login_pass_open("correct horse") == "9c734b5efa7739a122f679420ee82518");
}

TEST_CASE("login vectors of 'TestPassword123!'") {
    const std::string hash = login_password_hash("TestPassword123!");
    CHECK(hash.substr(0, 8) == "FFC121A2");
    CHECK(hash.substr(hash.size() - 4) == "F126");
    CHECK(md5_hex_upper(hash) == "FF376DB6166553D2B18A8B4CB0BA9957");
    const std::string pass_open = login_pass_open("TestPassword123!");
    CHECK(pass_open.substr(0, 8) == "b890d65b");
    CHECK(pass_open.substr(pass_open.size() - 4) == "81cd");
}

TEST_CASE("[A2] request sign and certificate password") {
    const AppIdentity app;
    CHECK(token_part(kToken, 0) == "eyJhbGciOiJub25lIn0");
    CHECK(token_part(kToken, 1) == "c2lkLWV4YW1wbGUtMTIzNDU2");
    CHECK(request_sign(kUtcTimeUrl, kServerMs, kToken, app) == "4D91CEEC6BCA455B121B0984BBEF749F");
    auto password = certificate_password("755A6ACC9BC6425B278F7B34022EC552", kServerMs, kToken, app);
    REQUIRE(password.ok());
    CHECK(*password == "Pfx-Pass-1234");
    CHECK(make_x_signature("Pfx-Pass-1234", kServerMs, kToken, app) == "755a6acc9bc6425b278f7b34022ec552");
    CHECK_FALSE(certificate_password("00112233445566778899aabbccddeeff", kServerMs, kToken, app).ok());
}

TEST_CASE("[A3] PFX TOTP, sign and x-app-resource") {
    const AppIdentity app;
    CHECK(bluetti_totp("1234567890123456789", "b5d8cd7ae3e8f6d56b7bb1686bc7705e", kServerMs) == "94988865");
    CHECK(request_sign(kPfxUrl, 94988865, kToken, app) == "ADD8347DE793463E63CAD6DA589D0998");
    CHECK(pfx_app_resource("Pfx-Pass-1234", "1234567890123456789", "b5d8cd7ae3e8f6d56b7bb1686bc7705e", kServerMs, kToken, app) ==
          "7dc79a5c9ce4bd61dfd8ebdee6760a9e");
}

TEST_CASE("[A4] MQTT username and TOTP password") {
    CHECK(mqtt_username(kToken) == "tid:c2lkLWV4YW1wbGUtMTIzNDU2");
    CHECK(mqtt_password(kToken, "", kServerMs) == "94005814");
    CHECK(mqtt_password(kToken, "s3cret", kServerMs) == "rmt:s3cret");
    // 30-second steps: the same code for the whole step, another one in the next.
    CHECK(mqtt_password(kToken, "", kServerMs + 1000) == "94005814");
    CHECK(mqtt_password(kToken, "", kServerMs + 60000) != "94005814");
}
