// Connection: everything between a Bluetti account and its power stations' DeviceChannels, for
// every user of the cloud (the daemon, the SDK's Client, bluetti-cli). It owns the account session
// (login, token renewal an hour before the token runs out, a new certificate when the broker
// refuses the old one), the TLS context, the one CloudLink of the account, and one DeviceChannel
// per device. The link hands each payload straight to its device's channel, so a reply goes loop →
// MQTT session → link → channel → whoever asked, with no hop through the application.
//
// Two modes. Account mode (options.account.email set): the REST API gives the token, the device
// list, the broker and the PKCS#12. Certificate mode: the caller's PKCS#12 and MQTT login, no REST
// call at all. Failures of the account (network, server) are retried with the project's backoff
// when `retry_login` is set (the daemon), or reported (the SDK, which has a caller to tell).
// Refused credentials are final either way: trying again would only lock the account.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bluetti/backoff.hpp"
#include "bluetti/cloud/account.hpp"
#include "bluetti/cloud/cloud_link.hpp"
#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/cloud/device_locator.hpp"
#include "bluetti/cloud/tls.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/host_port.hpp"
#include "bluetti/result.hpp"
#include "bluetti/schema/registry.hpp"

namespace bluetti::cloud {

inline constexpr std::string_view kDefaultBroker = "iot.bluettipower.com:18760";
inline constexpr int kDefaultBrokerPort = 18760;

struct ConnectionOptions {
    // Account mode when account.email is set; account.ca_file and account.insecure are taken from
    // ca_file and tls_insecure below.
    AccountOptions account;
    // Certificate mode: the user's bundle and MQTT login.
    Bytes pkcs12;
    std::string pkcs12_password;
    std::string mqtt_username;
    std::string mqtt_password;

    // "host[:port]"; empty = the first device record's iotSrvIp, the x-iot-server header, then
    // kDefaultBroker.
    std::string broker;
    std::string ca_file;
    bool tls_insecure = false;
    int tls_security_level = 0;
    std::string client_id;  // empty = random per process
    std::chrono::milliseconds reconnect_initial{45000};
    std::string request_topic = "SUB/{model}/{sub_sn}";
    std::string response_topic = "PUB/{model}/{sub_sn}";
    bool retry_login = true;
};

enum class ConnectionErrc {
    bad_credentials,  // the account refused the e-mail or password: final
    account,          // the REST API failed (network, server, protocol)
    certificate,      // the PKCS#12 is unusable
    broker,           // the broker address is no host:port
};
std::string_view to_string(ConnectionErrc code);

struct ConnectionError {
    ConnectionErrc code;
    std::string message;
};

// A device added to the Connection: its channel, and the locator that says where on it the device
// answers and where its battery packs are. Both live until remove_device() or the Connection's end.
struct DeviceHandle {
    DeviceChannel* channel = nullptr;
    DeviceLocator* locator = nullptr;
};

class Connection {
public:
    using ReadyCallback = std::function<void(Result<Ok, ConnectionError>)>;

    Connection(EventLoop& loop, ConnectionOptions options);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Logs in (account mode) and makes the TLS context. `ready` runs once: when devices can be
    // added, or with the error that stops it (a retried failure does not call it).
    void open(ReadyCallback ready);
    bool account_mode() const { return !options_.account.email.empty(); }
    // The account's devices (empty in certificate mode or before open() succeeded).
    const std::vector<DeviceRecord>& account_devices() const;
    const std::optional<AccountSession>& account() const { return session_; }

    // One device on the link: topics from the patterns with `topic_model`, its channel and its
    // locator (put at the first place `where` names). Its payloads reach the channel directly.
    Result<DeviceHandle, std::string> add_device(const DeviceRecord& device, const std::string& topic_model,
                                                 const schema::SchemaRegistry& schemas, ChannelOptions channel_options,
                                                 LocatorOptions where);
    void remove_device(const std::string& serial);
    // The device's response topic (for the log).
    std::string response_topic(const std::string& serial) const;
    bool device_ready(const std::string& serial) const { return link_ && link_->device_ready(serial); }

    // The link, once open() succeeded; devices added later are subscribed at once.
    void start();
    void stop();
    bool up() const { return link_ && link_->status().state == CloudLink::State::up; }
    const CloudLink::Status& link_status() const { return link_ ? link_->status() : idle_status_; }
    void on_link_status(std::function<void(const CloudLink::Status&)> handler) { link_status_handler_ = std::move(handler); }
    // What the account side is doing, for systemd's STATUS= ("logging in", "account unreachable, retrying", …).
    void on_status_text(std::function<void(const std::string&)> handler) { status_text_handler_ = std::move(handler); }

private:
    struct Device {
        DeviceRecord record;
        std::string request_topic;
        std::string response_topic;
        // Declared before the channel, so it outlives it: requests queued on the channel may hold
        // the locator's callbacks.
        std::unique_ptr<DeviceLocator> locator;
        std::unique_ptr<DeviceChannel> channel;
    };

    EventLoop& loop_;
    ConnectionOptions options_;
    std::unique_ptr<HttpClient> http_;
    std::unique_ptr<AccountClient> account_client_;
    std::optional<AccountSession> session_;
    std::unique_ptr<TlsContext> tls_;
    TlsOptions tls_options_;
    HostPort broker_;
    std::unique_ptr<CloudLink> link_;
    std::map<std::string, Device> devices_;
    ReadyCallback ready_;
    Backoff login_backoff_{std::chrono::seconds(30), std::chrono::minutes(10)};
    Backoff token_backoff_{std::chrono::seconds(30), std::chrono::minutes(10)};
    Backoff certificate_backoff_{std::chrono::minutes(1), std::chrono::hours(1)};
    EventLoop::TimerId account_timer_ = 0;
    bool renewal_in_flight_ = false;
    std::chrono::steady_clock::time_point next_renewal_allowed_{};
    CloudLink::Status idle_status_;
    std::function<void(const CloudLink::Status&)> link_status_handler_;
    std::function<void(const std::string&)> status_text_handler_;

    void open_account();
    void account_opened(AccountSession session);
    void open_certificate();
    Result<Ok, ConnectionError> make_tls(ByteSpan pkcs12, const std::string& password);
    void finish_open(Result<Ok, ConnectionError> result);
    void schedule_token_refresh();
    void refresh_token();
    void renew_certificate();
    void status_text(const std::string& text);
    void attach(const std::string& serial, Device& device);
    Result<LinkCredentials, std::string> credentials() const;
};

}  // namespace bluetti::cloud
