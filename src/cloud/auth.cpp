#include "bluetti/cloud/auth.hpp"

#include <cstdio>

#include "bluetti/cloud/crypto.hpp"

namespace bluetti::cloud {

namespace {

ByteSpan as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string lower_hex_number(std::uint64_t v) {
    char text[24];
    std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(v));
    return text;
}

}  // namespace

std::string login_password_hash(std::string_view plaintext) {
    return sha256_hex_upper(plaintext);
}

std::string login_pass_open(std::string_view plaintext) {
    const std::string key = md5_hex_upper(login_password_hash(plaintext));
    auto encrypted = aes256_ecb_encrypt(key, as_bytes(plaintext));
    return encrypted ? to_hex(*encrypted) : std::string();
}

std::string token_part(std::string_view token, int index) {
    for (int i = 0; i < index; ++i) {
        const auto dot = token.find('.');
        if (dot == std::string_view::npos) return {};
        token.remove_prefix(dot + 1);
    }
    return std::string(token.substr(0, token.find('.')));
}

std::string request_sign(std::string_view url, std::uint64_t current, std::string_view token, const AppIdentity& app) {
    const std::string text = "currentUtcTime=" + lower_hex_number(current) + "&url=" + std::string(url) + "&x-app-key=" + app.app_key +
                             "&x-app-ver=" + app.app_version + "&x-os=" + app.os + "&x-sid=" + token_part(token, 1);
    return md5_hex_upper(text);
}

Result<std::string, std::string> certificate_password(std::string_view x_signature_hex, std::uint64_t server_ms, std::string_view token,
                                                      const AppIdentity& app) {
    auto cipher = parse_hex(x_signature_hex);
    if (!cipher) return fail("X-Signature is not hex: " + cipher.error());
    auto plain = aes256_ecb_decrypt(request_sign(kUtcTimeUrl, server_ms, token, app), *cipher);
    if (!plain) return fail("cannot decrypt the certificate password: " + plain.error());
    return std::string(plain->begin(), plain->end());
}

std::string make_x_signature(std::string_view cert_password, std::uint64_t server_ms, std::string_view token, const AppIdentity& app) {
    auto cipher = aes256_ecb_encrypt(request_sign(kUtcTimeUrl, server_ms, token, app), as_bytes(cert_password));
    return cipher ? to_hex(*cipher) : std::string();
}

std::string bluetti_totp(std::string_view a, std::string_view b, std::uint64_t server_ms) {
    constexpr std::int64_t kT0 = 1371517200, kStep = 30;
    const std::int64_t seconds = static_cast<std::int64_t>(server_ms / 1000);
    const std::uint64_t counter = static_cast<std::uint64_t>((seconds - kT0) / kStep);
    std::uint8_t counter_bytes[8];
    for (int i = 0; i < 8; ++i) counter_bytes[i] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
    const std::string hc = md5_hex_upper(ByteSpan(counter_bytes, 8));
    const std::string k =
        std::string(a.substr(0, 2)) + "ga3sa4" + std::string(b) + "hj6kfl" + std::string(a.size() >= 2 ? a.substr(a.size() - 2) : a);
    const std::string hk = md5_hex_upper(k);
    std::string m(64, '\0');
    for (std::size_t i = 0; i < 32; ++i) {
        m[2 * i] = hk[i];
        m[2 * i + 1] = hc[i];
    }
    const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(m[i])); };
    const std::size_t o = byte(63) & 0x0F;
    const std::uint32_t v = (byte(o) & 0x7F) << 24 | byte(o + 1) << 16 | byte(o + 2) << 8 | byte(o + 3);
    char text[16];
    std::snprintf(text, sizeof text, "%08u", v % 100000000u);
    return text;
}

std::string pfx_app_resource(std::string_view cert_password, std::string_view uid, std::string_view device_id, std::uint64_t server_ms,
                             std::string_view token, const AppIdentity& app) {
    const std::uint64_t current = std::stoull(bluetti_totp(uid, device_id, server_ms));
    auto cipher = aes256_ecb_encrypt(request_sign(kPfxUrl, current, token, app), as_bytes(cert_password));
    return cipher ? to_hex(*cipher) : std::string();
}

std::string mqtt_username(std::string_view token) {
    return "tid:" + token_part(token, 1);
}

std::string mqtt_password(std::string_view token, std::string_view conn_secret, std::uint64_t server_ms) {
    if (!conn_secret.empty()) return "rmt:" + std::string(conn_secret);
    return bluetti_totp(token_part(token, 1), token_part(token, 0), server_ms);
}

}  // namespace bluetti::cloud
