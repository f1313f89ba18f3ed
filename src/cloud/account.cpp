#include "bluetti/cloud/account.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "../util/bounded_file.hpp"
#include "../util/state_file.hpp"
#include "bluetti/cloud/crypto.hpp"
#include "bluetti/log.hpp"
#include "bluetti/secure_clear.hpp"
#include "bluetti/text.hpp"

namespace bluetti::cloud {

using nlohmann::json;

namespace {

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string text_of(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (it->is_string()) return it->get<std::string>();
    return it->dump();
}

// An error answer: code in `code` or `msgCode`, text in `msg` or `message` (which the live server
// uses is unverified, docs/protocol.md §1.3).
std::optional<std::pair<std::string, std::string>> api_error(const json& j) {
    std::string code = text_of(j, "code");
    if (code.empty()) code = text_of(j, "msgCode");
    if (code.empty() || code == "0" || code == "200") return std::nullopt;
    std::string message = text_of(j, "msg");
    if (message.empty()) message = text_of(j, "message");
    return std::make_pair(code, message);
}

bool means_bad_credentials(const std::string& code, const std::string& message) {
    std::string lower = message;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return code == "20003015" || code == "20003006" || lower.find("password") != std::string::npos ||
           lower.find("incorrect") != std::string::npos;
}

// Files earlier versions kept in the state directory: the token, the PKCS#12 password and the
// PKCS#12 itself, from which the private key could be recovered. Nothing of the kind is written now.
constexpr const char* kLegacySecretFiles[] = {"account.json", "certificate.p12", "account.json.tmp", "certificate.p12.tmp"};

}  // namespace

std::string_view to_string(AccountErrc code) {
    switch (code) {
        case AccountErrc::bad_credentials:
            return "bad credentials";
        case AccountErrc::network:
            return "network error";
        case AccountErrc::rejected:
            return "rejected";
        case AccountErrc::protocol:
            return "unexpected answer";
    }
    return "?";
}

std::uint64_t AccountSession::server_now_ms() const {
    return static_cast<std::uint64_t>(unix_now_ms() + server_offset_ms);
}

bool serial_is_safe(std::string_view serial) {
    constexpr std::size_t kMaxSerial = 64;
    if (serial.empty() || serial.size() > kMaxSerial) return false;
    return std::all_of(serial.begin(), serial.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
    });
}

Result<std::vector<DeviceRecord>, std::string> parse_device_list(const std::string& body, std::vector<std::string>* refused) {
    const json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) return fail(std::string("device list is not JSON"));
    const json* list = j.contains("data") ? &j["data"] : &j;
    if (list->is_object() && list->contains("content")) list = &(*list)["content"];  // paged answers
    if (!list->is_array()) return fail(std::string("device list has no array of devices"));
    std::vector<DeviceRecord> out;
    for (const auto& d : *list) {
        if (!d.is_object()) continue;
        DeviceRecord r;
        r.sn = text_of(d, "sn");
        r.sub_sn = text_of(d, "subSn");
        r.model = text_of(d, "model");
        r.name = text_of(d, "name");
        r.protocol_version = text_of(d, "protocolVer");
        if (r.protocol_version.empty()) r.protocol_version = text_of(d, "factoryProtocolVer");
        r.iot_server = text_of(d, "iotSrvIp");
        r.conn_secret = text_of(d, "iotConnSecret");
        r.session_state = text_of(d, "sessionState");
        const std::string packs = text_of(d, "packNum");
        r.pack_count = packs.empty() ? 0 : std::atoi(packs.c_str());
        if (r.sn.empty()) continue;
        if (!serial_is_safe(r.sn)) {
            if (refused) refused->push_back(text::echo(r.sn));
            continue;
        }
        out.push_back(std::move(r));
    }
    return out;
}

AccountSession::~AccountSession() {
    secure_clear(token);
    secure_clear(certificate_password);
    secure_clear(pkcs12);
}

AccountClient::AccountClient(HttpClient& http, AccountOptions options) : http_(http), options_(std::move(options)) {
    remove_legacy_secrets();
    load_device_id();
}

AccountClient::~AccountClient() {
    secure_clear(options_.password);
}

HttpRequest AccountClient::request(const std::string& method, const std::string& path, const std::string& gateway) const {
    HttpRequest r;
    r.method = method;
    r.url = gateway + path;
    r.ca_file = options_.ca_file;
    r.insecure = options_.insecure;
    r.headers = {{"x-app-key", options_.app.app_key},       {"x-os", options_.app.os},   {"x-app-ver", options_.app.app_version},
                 {"x-os-ver", options_.app.os_version_hex}, {"x-device-id", device_id_}, {"Accept-Language", "en-US"}};
    if (!session_.token.empty()) r.headers.emplace_back("Authorization", session_.token);
    return r;
}

void AccountClient::call(HttpRequest req, std::function<void(Result<HttpResponse, AccountError>)> next) {
    const std::string path = req.url;
    http_.send(req, [next = std::move(next), path](Result<HttpResponse, std::string> r) {
        if (!r) return next(fail(AccountError{AccountErrc::network, path + ": " + r.error()}));
        if (r->status == 401) return next(fail(AccountError{AccountErrc::rejected, path + ": HTTP 401 (token expired or refused)"}));
        if (r->status >= 500) return next(fail(AccountError{AccountErrc::network, path + ": HTTP " + std::to_string(r->status)}));
        next(std::move(*r));
    });
    secure_clear(req.body);
}

void AccountClient::open_session(Callback done) {
    login(std::move(done));
}

void AccountClient::refresh(Callback done, bool drop_certificate) {
    if (drop_certificate) have_certificate_ = false;
    login(std::move(done));
}

void AccountClient::login(Callback done) {
    secure_clear(session_.token);
    HttpRequest r = request("POST", "/accessToken", options_.api);
    r.content_type = "application/x-www-form-urlencoded";
    r.body = form_encode({{"username", options_.email},
                          {"password", login_password_hash(options_.password)},
                          {"passOpen", login_pass_open(options_.password)},
                          {"encryptedpwd", ""},
                          {"authType", ""},
                          {"phoneCountry", ""},
                          {"verifyCode", ""},
                          {"country", ""}});
    log::get("cloud")->info("logging in to {} as {}", options_.api, options_.email);
    call(std::move(r), [this, done = std::move(done)](Result<HttpResponse, AccountError> res) mutable {
        if (!res) return done(fail(res.error()));
        json j = json::parse(res->body, nullptr, false);
        secure_clear(res->body);  // holds the token
        if (j.is_discarded()) return done(fail(AccountError{AccountErrc::protocol, "login answer is not JSON"}));
        if (auto error = api_error(j)) {
            if (means_bad_credentials(error->first, error->second)) {
                return done(
                    fail(AccountError{AccountErrc::bad_credentials, "login refused for " + options_.email + ": " + error->second +
                                                                        " (code " + error->first + "); check the e-mail and password"}));
            }
            return done(fail(AccountError{AccountErrc::rejected, "login refused: " + error->second + " (code " + error->first + ")"}));
        }
        json& data = j.contains("data") ? j["data"] : j;
        session_.token = text_of(data, "token");
        if (token_part(session_.token, 1).empty())
            return done(fail(AccountError{AccountErrc::protocol, "login answer has no usable token"}));
        const std::string ttl = text_of(data, "ttl");
        session_.token_expires = unix_now() + (ttl.empty() ? 2678400 : std::atoll(ttl.c_str()));
        if (auto* text = data.contains("token") ? data["token"].get_ptr<std::string*>() : nullptr) secure_clear(*text);
        fetch_uid(std::move(done));
    });
}

void AccountClient::fetch_uid(Callback done) {
    call(request("GET", "/api/bluuc/uc/v1/basic/get", options_.api), [this, done = std::move(done)](auto res) mutable {
        if (!res) return done(fail(res.error()));
        const json j = json::parse(res->body, nullptr, false);
        if (j.is_discarded() || api_error(j) || !j.contains("data")) {
            return done(fail(AccountError{AccountErrc::protocol, "user id answer not understood"}));
        }
        session_.uid = text_of(j["data"], "uid");
        if (session_.uid.empty()) return done(fail(AccountError{AccountErrc::protocol, "user id answer has no uid"}));
        fetch_devices(std::move(done));
    });
}

void AccountClient::fetch_devices(Callback done) {
    call(request("GET", "/api/blusmartprod/device/group/v1/homeDevices", options_.api), [this, done = std::move(done)](auto res) mutable {
        if (!res) return done(fail(res.error()));
        std::vector<std::string> refused;
        auto devices = parse_device_list(res->body, &refused);
        if (!devices) return done(fail(AccountError{AccountErrc::protocol, devices.error()}));
        for (const auto& serial : refused)
            log::get("cloud")->warn("device '{}' left out: its serial cannot be an MQTT topic level (letters, digits, '-' and '_')",
                                    serial);
        session_.devices = std::move(*devices);
        log::get("cloud")->info("the account has {} device(s)", session_.devices.size());
        fetch_time(std::move(done));
    });
}

void AccountClient::fetch_time(Callback done) {
    const auto asked = unix_now_ms();
    call(request("GET", std::string(kUtcTimeUrl), options_.api), [this, asked, done = std::move(done)](auto res) mutable {
        if (!res) return done(fail(res.error()));
        const json j = json::parse(res->body, nullptr, false);
        const std::string text = j.is_discarded() ? std::string() : text_of(j, "data");
        const long long server_ms = std::atoll(text.c_str());
        if (server_ms <= 0) return done(fail(AccountError{AccountErrc::protocol, "server time answer not understood"}));
        const auto now = unix_now_ms();
        session_.server_offset_ms = server_ms - (asked + now) / 2;
        session_.iot_server_header = res->header("x-iot-server");
        // A token renewal keeps the certificate the caller already has (only this process ever had it).
        if (have_certificate_) return done(session_);
        auto password =
            certificate_password(res->header("x-signature"), static_cast<std::uint64_t>(server_ms), session_.token, options_.app);
        if (!password) return done(fail(AccountError{AccountErrc::protocol, password.error()}));
        session_.certificate_password = std::move(*password);
        fetch_certificate(std::move(done), false);
    });
}

void AccountClient::fetch_certificate(Callback done, bool alternate) {
    const std::string gateway = alternate ? std::string(kAlternateGateway) : options_.api;
    HttpRequest r = request("POST", std::string(kPfxUrl), gateway);
    const std::uint64_t now = session_.server_now_ms();
    const std::string totp = bluetti_totp(session_.uid, device_id_, now);
    r.headers.emplace_back("x-app-resource",
                           pfx_app_resource(session_.certificate_password, session_.uid, device_id_, now, session_.token, options_.app));
    r.headers.emplace_back("url", std::string(kPfxUrl));
    char hex[24];
    std::snprintf(hex, sizeof hex, "%llx", std::stoull(totp));
    r.headers.emplace_back("currentutctime", hex);
    call(std::move(r), [this, alternate, done = std::move(done)](auto res) mutable {
        const bool json_error = res && !res->body.empty() && res->body.front() == '{';
        if (res && !json_error && !res->body.empty()) {
            // Handed over in memory only, and not kept here: the caller builds its TLS context from it.
            AccountSession delivered = session_;
            delivered.pkcs12.assign(res->body.begin(), res->body.end());
            secure_clear(res->body);
            secure_clear(session_.certificate_password);
            have_certificate_ = true;
            log::get("cloud")->info("downloaded the account certificate ({} bytes, kept in memory only)", delivered.pkcs12.size());
            return done(std::move(delivered));
        }
        // Only the default gateway has an alternate (a configured `api` is the only host).
        if (!alternate && options_.api == kDefaultGateway) return fetch_certificate(std::move(done), true);
        if (!res) return done(fail(res.error()));
        return done(fail(AccountError{AccountErrc::rejected, "certificate download refused: " + res->body.substr(0, 200)}));
    });
}

void AccountClient::remove_legacy_secrets() const {
    if (options_.state_dir.empty()) return;
    std::vector<std::string> removed;
    for (const char* name : kLegacySecretFiles) {
        const auto path = options_.state_dir / name;
        if (::unlink(path.c_str()) == 0)
            removed.push_back(name);
        else if (errno != ENOENT)
            log::get("cloud")->error("cannot remove {} (it may hold secrets of an earlier version): {}", path.string(),
                                     std::strerror(errno));
    }
    if (removed.empty()) return;
    std::string names;
    for (const auto& n : removed) names += (names.empty() ? "" : ", ") + n;
    log::get("cloud")->warn(
        "removed {} from {}: earlier versions cached the token and the certificate there; they are now kept in memory only", names,
        options_.state_dir.string());
}

void AccountClient::load_device_id() {
    if (!options_.state_dir.empty()) {
        if (auto id = util::read_bounded_file((options_.state_dir / "device-id").string(), util::kMaxSecretFileBytes)) device_id_ = *id;
    }
    if (device_id_.empty()) {
        // Stable per installation: it is an input of the PKCS#12 TOTP (docs/protocol.md §1.2).
        std::random_device random;
        std::string seed;
        for (int i = 0; i < 4; ++i) seed += std::to_string(random());
        device_id_ = md5_hex_upper(seed);
        for (char& c : device_id_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!options_.state_dir.empty()) {
            auto saved = util::make_state_dir(options_.state_dir);
            if (saved) saved = util::write_state_file(options_.state_dir / "device-id", device_id_);
            if (!saved) log::get("cloud")->warn("device id not saved (a new one next start): {}", saved.error());
        }
    }
}

}  // namespace bluetti::cloud
