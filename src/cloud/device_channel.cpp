#include "bluetti/cloud/device_channel.hpp"

#include <algorithm>
#include <cmath>

#include "bluetti/codec/frame.hpp"
#include "bluetti/schema/agreement.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"

namespace bluetti::cloud {

using namespace std::chrono;

std::chrono::milliseconds RetryPolicy::delay_after(int attempt) const {
    const double d = static_cast<double>(initial_delay.count()) * std::pow(factor, std::max(0, attempt - 1));
    return std::min(max_delay, milliseconds(static_cast<long long>(d)));
}

std::string_view to_string(ChannelErrc code) {
    switch (code) {
        case ChannelErrc::timeout:
            return "timeout";
        case ChannelErrc::exception:
            return "exception";
        case ChannelErrc::unsupported:
            return "unsupported";
        case ChannelErrc::not_connected:
            return "not connected";
        case ChannelErrc::bad_request:
            return "bad request";
        case ChannelErrc::implausible:
            return "implausible";
        case ChannelErrc::unconfirmed:
            return "unconfirmed";
    }
    return "?";
}

DeviceChannel::DeviceChannel(Scheduler& scheduler, const schema::SchemaRegistry& schemas, ChannelOptions options, Sender sender)
    : scheduler_(scheduler), schemas_(schemas), options_(options), sender_(std::move(sender)) {}

DeviceChannel::~DeviceChannel() {
    *alive_ = false;
    if (timer_) scheduler_.cancel(timer_);
}

void DeviceChannel::cancel_all() {
    if (timer_) scheduler_.cancel(timer_);
    timer_ = 0;
    if (in_flight_ && awaiting_reply_) hold_until_ = std::max(hold_until_, scheduler_.now() + options_.stray_grace);
    awaiting_reply_ = false;
    in_flight_.reset();
    queue_.clear();
    candidates_.clear();
    best_so_far_.reset();
}

void DeviceChannel::read_block(std::uint16_t block, std::uint16_t registers, std::uint8_t slave, int pack, Callback<BlockData> done) {
    const schema::BlockSchema* schema = schemas_.find(block);
    if (!schema) {
        done(fail(ChannelError{ChannelErrc::bad_request, 0, "no schema for block " + std::to_string(block)}));
        return;
    }
    if (unsupported(block, slave)) {
        done(fail(ChannelError{ChannelErrc::unsupported, 2,
                               "block " + std::to_string(block) + " is not supported at slave " + std::to_string(slave)}));
        return;
    }
    Request r;
    r.kind = Kind::read;
    r.block = block;
    r.requested = registers ? registers : schema->read;
    r.slave = slave;
    r.pack = pack;
    r.schema = schema;
    r.on_block = std::move(done);
    auto rtu = codec::build_read_request(slave, block, r.requested);
    if (!rtu) {
        r.on_block(fail(ChannelError{ChannelErrc::bad_request, 0, rtu.error().message}));
        return;
    }
    set_read_size(r, size_to_try(r));
    enqueue(std::move(r));
}

void DeviceChannel::write_register(std::uint8_t slave, std::uint16_t reg, std::uint16_t value, Callback<WriteConfirmation> done) {
    if (!options_.writable.count(reg)) {
        done(fail(
            ChannelError{ChannelErrc::bad_request, 0, "register " + std::to_string(reg) + " is not a control enabled for this device"}));
        return;
    }
    if (!pack_slaves_.empty() && slave != pack_slaves_.front()) {
        done(fail(ChannelError{ChannelErrc::bad_request, 0, "writes go to the device's own slave, not " + std::to_string(slave)}));
        return;
    }
    auto rtu = codec::build_write_single(slave, reg, value);
    if (!rtu) {
        done(fail(ChannelError{ChannelErrc::bad_request, 0, rtu.error().message}));
        return;
    }
    Request r;
    r.kind = Kind::write;
    r.block = reg;
    r.count = value;
    r.slave = slave;
    r.on_write = std::move(done);
    r.payload = codec::wrap(options_.envelope, reg, *rtu);
    enqueue(std::move(r));
}

void DeviceChannel::query_nodes(std::uint8_t slave, Callback<BlockData> done) {
    constexpr std::uint16_t kNodeInfo = 21000;
    const schema::BlockSchema* schema = schemas_.find(kNodeInfo);
    if (!schema || unsupported(kNodeInfo, slave)) {
        done(fail(ChannelError{schema ? ChannelErrc::unsupported : ChannelErrc::bad_request, 0, "NODE_INFO is not available"}));
        return;
    }
    Request r;
    r.kind = Kind::nodes;
    r.block = kNodeInfo;
    r.slave = slave;
    r.schema = schema;
    r.on_block = std::move(done);
    r.payload = codec::wrap(options_.envelope, kNodeInfo, codec::build_node_info_query(slave));
    enqueue(std::move(r));
}

void DeviceChannel::enqueue(Request request) {
    queue_.push_back(std::move(request));
    pump();
}

void DeviceChannel::schedule(milliseconds delay, void (DeviceChannel::*what)()) {
    if (timer_) scheduler_.cancel(timer_);
    std::weak_ptr<bool> alive = alive_;
    timer_ = scheduler_.after(delay, [this, alive, what] {
        if (alive.expired()) return;
        timer_ = 0;
        (this->*what)();
    });
}

void DeviceChannel::pump() {
    if (in_flight_ || queue_.empty()) return;
    const auto now = scheduler_.now();
    if (now < hold_until_) {  // grace period after a timeout: late replies must not match
        if (!timer_) schedule(ceil<milliseconds>(hold_until_ - now), &DeviceChannel::pump);
        return;
    }
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    send_in_flight();
}

void DeviceChannel::send_in_flight() {
    Request& r = *in_flight_;
    ++r.attempts;
    if (r.attempts > 1) ++stats_.retries;
    transmit();
}

// Sends the request in flight (again) and starts its timeout.
bool DeviceChannel::transmit() {
    Request& r = *in_flight_;
    ++stats_.requests;
    r.sent_at = scheduler_.now();
    if (r.kind == Kind::read) {
        attribution_.read_sent(r.shape(), r.sent_at);
        echo_expected_ = r.wire_payload;
    }
    if (!sender_(r.kind == Kind::read ? r.wire_payload : r.payload)) {
        fail_in_flight(ChannelError{ChannelErrc::not_connected, 0, "the cloud session is not connected"});
        return false;
    }
    awaiting_reply_ = true;
    schedule(options_.request_timeout, &DeviceChannel::on_timeout);
    return true;
}

// A reply of uncertain origin: ask again; only a second reply that agrees is believed. The second
// read asks for one register fewer than the candidate has, and its length is known in advance:
// another client's read can answer one of the two, but no single read of theirs both.
void DeviceChannel::confirm_in_flight() {
    Request& r = *in_flight_;
    if (r.confirmations >= options_.max_confirmations) {
        ++stats_.unconfirmed;
        finish_block(fail(ChannelError{ChannelErrc::unconfirmed, 0,
                                       "block " + std::to_string(r.block) + " at slave " + std::to_string(r.slave) + ": no two of " +
                                           std::to_string(r.confirmations + 1) +
                                           " replies agreed while another client was reading; nothing published"}));
        return;
    }
    ++r.confirmations;
    ++stats_.confirmations;
    if (!candidates_.empty()) {
        const std::size_t bytes = candidates_.back().decoded.data_length;
        const auto shorter = static_cast<std::uint16_t>(bytes / 2 - 1);
        if (bytes >= 4 && 2u * shorter >= r.schema->min_len) {
            put_on_wire(r, shorter);
            attribution_.learn(r.shape(), 2u * shorter);
        } else {
            put_on_wire(r, r.count);  // too short to shorten: the same read again
        }
    } else {
        put_on_wire(r, r.count);
    }
    transmit();
}

void DeviceChannel::put_on_wire(Request& r, std::uint16_t count) {
    r.wire_count = count;
    if (count == r.count) {
        r.wire_payload = r.payload;
        return;
    }
    r.wire_payload = codec::wrap(options_.envelope, r.block, *codec::build_read_request(r.slave, r.block, count));
}

// The candidate the reply to a confirmation read agrees with, if any; the reply must also say
// something: two frames of nothing but zeros agree with each other whatever block they came from.
const BlockData* DeviceChannel::confirmed_candidate(const BlockData& confirmation) const {
    // (With nobody else seen reading, a block of zeros may be just that: agreement is enough.)
    if (contended() && !schema::informative(confirmation.decoded)) return nullptr;
    for (auto it = candidates_.rbegin(); it != candidates_.rend(); ++it)
        if (confirmation.decoded.data_length + 2 <= it->decoded.data_length && schema::values_agree(it->decoded, confirmation.decoded))
            return &*it;
    return nullptr;
}

void DeviceChannel::on_timeout() {
    if (!in_flight_) return;
    awaiting_reply_ = false;
    ++stats_.timeouts;
    hold_until_ = scheduler_.now() + options_.stray_grace;
    if (in_flight_->attempts < options_.retry.attempts) {
        schedule(std::max(options_.retry.delay_after(in_flight_->attempts), options_.stray_grace), &DeviceChannel::send_in_flight);
        return;
    }
    const Request& r = *in_flight_;
    const std::string what = r.kind == Kind::write ? "write of register " + std::to_string(r.block) : "block " + std::to_string(r.block);
    fail_in_flight(ChannelError{ChannelErrc::timeout, 0,
                                what + " at slave " + std::to_string(r.slave) + ": no answer after " + std::to_string(r.attempts) +
                                    " attempts of " + std::to_string(options_.request_timeout.count()) + " ms"});
}

void DeviceChannel::fail_in_flight(ChannelError error) {
    if (in_flight_->kind == Kind::write)
        finish_write(fail(std::move(error)));
    else
        finish_block(fail(std::move(error)));
}

void DeviceChannel::finish_block(Result<BlockData, ChannelError> result) {
    candidates_.clear();
    best_so_far_.reset();
    if (!echo_expected_.empty()) last_read_echoed_ = false;  // the mirror did not show this read
    if (timer_) scheduler_.cancel(timer_);
    timer_ = 0;
    awaiting_reply_ = false;
    Request r = std::move(*in_flight_);
    in_flight_.reset();
    r.on_block(std::move(result));  // may enqueue more
    pump();
}

void DeviceChannel::finish_write(Result<WriteConfirmation, ChannelError> result) {
    if (timer_) scheduler_.cancel(timer_);
    timer_ = 0;
    awaiting_reply_ = false;
    Request r = std::move(*in_flight_);
    in_flight_.reset();
    r.on_write(std::move(result));
    pump();
}

int DeviceChannel::pack_of(std::uint8_t slave) const {
    for (std::size_t i = 0; i < pack_slaves_.size(); ++i)
        if (pack_slaves_[i] == slave) return static_cast<int>(i) + 1;
    return 1;
}

// A push names its slave but nobody asked for it. A per-pack block belongs to the pack whose
// slave the pack list holds, and to no pack when none does: decoded as pack 1, pack 2's push of
// block 6100 would publish the expansion pack's serial and charge under the station's own pack.
// Other blocks are the station's whatever slave pushed them (a station may push at slave 0 and
// answer at 1).
std::optional<int> DeviceChannel::pushed_pack(std::uint8_t slave, bool per_pack) const {
    for (std::size_t i = 0; i < pack_slaves_.size(); ++i)
        if (pack_slaves_[i] == slave) return static_cast<int>(i) + 1;
    if (!per_pack) return 1;
    return std::nullopt;
}

void DeviceChannel::anomaly(const std::string& text) {
    if (anomaly_handler_) anomaly_handler_(text);
}

Result<BlockData, ChannelError> DeviceChannel::decode_block(std::uint16_t block, ByteSpan data, std::uint8_t slave, int pack,
                                                            ByteSpan payload, std::optional<int> rssi) {
    const schema::BlockSchema* schema = schemas_.find(block);
    auto decoded = schema::decode(*schema, data, {pack});
    if (!decoded) {
        ++stats_.decode_errors;
        return fail(ChannelError{ChannelErrc::bad_request, 0, decoded.error().message + " (payload " + to_hex(payload) + ")"});
    }
    if (auto bad = schema::check_plausible(*schema, *decoded)) {
        ++stats_.implausible;
        std::string text =
            "block " + std::to_string(block) + " rejected whole: " + schema::to_string(*bad) + " (payload " + to_hex(payload) + ")";
        anomaly(text);
        return fail(ChannelError{ChannelErrc::implausible, 0, std::move(text)});
    }
    BlockData out;
    out.block = block;
    out.slave = slave;
    out.pack = pack;
    out.rssi = rssi;
    out.reply.assign(payload.begin(), payload.end());
    out.decoded = std::move(*decoded);
    return out;
}

void DeviceChannel::stray(const std::string& what, ByteSpan payload) {
    ++stats_.unsolicited;
    attribution_.stray_seen(scheduler_.now());
    anomaly(what + " (payload " + to_hex(payload) + ")");
}

void DeviceChannel::on_payload(ByteSpan payload) {
    if (payload.size() > codec::kMaxPayloadSize) {
        ++stats_.bad_frames;
        anomaly("a payload of " + std::to_string(payload.size()) + " bytes is longer than any frame (" +
                std::to_string(codec::kMaxPayloadSize) + "): dropped unread");
        return;
    }
    auto unwrapped = codec::unwrap(payload);
    if (!unwrapped) {
        ++stats_.bad_frames;
        anomaly(unwrapped.error().message);
        return;
    }
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
    if (!frame) {
        ++stats_.bad_frames;
        anomaly(frame.error().message);
        return;
    }
    if (unwrapped->rssi) stats_.rssi = unwrapped->rssi;
    const Inbound in{*frame, payload, unwrapped->rssi};
    const codec::Frame& f = *frame;
    if (f.kind == codec::FrameKind::read_reply) return on_read_reply(in);
    if (f.kind == codec::FrameKind::exception && f.function == codec::kReadHolding) return on_exception(in);
    if (in_flight_ && awaiting_reply_ && f.slave == in_flight_->slave && answers_in_flight(f)) return on_answer(in);
    // Not an answer: a push (FC 16 of a known block) is free data, anything else is a stray.
    if (f.kind == codec::FrameKind::write_multiple && schemas_.find(f.address)) return on_push(in);
    stray("unsolicited frame answers no request", payload);
}

void DeviceChannel::on_request_seen(ByteSpan payload) {
    if (payload.size() > codec::kMaxPayloadSize) return;  // no request: not read
    auto unwrapped = codec::unwrap(payload);
    if (!unwrapped) return;  // the request topic is anyone's: what we cannot read is not ours
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::request);
    if (!frame || frame->kind != codec::FrameKind::read_request) return;
    const bool ours = !echo_expected_.empty() && std::equal(payload.begin(), payload.end(), echo_expected_.begin(), echo_expected_.end());
    if (ours) {
        echo_expected_.clear();
        ++stats_.echoes;
        last_read_echoed_ = true;
        // The echo of a read already answered (or given up) is no pending read any more.
        if (!in_flight_ || !awaiting_reply_) return;
    }
    attribution_.read_seen({frame->slave, frame->address, frame->quantity}, ours, scheduler_.now());
}

// Which request an FC 16/FC 06 answers: these frames carry their address.
bool DeviceChannel::answers_in_flight(const codec::Frame& f) const {
    const Request& r = *in_flight_;
    switch (f.kind) {
        case codec::FrameKind::write_multiple:
            return (r.kind == Kind::read || r.kind == Kind::nodes) && f.address == r.block;
        case codec::FrameKind::write_ack:
            return r.kind == Kind::nodes && f.address == r.block;
        case codec::FrameKind::write_single:
            return r.kind == Kind::write && f.address == r.block && f.value == r.count;
        case codec::FrameKind::exception:
            return (r.kind == Kind::write && f.function == codec::kWriteSingle) ||
                   (r.kind == Kind::nodes && f.function == codec::kWriteMultiple);
        case codec::FrameKind::read_reply:
        case codec::FrameKind::read_request:
            break;
    }
    return false;
}

void DeviceChannel::on_read_reply(const Inbound& in) {
    const codec::Frame& f = in.frame;
    const bool reading = in_flight_ && awaiting_reply_ && in_flight_->kind == Kind::read;
    auto ours = reading ? std::optional<ReadShape>(in_flight_->shape()) : std::nullopt;
    // While confirming, a reply longer than the confirmation read asked for answers the whole read.
    if (reading && in_flight_->confirming() && f.data.size() > 2u * in_flight_->wire_count)
        ours = ReadShape{in_flight_->slave, in_flight_->block, in_flight_->count};
    const std::size_t min_len = reading ? in_flight_->schema->min_len : 0;
    switch (attribution_.attribute(f.slave, f.data.size(), ours, min_len, scheduler_.now())) {
        case Attribution::foreign:
            ++stats_.foreign_replies;
            return;
        case Attribution::mismatch:
            return stray("FC 03 reply of " + std::to_string(f.data.size()) + " bytes answers no request of ours", in.payload);
        case Attribution::ours:
            return accept_read(in, true);
        case Attribution::candidate:
            return accept_read(in, false);
    }
}

void DeviceChannel::accept_read(const Inbound& in, bool certain) {
    Request& r = *in_flight_;
    const codec::Frame& f = in.frame;
    auto data = decode_block(r.block, f.data, f.slave, r.pack, in.payload, in.rssi);
    if (!data) {
        // An implausible frame is never the answer: if it was someone else's, ours is still on its
        // way; if it was ours, the read times out and is retried. A frame that does not decode and
        // is surely ours ends the read.
        if (certain && !r.confirming() && data.error().code != ChannelErrc::implausible) return finish_block(std::move(data));
        return;
    }
    data->latency = duration_cast<milliseconds>(scheduler_.now() - r.sent_at);
    data->request = r.payload;
    // A device may answer any read short (the registers it has): whatever fits the confirmation
    // read is its answer, anything longer answers the whole read.
    const bool whole = !r.confirming() || f.data.size() > 2u * r.wire_count;
    const ReadShape read{r.slave, r.block, r.count};
    if (options_.confirm_new_shapes && !attribution_.learned(read)) certain = false;
    if (whole && certain) {
        attribution_.learn(read, f.data.size());
        return deliver(std::move(*data));
    }
    if (whole) {  // a candidate; a second one while confirming (our own, late, or another's) waits too
        constexpr std::size_t kMaxCandidates = 4;
        if (candidates_.size() == kMaxCandidates) candidates_.erase(candidates_.begin());
        candidates_.push_back(std::move(*data));
        if (!r.confirming()) confirm_in_flight();
        return;
    }
    // The confirmation's reply: it vouches for the whole candidate it agrees with, which is delivered.
    if (const BlockData* confirmed = confirmed_candidate(*data)) {
        BlockData chosen = *confirmed;
        attribution_.learn(read, chosen.decoded.data_length);
        return deliver(std::move(chosen));
    }
    candidates_.clear();  // none agrees: at least one of them is someone else's; start over
    confirm_in_flight();
}

void DeviceChannel::deliver(BlockData data) {
    ++stats_.replies;
    stats_.last_latency = data.latency;
    Request& r = *in_flight_;
    const auto it = read_sizes_.find({r.block, r.slave});
    if (it != read_sizes_.end() && r.count < r.requested) {  // a read shrunk by a refusal: it was answered
        it->second.answered = std::max(it->second.answered, r.count);
        const std::uint16_t next = size_to_try(r);
        if (next > r.count) {  // a larger size may still be answered: try it before delivering
            best_so_far_ = std::move(data);
            set_read_size(r, next);
            return restart_in_flight();
        }
    }
    finish_block(std::move(data));
}

void DeviceChannel::on_exception(const Inbound& in) {
    const codec::Frame& f = in.frame;
    const bool reading = in_flight_ && awaiting_reply_ && in_flight_->kind == Kind::read;
    const auto ours = reading ? std::optional<ReadShape>(in_flight_->shape()) : std::nullopt;
    const Attribution who = attribution_.attribute_exception(f.slave, ours, scheduler_.now());
    if (who == Attribution::foreign) {
        ++stats_.foreign_replies;
        return;
    }
    if (who == Attribution::mismatch || !reading) return stray("exception answers no read of ours", in.payload);
    Request& r = *in_flight_;
    ++stats_.replies;
    ++stats_.exceptions;
    const auto key = std::make_pair(r.block, r.slave);
    // Exception 02 is believed only when it is surely ours, or said twice in a row to reads of the
    // same size. A read shape that has answered before does not stop existing: once is never enough.
    const bool sure = who == Attribution::ours && !attribution_.learned(r.shape());
    const auto suspect = suspect_refusals_.find(key);
    const bool believed = f.exception_code == 2 && (sure || (suspect != suspect_refusals_.end() && suspect->second == r.wire_count));
    if (f.exception_code == 2 && !believed) suspect_refusals_[key] = r.wire_count;
    if (believed) suspect_refusals_.erase(key);
    // A device may refuse a read that runs past the end of what it implements (the Elite 200 V2
    // answers 6300 x 20 and refuses 6300 x 25): a refusal above the block's minimum shrinks the read.
    // This lives here, not in the station, because only the channel knows whether an exception 02
    // was ours (contention) and which size it answered; the station keeps asking for its profile size.
    if (believed && refusal_shrinks(r, r.wire_count)) return;
    // A refusal not yet believed ends a size search with the largest reply it found; the next read
    // asks for the refused size again.
    if (best_so_far_ && !believed) {
        BlockData best = std::move(*best_so_far_);
        return finish_block(std::move(best));
    }
    const bool unsupported = believed && r.wire_count <= minimum_registers(*r.schema);
    if (unsupported) unsupported_.insert(key);
    fail_in_flight(ChannelError{unsupported ? ChannelErrc::unsupported : ChannelErrc::exception, f.exception_code,
                                "device answered exception " + std::to_string(f.exception_code) + " (" +
                                    std::string(codec::exception_name(f.exception_code)) + ")"});
}

// An FC 16 or FC 06 frame that answers the request in flight (they carry their address).
void DeviceChannel::on_answer(const Inbound& in) {
    Request& r = *in_flight_;
    const codec::Frame& f = in.frame;
    const auto latency = duration_cast<milliseconds>(scheduler_.now() - r.sent_at);
    ++stats_.replies;
    stats_.last_latency = latency;
    if (f.kind == codec::FrameKind::exception) {
        ++stats_.exceptions;
        return fail_in_flight(ChannelError{ChannelErrc::exception, f.exception_code,
                                           "device answered exception " + std::to_string(f.exception_code) + " (" +
                                               std::string(codec::exception_name(f.exception_code)) + ")"});
    }
    if (r.kind == Kind::write) return finish_write(WriteConfirmation{r.block, r.count, latency});
    if (f.kind == codec::FrameKind::write_ack)  // NODE_INFO acknowledged without data
        return finish_block(fail(ChannelError{ChannelErrc::exception, 0, "NODE_INFO acknowledged without a node list"}));
    auto data = decode_block(r.block, f.data, f.slave, r.pack, in.payload, in.rssi);
    if (data) {
        data->latency = latency;
        data->request = r.payload;
    }
    finish_block(std::move(data));
}

void DeviceChannel::on_push(const Inbound& in) {
    const codec::Frame& f = in.frame;
    const schema::BlockSchema* schema = schemas_.find(f.address);
    if (f.data.size() < schema->min_len)
        return stray("push of block " + std::to_string(f.address) + " is shorter than its minimum", in.payload);
    const auto pack = pushed_pack(f.slave, schema->per_pack());
    if (!pack) {
        std::string what = "push of block ";
        what.append(std::to_string(f.address)).append(" from slave ").append(std::to_string(f.slave));
        return stray(what + ", which is none of the device's packs", in.payload);
    }
    auto data = decode_block(f.address, f.data, f.slave, *pack, in.payload, in.rssi);
    if (!data) {
        if (data.error().code != ChannelErrc::implausible) anomaly(data.error().message);
        return;
    }
    ++stats_.pushes;
    data->pushed = true;
    if (push_handler_) push_handler_(*data);
}

}  // namespace bluetti::cloud
