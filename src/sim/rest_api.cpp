#include "sim/rest_api.hpp"

#include <algorithm>
#include <cctype>

#include "bluetti/cloud/auth.hpp"

namespace bluetti::sim {

namespace {

using nlohmann::json;

constexpr std::string_view kLogin = "/accessToken";
constexpr std::string_view kBasicGet = "/api/bluuc/uc/v1/basic/get";
constexpr std::string_view kHomeDevices = "/api/blusmartprod/device/group/v1/homeDevices";
constexpr std::uint64_t kTotpStepMs = 30'000;

RestResponse json_response(int status, const json& body) {
    RestResponse r;
    r.status = status;
    r.body = body.dump();
    return r;
}

RestResponse error(int status, long long code, const std::string& msg) {
    return json_response(status, json{{"code", code}, {"msg", msg}});
}

const std::string* header(const RestRequest& request, const std::string& name) {
    auto it = request.headers.find(name);
    return it == request.headers.end() ? nullptr : &it->second;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

cloud::AppIdentity app_of(const RestRequest& request) {
    cloud::AppIdentity app;
    app.app_key = *header(request, "x-app-key");
    app.app_version = *header(request, "x-app-ver");
    app.os = *header(request, "x-os");
    return app;
}

}  // namespace

json home_device_record(const DeviceIdentity& device, const std::optional<std::string>& iot_server) {
    return json{{"sn", device.sn},          {"subSn", device.sub_sn},       {"model", device.model_code},
                {"name", device.sn},        {"factoryProtocolVer", "2015"}, {"iotSrvIp", iot_server ? json(*iot_server) : json(nullptr)},
                {"iotConnSecret", nullptr}, {"sessionState", "Online"},     {"packNum", device.packs}};
}

RestApi::RestApi(RestConfig config, std::function<std::uint64_t()> now_ms, std::uint64_t seed)
    : config_(std::move(config)), now_ms_(std::move(now_ms)), rng_(mix64(seed ^ 0x5245535441504931ull)) {}

std::string RestApi::random_text(std::size_t length) {
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out(length, 'A');
    for (char& c : out) c = kAlphabet[rng_.next() % kAlphabet.size()];
    return out;
}

bool RestApi::token_valid(const std::string& token) {
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(token);
    return it != tokens_.end() && now_ms_() < it->second;
}

RestResponse RestApi::handle(const RestRequest& request) {
    for (const char* name : {"x-app-key", "x-os", "x-app-ver"}) {
        if (!header(request, name)) return error(400, 400, std::string("missing header ") + name);
    }
    if (request.path == kLogin) return request.method == "POST" ? login(request) : error(405, 405, "method not allowed");

    const std::string* token = header(request, "authorization");
    if (!token || !token_valid(*token)) return error(401, 401, "token expired");

    if (request.method == "GET" && request.path == kBasicGet)
        return json_response(200, json{{"code", 0}, {"msg", "ok"}, {"data", {{"uid", config_.uid}}}});
    if (request.method == "GET" && request.path == kHomeDevices) {
        json records = json::array();
        for (const DeviceIdentity& d : config_.devices) records.push_back(home_device_record(d, config_.iot_server));
        return json_response(200, json{{"code", 0}, {"msg", "ok"}, {"data", records}});
    }
    if (request.method == "GET" && request.path == cloud::kUtcTimeUrl) return server_time(request, *token);
    if (request.method == "POST" && request.path == cloud::kPfxUrl) return pfx(request, *token);
    return error(404, 404, "not found");
}

RestResponse RestApi::login(const RestRequest& request) {
    auto field = [&](const char* name) -> const std::string* {
        auto it = request.form.find(name);
        return it == request.form.end() ? nullptr : &it->second;
    };
    const std::string* username = field("username");
    const std::string* password = field("password");
    const std::string* pass_open = field("passOpen");
    const bool ok = username && password && *username == config_.account.email &&
                    *password == cloud::login_password_hash(config_.account.password) &&
                    (!pass_open || lower(*pass_open) == cloud::login_pass_open(config_.account.password));
    if (!ok) return error(200, 20003015, "username or password incorrect");

    std::lock_guard lock(mutex_);
    const std::string token = "eyJ" + random_text(17) + "." + random_text(24) + "." + random_text(43);
    tokens_[token] = now_ms_() + static_cast<std::uint64_t>(config_.token_ttl_s) * 1000;
    return json_response(
        200, json{{"code", 0}, {"msg", "ok"}, {"data", {{"token", token}, {"refresh", random_text(48)}, {"ttl", config_.token_ttl_s}}}});
}

RestResponse RestApi::server_time(const RestRequest& request, const std::string& token) {
    const std::uint64_t now = now_ms_();
    RestResponse r = json_response(200, json{{"code", 0}, {"msg", "ok"}, {"data", now}});
    r.headers.emplace_back("X-Signature", cloud::make_x_signature(config_.pfx_password, now, token, app_of(request)));
    return r;
}

RestResponse RestApi::pfx(const RestRequest& request, const std::string& token) {
    const std::string* resource = header(request, "x-app-resource");
    const std::string* device_id = header(request, "x-device-id");
    if (resource && device_id) {
        const std::uint64_t now = now_ms_();
        const cloud::AppIdentity app = app_of(request);
        const std::string given = lower(*resource);
        // The client's TOTP step may be one either side of ours (clock offset, a step boundary).
        for (const std::uint64_t t : {now, now - kTotpStepMs, now + kTotpStepMs}) {
            if (given == cloud::pfx_app_resource(config_.pfx_password, config_.uid, *device_id, t, token, app)) {
                RestResponse r;
                r.body = config_.pfx;
                r.content_type = "application/octet-stream";
                return r;
            }
        }
    }
    return error(200, 40003, "invalid resource");
}

}  // namespace bluetti::sim
