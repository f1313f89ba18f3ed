// The REST stand-in as pure request → response logic (no HTTPS): login, the token check, the
// device list, the server time whose X-Signature hides the certificate password, and the PKCS#12
// download guarded by x-app-resource — all checked with the bridge's own auth functions.
#include <nlohmann/json.hpp>

#include "bluetti/cloud/auth.hpp"
#include "sim/rest_api.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::sim;
using nlohmann::json;

namespace {

constexpr std::uint64_t kStart = 1767225600123;  // [A2]'s server time
const cloud::AppIdentity kApp;
const std::string kDeviceId = "b5d8cd7ae3e8f6d56b7bb1686bc7705e";

struct Fixture {
    std::uint64_t now = kStart;
    RestApi api;

    Fixture()
        : api(
              config(), [this] { return now; }, 42) {}

    static RestConfig config() {
        RestConfig c;
        c.account = {"me@example.com", "correct horse"};
        c.pfx = std::string("\x30\x82\x01\x02PKCS12", 10);
        c.pfx_password = "Pfx-Pass-1234";
        c.token_ttl_s = 3600;
        c.devices.push_back(DeviceIdentity{"AP300", "AP3002616113487436", "2616113487436", "AP300", 2, {}});
        c.devices.push_back(DeviceIdentity{"EL30V2", "EL30V2ABC", "1234567890123", "EL30V2", 1, {}});
        return c;
    }

    RestRequest request(std::string method, std::string path, const std::string& token = {}) const {
        RestRequest r;
        r.method = std::move(method);
        r.path = std::move(path);
        r.headers = {{"x-app-key", kApp.app_key}, {"x-app-ver", kApp.app_version}, {"x-os", kApp.os}, {"x-device-id", kDeviceId}};
        if (!token.empty()) r.headers["authorization"] = token;
        return r;
    }

    RestResponse login(const std::string& password, bool with_pass_open = true) {
        RestRequest r = request("POST", "/accessToken");
        r.form = {{"username", "me@example.com"}, {"password", cloud::login_password_hash(password)}};
        if (with_pass_open) r.form["passOpen"] = cloud::login_pass_open(password);
        return api.handle(r);
    }

    std::string token() {
        const RestResponse r = login("correct horse");
        REQUIRE(r.status == 200);
        return json::parse(r.body)["data"]["token"].get<std::string>();
    }
};

}  // namespace

TEST_CASE("login: the right account gets a token, anything else code 20003015") {
    Fixture f;
    const RestResponse ok = f.login("correct horse");
    CHECK(ok.status == 200);
    const json body = json::parse(ok.body);
    CHECK(body["code"] == 0);
    const std::string token = body["data"]["token"];
    CHECK(std::count(token.begin(), token.end(), '.') == 2);
    CHECK_FALSE(cloud::token_part(token, 0).empty());
    CHECK_FALSE(cloud::token_part(token, 1).empty());
    CHECK(body["data"]["ttl"] == 3600);
    CHECK(body["data"]["refresh"].is_string());
    CHECK(f.login("correct horse", false).status == 200);  // passOpen is optional

    const RestResponse bad = f.login("wrong horse");
    CHECK(bad.status == 200);
    CHECK(json::parse(bad.body)["code"] == 20003015);
    CHECK(json::parse(bad.body)["msg"] == "username or password incorrect");

    RestRequest wrong_pass_open = f.request("POST", "/accessToken");
    wrong_pass_open.form = {{"username", "me@example.com"},
                            {"password", cloud::login_password_hash("correct horse")},
                            {"passOpen", cloud::login_pass_open("other")}};
    CHECK(json::parse(f.api.handle(wrong_pass_open).body)["code"] == 20003015);
    RestRequest wrong_user = f.request("POST", "/accessToken");
    wrong_user.form = {{"username", "you@example.com"}, {"password", cloud::login_password_hash("correct horse")}};
    CHECK(json::parse(f.api.handle(wrong_user).body)["code"] == 20003015);
}

TEST_CASE("every other endpoint wants a live token and the common headers") {
    Fixture f;
    const std::string token = f.token();
    CHECK(f.api.handle(f.request("GET", "/api/bluuc/uc/v1/basic/get")).status == 401);
    CHECK(f.api.handle(f.request("GET", "/api/bluuc/uc/v1/basic/get", "Bearer " + token)).status == 401);
    CHECK(f.api.handle(f.request("GET", "/api/bluuc/uc/v1/basic/get", token + "x")).status == 401);
    const RestResponse ok = f.api.handle(f.request("GET", "/api/bluuc/uc/v1/basic/get", token));
    CHECK(ok.status == 200);
    CHECK(json::parse(ok.body)["data"]["uid"] == "1234567890123456789");

    RestRequest no_key = f.request("GET", "/api/bluuc/uc/v1/basic/get", token);
    no_key.headers.erase("x-app-key");
    CHECK(f.api.handle(no_key).status == 400);
    CHECK(f.api.handle(f.request("GET", "/api/unknown", token)).status == 404);

    f.now += 3600 * 1000;  // the TTL has run out
    const RestResponse expired = f.api.handle(f.request("GET", "/api/bluuc/uc/v1/basic/get", token));
    CHECK(expired.status == 401);
    CHECK(json::parse(expired.body) == json{{"code", 401}, {"msg", "token expired"}});
}

TEST_CASE("homeDevices: one record per device") {
    Fixture f;
    const RestResponse r = f.api.handle(f.request("GET", "/api/blusmartprod/device/group/v1/homeDevices", f.token()));
    REQUIRE(r.status == 200);
    const json data = json::parse(r.body)["data"];
    REQUIRE(data.size() == 2);
    CHECK(data[0] == json{{"sn", "AP3002616113487436"},
                          {"subSn", "2616113487436"},
                          {"model", "AP300"},
                          {"name", "AP3002616113487436"},
                          {"factoryProtocolVer", "2015"},
                          {"iotSrvIp", nullptr},
                          {"iotConnSecret", nullptr},
                          {"sessionState", "Online"},
                          {"packNum", 2}});
    CHECK(data[1]["packNum"] == 1);
    CHECK(home_device_record(Fixture::config().devices[0], std::string("127.0.0.1:8883"))["iotSrvIp"] == "127.0.0.1:8883");
}

TEST_CASE("server time and X-Signature give the certificate password, the PKCS#12 needs x-app-resource") {
    Fixture f;
    const std::string token = f.token();
    const RestResponse time = f.api.handle(f.request("GET", std::string(cloud::kUtcTimeUrl), token));
    REQUIRE(time.status == 200);
    const std::uint64_t server_ms = json::parse(time.body)["data"];
    CHECK(server_ms == f.now);
    REQUIRE(time.headers.size() == 1);
    CHECK(time.headers[0].first == "X-Signature");
    auto password = cloud::certificate_password(time.headers[0].second, server_ms, token, kApp);
    REQUIRE(password.ok());
    CHECK(*password == "Pfx-Pass-1234");

    const auto fetch = [&](std::uint64_t client_ms) {
        RestRequest r = f.request("POST", std::string(cloud::kPfxUrl), token);
        r.headers["x-app-resource"] = cloud::pfx_app_resource(*password, "1234567890123456789", kDeviceId, client_ms, token, kApp);
        return f.api.handle(r);
    };
    const RestResponse pfx = fetch(f.now);
    CHECK(pfx.status == 200);
    CHECK(pfx.content_type == "application/octet-stream");
    CHECK(pfx.body == Fixture::config().pfx);
    CHECK(fetch(f.now - 30'000).body == Fixture::config().pfx);  // one TOTP step either side
    CHECK(fetch(f.now + 30'000).body == Fixture::config().pfx);

    const RestResponse stale = fetch(f.now - 120'000);
    CHECK(stale.body.front() == '{');
    CHECK(json::parse(stale.body) == json{{"code", 40003}, {"msg", "invalid resource"}});
    RestRequest no_resource = f.request("POST", std::string(cloud::kPfxUrl), token);
    CHECK(json::parse(f.api.handle(no_resource).body)["code"] == 40003);
}
