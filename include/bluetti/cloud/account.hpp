// The Bluetti account over REST (protocol.md §1): log in, list devices, read the server time and
// the certificate password, download the PKCS#12. Asynchronous on the EventLoop (HttpClient), never
// blocking. Bad credentials are final (no retry storm); network errors are for the caller to back
// off from. Token, device id and PKCS#12 are cached in a state directory (mode 0600) and reused
// across restarts until they expire. Passwords and tokens are never logged.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bluetti/cloud/auth.hpp"
#include "bluetti/cloud/http_client.hpp"
#include "bluetti/hex.hpp"
#include "bluetti/result.hpp"

namespace bluetti::cloud {

inline constexpr std::string_view kDefaultGateway = "https://gw.bluettipower.com";
inline constexpr std::string_view kAlternateGateway = "https://gwpry.bluettipower.com";

struct DeviceRecord {
    std::string sn;
    std::string sub_sn;
    std::string model;
    std::string name;
    std::string protocol_version;  // protocolVer, else factoryProtocolVer
    std::string iot_server;        // iotSrvIp, "host[:port]" or empty
    std::string conn_secret;       // iotConnSecret or empty
    std::string session_state;
    int pack_count = 0;
};

struct AccountSession {
    std::string token;
    std::int64_t token_expires = 0;  // unix seconds
    std::string uid;
    std::vector<DeviceRecord> devices;
    std::int64_t server_offset_ms = 0;  // server clock - local clock
    std::string iot_server_header;      // x-iot-server of the utc-time answer
    std::string certificate_password;
    Bytes pkcs12;

    std::uint64_t server_now_ms() const;
};

enum class AccountErrc { bad_credentials, network, rejected, protocol };
std::string_view to_string(AccountErrc code);

struct AccountError {
    AccountErrc code;
    std::string message;
};

struct AccountOptions {
    std::string api{kDefaultGateway};
    std::string email;
    std::string password;  // plaintext; only its hash and passOpen leave the process
    std::string ca_file;
    bool insecure = false;
    AppIdentity app;
    std::filesystem::path state_dir;  // empty = no cache
};

class AccountClient {
public:
    using Callback = std::function<void(Result<AccountSession, AccountError>)>;

    AccountClient(HttpClient& http, AccountOptions options);

    // The whole flow; a cached token or PKCS#12 that is still valid is reused.
    void open_session(Callback done);
    // Log in again (token expired, TLS authentication failed): drops the cache first.
    void refresh(Callback done, bool drop_certificate);

    const std::string& device_id() const { return device_id_; }

private:
    HttpClient& http_;
    AccountOptions options_;
    std::string device_id_;
    AccountSession session_;

    void login(Callback done);
    void fetch_uid(Callback done);
    void fetch_devices(Callback done);
    void fetch_time(Callback done);
    void fetch_certificate(Callback done, bool alternate);
    void call(HttpRequest request, std::function<void(Result<HttpResponse, AccountError>)> next);
    HttpRequest request(const std::string& method, const std::string& path, const std::string& gateway) const;
    void load_cache();
    void save_cache() const;
};

// Parses the device list JSON body of homeDevices (exposed for tests).
Result<std::vector<DeviceRecord>, std::string> parse_device_list(const std::string& body);

}  // namespace bluetti::cloud
