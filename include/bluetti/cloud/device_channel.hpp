// DeviceChannel: the request/response discipline for one power station on the shared cloud session
// (protocol.md §4.6). One request in flight; an inbound frame answers it only when slave, function
// and address/length match; everything else is a push (decoded by its start address and delivered
// as free data) or a stray (counted, dropped). Timeouts are retried with the retry policy;
// exceptions are not retried, and exception 02 marks the (block, slave) unsupported for the session.
// After a timeout the next request waits a grace period, so a late reply cannot be taken for the
// answer to the next one. Decoding happens here, so the layers above never parse bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/event_loop.hpp"
#include "bluetti/result.hpp"
#include "bluetti/schema/registry.hpp"
#include "bluetti/schema/value.hpp"

namespace bluetti::cloud {

// The seed's retry policy: for transport errors (timeouts) only.
struct RetryPolicy {
    int attempts = 3;  // sends in total, first one included
    std::chrono::milliseconds initial_delay{1000};
    double factor = 2.0;
    std::chrono::milliseconds max_delay{10000};
    // Wait before send number `attempt` + 1 (attempt counts from 1).
    std::chrono::milliseconds delay_after(int attempt) const;
};

struct ChannelOptions {
    RetryPolicy retry;
    std::chrono::milliseconds request_timeout{5000};
    std::chrono::milliseconds stray_grace{2000};
    codec::Envelope envelope = codec::Envelope::v2;
    // The registers this device may be written: its enabled controls (profile::control_registers),
    // a subset of the codec's whitelist. Empty: the channel writes nothing at all.
    std::set<std::uint16_t> writable;
};

enum class ChannelErrc { timeout, exception, unsupported, not_connected, bad_request };
std::string_view to_string(ChannelErrc code);

struct ChannelError {
    ChannelErrc code;
    std::uint8_t exception_code = 0;
    std::string message;
};

struct BlockData {
    std::uint16_t block = 0;
    std::uint8_t slave = 0;
    int pack = 1;
    bool pushed = false;  // arrived unsolicited
    std::optional<int> rssi;
    std::chrono::milliseconds latency{0};  // request sent -> reply received (0 for pushes)
    Bytes request;                         // the payload we published (empty for pushes)
    Bytes reply;                           // the payload as received, envelope included
    schema::DecodedBlock decoded;
};

struct WriteConfirmation {
    std::uint16_t reg = 0;
    std::uint16_t value = 0;
    std::chrono::milliseconds latency{0};
};

struct ChannelStats {
    std::uint64_t requests = 0;  // sends, retries included
    std::uint64_t replies = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t retries = 0;
    std::uint64_t bad_frames = 0;  // CRC or framing errors
    std::uint64_t exceptions = 0;
    std::uint64_t unsolicited = 0;  // stray frames that answered nothing
    std::uint64_t pushes = 0;
    std::uint64_t decode_errors = 0;
    std::optional<int> rssi;
    std::chrono::milliseconds last_latency{0};
};

class DeviceChannel {
public:
    using Sender = std::function<bool(const Bytes& payload)>;  // publish on the device's request topic
    template <class T>
    using Callback = std::function<void(Result<T, ChannelError>)>;

    DeviceChannel(Scheduler& scheduler, const schema::SchemaRegistry& schemas, ChannelOptions options, Sender sender);
    ~DeviceChannel();
    DeviceChannel(const DeviceChannel&) = delete;
    DeviceChannel& operator=(const DeviceChannel&) = delete;

    // registers 0 = the schema's `read`.
    void read_block(std::uint16_t block, std::uint16_t registers, std::uint8_t slave, int pack, Callback<BlockData> done);
    // FC 06 of one of options().writable, at the device's own slave; anything else fails with
    // bad_request before a frame exists (and codec::build_write_single refuses non-whitelisted ones).
    void write_register(std::uint8_t slave, std::uint16_t reg, std::uint16_t value, Callback<WriteConfirmation> done);
    // NODE_INFO (block 21000) query; the reply is delivered decoded.
    void query_nodes(std::uint8_t slave, Callback<BlockData> done);

    // Every payload from the device's response topic.
    void on_payload(ByteSpan payload);
    // Unsolicited blocks (pushes), decoded.
    void set_push_handler(std::function<void(const BlockData&)> handler) { push_handler_ = std::move(handler); }
    // Slaves of the packs in pack order: pack 1 = the device's own slave, then expansions.
    void set_pack_slaves(std::vector<std::uint8_t> slaves) { pack_slaves_ = std::move(slaves); }
    // A bad frame or a stray is reported here (with its hex) so the caller can log it once.
    void set_anomaly_handler(std::function<void(const std::string&)> handler) { anomaly_handler_ = std::move(handler); }

    bool unsupported(std::uint16_t block, std::uint8_t slave) const { return unsupported_.count({block, slave}) > 0; }
    bool busy() const { return in_flight_.has_value() || !queue_.empty(); }
    std::size_t queued() const { return queue_.size() + (in_flight_ ? 1 : 0); }
    const ChannelStats& stats() const { return stats_; }
    void set_envelope(codec::Envelope envelope) { options_.envelope = envelope; }
    void set_writable(std::set<std::uint16_t> registers) { options_.writable = std::move(registers); }
    const ChannelOptions& options() const { return options_; }

private:
    enum class Kind { read, write, nodes };
    struct Request {
        Kind kind = Kind::read;
        std::uint16_t block = 0;  // read/nodes: block; write: register
        std::uint16_t count = 0;  // read: registers; write: value
        std::uint8_t slave = 0;
        int pack = 1;
        const schema::BlockSchema* schema = nullptr;
        Callback<BlockData> on_block;
        Callback<WriteConfirmation> on_write;
        Bytes payload;
        int attempts = 0;
        Scheduler::Clock::time_point sent_at{};
    };

    Scheduler& scheduler_;
    const schema::SchemaRegistry& schemas_;
    ChannelOptions options_;
    Sender sender_;
    std::deque<Request> queue_;
    std::optional<Request> in_flight_;
    bool awaiting_reply_ = false;  // false while a retry or the grace period is pending
    Scheduler::TimerId timer_ = 0;
    Scheduler::Clock::time_point hold_until_{};
    std::set<std::pair<std::uint16_t, std::uint8_t>> unsupported_;
    std::vector<std::uint8_t> pack_slaves_;
    ChannelStats stats_;
    std::function<void(const BlockData&)> push_handler_;
    std::function<void(const std::string&)> anomaly_handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    void enqueue(Request request);
    void pump();
    void send_in_flight();
    void on_timeout();
    void finish_block(Result<BlockData, ChannelError> result);
    void finish_write(Result<WriteConfirmation, ChannelError> result);
    void fail_in_flight(ChannelError error);
    void schedule(std::chrono::milliseconds delay, void (DeviceChannel::*what)());
    int pack_of(std::uint8_t slave) const;
    void anomaly(const std::string& text);
    Result<BlockData, ChannelError> decode_block(std::uint16_t block, ByteSpan data, std::uint8_t slave, int pack, ByteSpan payload,
                                                 std::optional<int> rssi);
};

}  // namespace bluetti::cloud
