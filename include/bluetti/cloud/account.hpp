// The Bluetti account over REST (docs/protocol.md §1): log in, list devices, read the server time and
// the certificate password, download the PKCS#12. Asynchronous on the EventLoop (HttpClient), never
// blocking. Bad credentials are final (no retry storm); network errors are for the caller to back
// off from. The token, the PKCS#12 and its password live in memory only (every start logs in
// again); the state directory holds only the device id (0600), an input of the certificate
// download. Passwords and tokens are never logged, and wiped from memory when freed.
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
    Bytes pkcs12;  // only in the session that delivered it; empty after a token renewal

    AccountSession() = default;
    AccountSession(const AccountSession&) = default;
    AccountSession(AccountSession&&) = default;
    AccountSession& operator=(const AccountSession&) = default;
    AccountSession& operator=(AccountSession&&) = default;
    ~AccountSession();  // wipes the token, the PKCS#12 and its password

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
    std::filesystem::path state_dir;  // where the device id is kept; empty = a new one per process
};

class AccountClient {
public:
    using Callback = std::function<void(Result<AccountSession, AccountError>)>;

    AccountClient(HttpClient& http, AccountOptions options);
    ~AccountClient();
    AccountClient(const AccountClient&) = delete;
    AccountClient& operator=(const AccountClient&) = delete;

    // The whole flow: login, user id, devices, server time, certificate download.
    void open_session(Callback done);
    // Log in again (token expiring, certificate refused). Without drop_certificate the session comes
    // back without a PKCS#12 (the caller keeps the one it has); with it a new one is downloaded.
    void refresh(Callback done, bool drop_certificate);

    const std::string& device_id() const { return device_id_; }

private:
    HttpClient& http_;
    AccountOptions options_;
    std::string device_id_;
    AccountSession session_;
    bool have_certificate_ = false;  // delivered once; a renewal does not download it again

    void login(Callback done);
    void fetch_uid(Callback done);
    void fetch_devices(Callback done);
    void fetch_time(Callback done);
    void fetch_certificate(Callback done, bool alternate);
    void call(HttpRequest request, std::function<void(Result<HttpResponse, AccountError>)> next);
    HttpRequest request(const std::string& method, const std::string& path, const std::string& gateway) const;
    void remove_legacy_secrets() const;  // account.json, certificate.p12 of earlier versions
    void load_device_id();
};

// Parses the device list JSON body of homeDevices (exposed for tests). A device whose serial could
// not be one MQTT topic level and one unique_id part (see serial_is_safe) is left out, and its
// serial is listed, escaped, in `refused` for the caller's log.
Result<std::vector<DeviceRecord>, std::string> parse_device_list(const std::string& body, std::vector<std::string>* refused = nullptr);

// A serial becomes a topic level (`<base>/<serial>/…`) and part of every unique_id: 1–64 letters,
// digits, '-' or '_', as for a configured serial. Anything else ('/', '+', '#', spaces, control characters) would change
// topics or IDs, so such a device is never bridged.
bool serial_is_safe(std::string_view serial);

}  // namespace bluetti::cloud
