// The Bluetti app's authentication algorithms (docs/protocol.md §1.3–1.9), as pure functions with the
// worked examples [A1]–[A4] as tests. Used by the account client and by the simulator's REST
// stand-in, so both sides share one implementation of each rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bluetti/result.hpp"

namespace bluetti::cloud {

// The constants the app sends (docs/protocol.md §1.2); they must match what goes into every sign.
struct AppIdentity {
    std::string app_key = "1783AF460D4D0615365940C9D3A";
    std::string app_version = "3.0.6";
    std::string os = "android";
    std::string os_version_hex = "31332E30";  // "13.0"
};

// §1.3: `password` form field = upper-case hex SHA-256 of the plaintext.
std::string login_password_hash(std::string_view plaintext);
// §1.3: `passOpen` = lower-case hex of AES-256-ECB(plaintext), key = upper-case MD5 hex of the hash.
std::string login_pass_open(std::string_view plaintext);

// The parts of the dot-separated token: part 0 and part 1 ("x-sid"); empty when missing.
std::string token_part(std::string_view token, int index);

// §1.6: upper-case MD5 hex of the sorted key=value string.
std::string request_sign(std::string_view url, std::uint64_t current, std::string_view token, const AppIdentity& app);

// §1.6: the certificate password hidden in the utc-time answer's X-Signature header.
Result<std::string, std::string> certificate_password(std::string_view x_signature_hex, std::uint64_t server_ms, std::string_view token,
                                                      const AppIdentity& app);
// The inverse, for the simulator: X-Signature for a given certificate password.
std::string make_x_signature(std::string_view cert_password, std::uint64_t server_ms, std::string_view token, const AppIdentity& app);

// §1.9: the 8-digit time-based code (not RFC 6238): A and B are its two key inputs.
std::string bluetti_totp(std::string_view a, std::string_view b, std::uint64_t server_ms);

// §1.7: the x-app-resource header of the PKCS#12 download.
std::string pfx_app_resource(std::string_view cert_password, std::string_view uid, std::string_view device_id, std::uint64_t server_ms,
                             std::string_view token, const AppIdentity& app);

inline constexpr std::string_view kUtcTimeUrl = "/api/midppkic/cert/app/v2/now/utc-time";
inline constexpr std::string_view kPfxUrl = "/api/midppkic/cert/app/v1/pfx";

// §1.8: MQTT credentials.
std::string mqtt_username(std::string_view token);
std::string mqtt_password(std::string_view token, std::string_view conn_secret, std::uint64_t server_ms);

}  // namespace bluetti::cloud
