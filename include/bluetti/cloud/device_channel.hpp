// DeviceChannel: the request/response discipline for one power station on the shared cloud session
// (docs/protocol.md, "Correlating replies"). One request in flight; an inbound frame answers it
// only when slave, function and address/length match; everything else is a push (decoded by its
// start address and delivered as free data) or a stray (counted, dropped). Timeouts are retried
// with the retry policy; other exceptions are not retried. Exception 02 to a read longer than the
// block's minimum (schema min_len) shrinks the read: the channel searches for the largest size the
// device answers and reads that size for the rest of the session; only exception 02 at the minimum
// marks the (block, slave) unsupported. After a timeout the next request waits a grace period, so a late
// reply cannot be taken for the answer to the next one. Decoding happens here, so the layers above
// never parse bytes.
//
// Another client reading the same station (the Bluetti app) puts its FC 03 replies on our reply
// topic, and they carry no address. ReplyAttribution decides whether a reply can only be ours;
// when it cannot, the reply is a candidate and the read is sent again: only a second reply that
// agrees with it (schema::values_agree) is delivered. Every decoded frame must also pass its
// schema's plausibility ranges, or it is rejected whole. Nothing unconfirmed or implausible ever
// reaches the layers above.
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

#include "bluetti/cloud/reply_attribution.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
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
    // Extra sends of one read, while another client reads too, to get two replies that agree.
    int max_confirmations = 3;
    // The first reply to a read shape is confirmed too, even when no other client has been seen
    // yet: its length is not known, and another client may have been reading since before we began.
    bool confirm_new_shapes = true;
    ReplyAttribution::Options attribution;
    codec::Envelope envelope = codec::Envelope::v2;
    // The registers this device may be written: its enabled controls (profile::control_registers),
    // a subset of the codec's whitelist. Empty: the channel writes nothing at all.
    std::set<std::uint16_t> writable;
};

enum class ChannelErrc { timeout, exception, unsupported, not_connected, bad_request, implausible, unconfirmed };
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
    std::uint64_t unsolicited = 0;      // stray frames that answered nothing
    std::uint64_t foreign_replies = 0;  // answers to another client's reads (seen on the mirror)
    std::uint64_t implausible = 0;      // frames rejected by the plausibility ranges
    std::uint64_t confirmations = 0;    // extra sends to confirm a reply of uncertain origin
    std::uint64_t unconfirmed = 0;      // reads given up because no two replies agreed
    std::uint64_t echoes = 0;           // our own reads seen on the request mirror
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
    // Every payload from the device's request topic, where the broker lets us see it (the
    // mirror): our own reads and other clients'.
    void on_request_seen(ByteSpan payload);
    // Another client has been reading lately (contention): replies need confirmation.
    bool contended() const { return attribution_.contended(scheduler_.now()); }
    // The last read we sent was seen on the request mirror.
    bool mirror_echoing() const { return last_read_echoed_; }
    std::uint64_t foreign_reads() const { return attribution_.foreign_reads(); }
    // Unsolicited blocks (pushes), decoded.
    void set_push_handler(std::function<void(const BlockData&)> handler) { push_handler_ = std::move(handler); }
    // Slaves of the packs in pack order: pack 1 = the device's own slave, then expansions.
    void set_pack_slaves(std::vector<std::uint8_t> slaves) { pack_slaves_ = std::move(slaves); }
    // A bad frame or a stray is reported here (with its hex) so the caller can log it once.
    void set_anomaly_handler(std::function<void(const std::string&)> handler) { anomaly_handler_ = std::move(handler); }

    bool unsupported(std::uint16_t block, std::uint8_t slave) const { return unsupported_.count({block, slave}) > 0; }
    // The largest read size the device has answered for (block, slave) since it refused a longer
    // one with exception 02; nullopt while no refusal shrank the block's reads.
    std::optional<std::uint16_t> reduced_read_size(std::uint16_t block, std::uint8_t slave) const;
    bool busy() const { return in_flight_.has_value() || !queue_.empty(); }
    // Drops every queued request and the one in flight WITHOUT calling their callbacks, and cancels
    // the channel's timer: for an owner of those callbacks that is going away while the channel
    // stays. A reply still on its way to a dropped read holds the next request back for the grace
    // period, as after a timeout. Handlers, envelope, writable set and what was learnt stay.
    void cancel_all();
    std::size_t queued() const { return queue_.size() + (in_flight_ ? 1 : 0); }
    const ChannelStats& stats() const { return stats_; }
    void set_envelope(codec::Envelope envelope) { options_.envelope = envelope; }
    void set_writable(std::set<std::uint16_t> registers) { options_.writable = std::move(registers); }
    const ChannelOptions& options() const { return options_; }

private:
    enum class Kind { read, write, nodes };
    struct Request {
        Kind kind = Kind::read;
        std::uint16_t block = 0;      // read/nodes: block; write: register
        std::uint16_t count = 0;      // read: registers; write: value
        std::uint16_t requested = 0;  // read: what the caller asked for (count may be smaller, see ReadSize)
        std::uint8_t slave = 0;
        int pack = 1;
        const schema::BlockSchema* schema = nullptr;
        Callback<BlockData> on_block;
        Callback<WriteConfirmation> on_write;
        Bytes payload;
        int attempts = 0;
        int confirmations = 0;
        Scheduler::Clock::time_point sent_at{};
        // What is on the wire now: the read itself, or its confirmation (one register fewer than
        // the candidate had, so that no single read of another client can answer both).
        std::uint16_t wire_count = 0;
        Bytes wire_payload;
        ReadShape shape() const { return {slave, block, wire_count}; }
        bool confirming() const { return wire_count != count; }
    };
    // One inbound frame on the reply topic, parsed.
    struct Inbound {
        const codec::Frame& frame;
        ByteSpan payload;  // as received, envelope included (for logs and BlockData::reply)
        std::optional<int> rssi;
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
    using BlockAtSlave = std::pair<std::uint16_t, std::uint8_t>;
    std::set<BlockAtSlave> unsupported_;
    // Exception 02 of uncertain origin, by the read size it answered: believed only when the next
    // exception 02 to the same (block, slave) answers a read of the same size.
    std::map<BlockAtSlave, std::uint16_t> suspect_refusals_;
    // What exception 02 taught about a block's read size: the largest size answered and the
    // smallest refused (0: none yet). Between them, the next read tries the middle.
    struct ReadSize {
        std::uint16_t answered = 0;
        std::uint16_t refused = 0;
    };
    std::map<BlockAtSlave, ReadSize> read_sizes_;
    // The largest reply so far of the read in flight while it searches for its size.
    std::optional<BlockData> best_so_far_;
    ReplyAttribution attribution_;
    // Whole replies of uncertain origin to the read in flight, awaiting confirmation (the newest last).
    std::vector<BlockData> candidates_;
    Bytes echo_expected_;  // our last read, until the mirror shows it
    bool last_read_echoed_ = false;
    std::vector<std::uint8_t> pack_slaves_;
    ChannelStats stats_;
    std::function<void(const BlockData&)> push_handler_;
    std::function<void(const std::string&)> anomaly_handler_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    void enqueue(Request request);
    void pump();
    void send_in_flight();
    bool transmit();
    void confirm_in_flight();
    void put_on_wire(Request& r, std::uint16_t count);
    void set_read_size(Request& r, std::uint16_t count);
    std::uint16_t size_to_try(const Request& r) const;
    // The fewest registers a read of the block may ask for: its schema's shortest reply.
    static std::uint16_t minimum_registers(const schema::BlockSchema& schema);
    bool refusal_shrinks(const Request& r, std::uint16_t refused);
    void restart_in_flight();
    const BlockData* confirmed_candidate(const BlockData& confirmation) const;
    bool answers_in_flight(const codec::Frame& f) const;
    void on_read_reply(const Inbound& in);
    void accept_read(const Inbound& in, bool certain);
    void deliver(BlockData data);
    void on_answer(const Inbound& in);
    void on_exception(const Inbound& in);
    void on_push(const Inbound& in);
    void stray(const std::string& what, ByteSpan payload);
    void on_timeout();
    void finish_block(Result<BlockData, ChannelError> result);
    void finish_write(Result<WriteConfirmation, ChannelError> result);
    void fail_in_flight(ChannelError error);
    void schedule(std::chrono::milliseconds delay, void (DeviceChannel::*what)());
    int pack_of(std::uint8_t slave) const;
    std::optional<int> pushed_pack(std::uint8_t slave, bool per_pack) const;
    void anomaly(const std::string& text);
    // Decodes and checks the plausibility ranges; an implausible frame is counted and logged here.
    Result<BlockData, ChannelError> decode_block(std::uint16_t block, ByteSpan data, std::uint8_t slave, int pack, ByteSpan payload,
                                                 std::optional<int> rssi);
};

}  // namespace bluetti::cloud
