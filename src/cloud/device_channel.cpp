#include "bluetti/cloud/device_channel.hpp"

#include <algorithm>
#include <cmath>

#include "bluetti/codec/frame.hpp"
#include "bluetti/schema/codec.hpp"

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
    }
    return "?";
}

DeviceChannel::DeviceChannel(Scheduler& scheduler, const schema::SchemaRegistry& schemas, ChannelOptions options, Sender sender)
    : scheduler_(scheduler), schemas_(schemas), options_(options), sender_(std::move(sender)) {}

DeviceChannel::~DeviceChannel() {
    *alive_ = false;
    if (timer_) scheduler_.cancel(timer_);
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
    r.count = registers ? registers : schema->read;
    r.slave = slave;
    r.pack = pack;
    r.schema = schema;
    r.on_block = std::move(done);
    auto rtu = codec::build_read_request(slave, block, r.count);
    if (!rtu) {
        r.on_block(fail(ChannelError{ChannelErrc::bad_request, 0, rtu.error().message}));
        return;
    }
    r.payload = codec::wrap(options_.envelope, block, *rtu);
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
    ++stats_.requests;
    if (r.attempts > 1) ++stats_.retries;
    r.sent_at = scheduler_.now();
    if (!sender_(r.payload)) {
        fail_in_flight(ChannelError{ChannelErrc::not_connected, 0, "the cloud session is not connected"});
        return;
    }
    awaiting_reply_ = true;
    schedule(options_.request_timeout, &DeviceChannel::on_timeout);
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
    BlockData out;
    out.block = block;
    out.slave = slave;
    out.pack = pack;
    out.rssi = rssi;
    out.reply.assign(payload.begin(), payload.end());
    out.decoded = std::move(*decoded);
    return out;
}

void DeviceChannel::on_payload(ByteSpan payload) {
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
    const codec::Frame& f = *frame;

    // Does it answer the request in flight (protocol.md §4.6)?
    if (in_flight_ && awaiting_reply_ && f.slave == in_flight_->slave) {
        Request& r = *in_flight_;
        const auto latency = duration_cast<milliseconds>(scheduler_.now() - r.sent_at);
        const std::uint8_t request_fc = r.kind == Kind::read    ? codec::kReadHolding
                                        : r.kind == Kind::write ? codec::kWriteSingle
                                                                : codec::kWriteMultiple;
        bool answers = false;
        switch (f.kind) {
            case codec::FrameKind::read_reply:
                answers = r.kind == Kind::read && f.data.size() >= r.schema->min_len && f.data.size() <= 2u * r.count;
                break;
            case codec::FrameKind::write_multiple:
                answers = (r.kind == Kind::read || r.kind == Kind::nodes) && f.address == r.block;
                break;
            case codec::FrameKind::write_ack:
                answers = r.kind == Kind::nodes && f.address == r.block;
                break;
            case codec::FrameKind::write_single:
                answers = r.kind == Kind::write && f.address == r.block && f.value == r.count;
                break;
            case codec::FrameKind::exception:
                answers = f.function == request_fc;
                break;
            case codec::FrameKind::read_request:
                break;
        }
        if (answers) {
            ++stats_.replies;
            stats_.last_latency = latency;
            if (f.kind == codec::FrameKind::exception) {
                ++stats_.exceptions;
                if (f.exception_code == 2 && r.kind != Kind::write) unsupported_.insert({r.block, r.slave});
                ChannelError error{f.exception_code == 2 && r.kind != Kind::write ? ChannelErrc::unsupported : ChannelErrc::exception,
                                   f.exception_code,
                                   "device answered exception " + std::to_string(f.exception_code) + " (" +
                                       std::string(codec::exception_name(f.exception_code)) + ")"};
                fail_in_flight(std::move(error));
                return;
            }
            if (r.kind == Kind::write) {
                finish_write(WriteConfirmation{r.block, r.count, latency});
                return;
            }
            if (f.kind == codec::FrameKind::write_ack) {  // NODE_INFO acknowledged without data
                finish_block(fail(ChannelError{ChannelErrc::exception, 0, "NODE_INFO acknowledged without a node list"}));
                return;
            }
            auto data = decode_block(r.block, f.data, f.slave, r.pack, payload, unwrapped->rssi);
            if (data) {
                data->latency = latency;
                data->request = r.payload;
            }
            finish_block(std::move(data));
            return;
        }
    }

    // Not an answer: a push (FC 16 of a known block) is free data, anything else is a stray.
    if (f.kind == codec::FrameKind::write_multiple && schemas_.find(f.address)) {
        const schema::BlockSchema* schema = schemas_.find(f.address);
        if (f.data.size() < schema->min_len) {
            ++stats_.unsolicited;
            anomaly("push of block " + std::to_string(f.address) + " is shorter than its minimum (payload " + to_hex(payload) + ")");
            return;
        }
        auto data = decode_block(f.address, f.data, f.slave, pack_of(f.slave), payload, unwrapped->rssi);
        if (!data) {
            anomaly(data.error().message);
            return;
        }
        ++stats_.pushes;
        data->pushed = true;
        if (push_handler_) push_handler_(*data);
        return;
    }
    ++stats_.unsolicited;
    anomaly("unsolicited frame answers no request (payload " + to_hex(payload) + ")");
}

}  // namespace bluetti::cloud
