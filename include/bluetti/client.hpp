// bluetti::Client — the C++ SDK for one power station through the Bluetti cloud, the seed's
// V2Client/AsyncV2Client in one class:
//
//   bluetti::ClientOptions o;                       // account mode: e-mail + password
//   o.email = "me@example.com"; o.password = "…"; o.serial = "AP3002616113487436";
//   bluetti::Client client(o);                      // owns its event loop: synchronous calls
//   if (auto c = client.connect(); !c) { … c.error() … }
//   auto grid = client.read_block(1300);            // decoded block or a typed error
//
// With `Client(loop, options)` the same calls take callbacks and run on the caller's EventLoop.
// Certificate mode (no REST): pkcs12 + pkcs12_password + mqtt_username/mqtt_password + model +
// sub_sn. Writes are limited to the device's enabled controls (profile/controls.hpp), which are
// limited to the whitelist of docs/protocol.md §8 (codec/write_whitelist.hpp).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bluetti/cloud/account.hpp"
#include "bluetti/cloud/cloud_link.hpp"
#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/profile/controls.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/result.hpp"
#include "bluetti/schema/registry.hpp"

namespace bluetti {

struct ClientOptions {
    // Account mode.
    std::string email;
    std::string password;
    std::string api{cloud::kDefaultGateway};
    std::filesystem::path state_dir;  // where the device id is kept; empty = a new one per process
    // Certificate mode (used when `pkcs12` is set): no REST call at all.
    Bytes pkcs12;
    std::string pkcs12_password;
    std::string mqtt_username;
    std::string mqtt_password;

    // The device: its serial (device record `sn`, or `subSn`), and in certificate mode its
    // profile `model` and `sub_sn`. `cloud_model` overrides the topic model code.
    std::string serial;
    std::string model;
    std::string sub_sn;
    std::string cloud_model;
    std::optional<std::uint8_t> slave;

    // Broker and TLS. broker "host:port"; empty = the device record's iotSrvIp, the x-iot-server
    // header, then iot.bluettipower.com:18760.
    std::string broker;
    std::string ca_file;
    bool tls_insecure = false;
    int tls_security_level = 0;
    std::string request_topic = "SUB/{model}/{sub_sn}";
    std::string response_topic = "PUB/{model}/{sub_sn}";
    std::string client_id;

    cloud::RetryPolicy retry;
    std::chrono::milliseconds request_timeout{5000};
    std::chrono::milliseconds connect_timeout{60000};
    std::chrono::milliseconds reconnect_initial{45000};
    std::vector<std::filesystem::path> schema_dirs;
    // Profile directories loaded after the built-in profiles (profile::ProfileSet::load_directory).
    std::vector<std::filesystem::path> profile_dirs;
    // The control keys this client may write; unset = the profile's list, empty = none.
    std::optional<std::vector<std::string>> controls;
};

class Client {
public:
    template <class T>
    using Callback = std::function<void(Result<T, std::string>)>;
    using BlockCallback = cloud::DeviceChannel::Callback<cloud::BlockData>;

    explicit Client(ClientOptions options);          // synchronous use: owns its EventLoop
    Client(EventLoop& loop, ClientOptions options);  // asynchronous use on the caller's loop
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Asynchronous API. `pack` numbers battery packs as the daemon does: 1 is the station itself,
    // 2… its expansion packs as NODE_INFO lists them (asked once, on the first read that needs
    // them); a pack the station does not have is a bad_request error. read_group() reads a
    // per-pack group once for every pack.
    void connect(Callback<Ok> done);
    void read_block(std::uint16_t block, BlockCallback done, std::uint16_t registers = 0, int pack = 1);
    void read_group(const std::string& group, std::function<void(Result<std::vector<cloud::BlockData>, cloud::ChannelError>)> done);
    void write_register(std::uint16_t reg, std::uint16_t value, cloud::DeviceChannel::Callback<cloud::WriteConfirmation> done);

    // Synchronous API (only with the Client's own loop): runs the loop until done.
    Result<Ok, std::string> connect();
    Result<cloud::BlockData, cloud::ChannelError> read_block(std::uint16_t block, std::uint16_t registers = 0, int pack = 1);
    Result<std::vector<cloud::BlockData>, cloud::ChannelError> read_group(const std::string& group);
    Result<cloud::WriteConfirmation, cloud::ChannelError> write_register(std::uint16_t reg, std::uint16_t value);

    // Adds or replaces a block schema for this client (a block the built-in set lacks).
    std::optional<std::string> register_schema(schema::BlockSchema schema);
    // Unsolicited blocks the device pushes.
    void on_push(std::function<void(const cloud::BlockData&)> handler);
    void disconnect();

    const profile::Profile& profile() const;
    const cloud::DeviceRecord& device() const;
    const schema::SchemaRegistry& schemas() const;
    const std::vector<profile::Control>& controls() const;  // after connect()
    const cloud::ChannelStats& stats() const;
    const cloud::CloudLink::Status& link_status() const;
    const std::optional<cloud::AccountSession>& account() const;
    EventLoop& loop();

    struct State;

private:
    std::unique_ptr<State> state_;
};

}  // namespace bluetti
