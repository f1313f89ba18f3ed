// The stand-in for the Bluetti REST API (docs/protocol.md §1.3–1.7): login, user id, device list,
// server time with X-Signature, and the PKCS#12 download guarded by x-app-resource. It uses the
// same algorithms as the bridge's account client (bluetti/cloud/auth.hpp), so the two sides can
// only agree when both follow the protocol.
//
// Pure request → response logic, no sockets (rest_server.hpp puts it behind HTTPS). handle() is
// thread-safe: the issued tokens and the token generator are guarded by one mutex, because the
// HTTP server calls it from its worker threads. Nothing else in the simulator touches this object.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/device_spec.hpp"
#include "sim/rng.hpp"

namespace bluetti::sim {

inline constexpr std::int64_t kDefaultTokenTtlSeconds = 2'678'400;  // 31 days, as [BHA] assumes
inline constexpr std::string_view kDefaultUid = "1234567890123456789";

struct RestConfig {
    Account account;                        // the one account that can log in
    std::string uid{kDefaultUid};           // data.uid of basic/get, input of the PFX TOTP
    std::string pfx;                        // the PKCS#12 bytes served by /cert/app/v1/pfx
    std::string pfx_password;               // hidden in X-Signature, checked via x-app-resource
    std::optional<std::string> iot_server;  // iotSrvIp of every device record (null when unset)
    std::int64_t token_ttl_s = kDefaultTokenTtlSeconds;
    std::vector<DeviceIdentity> devices;
};

struct RestRequest {
    std::string method;                          // GET, POST
    std::string path;                            // without the query
    std::map<std::string, std::string> headers;  // names in lower case
    std::map<std::string, std::string> form;     // application/x-www-form-urlencoded fields
};

struct RestResponse {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
};

// One device record of homeDevices (docs/protocol.md §1.4).
nlohmann::json home_device_record(const DeviceIdentity& device, const std::optional<std::string>& iot_server);

class RestApi {
public:
    // `now_ms`: the server's clock in Unix milliseconds (tests pass their own).
    RestApi(RestConfig config, std::function<std::uint64_t()> now_ms, std::uint64_t seed);

    RestResponse handle(const RestRequest& request);

private:
    RestConfig config_;
    std::function<std::uint64_t()> now_ms_;
    std::mutex mutex_;
    Rng rng_;                                      // guarded by mutex_
    std::map<std::string, std::uint64_t> tokens_;  // token → expiry (ms); guarded by mutex_

    RestResponse login(const RestRequest& request);
    RestResponse server_time(const RestRequest& request, const std::string& token);
    RestResponse pfx(const RestRequest& request, const std::string& token);
    bool token_valid(const std::string& token);
    std::string random_text(std::size_t length);
};

}  // namespace bluetti::sim
