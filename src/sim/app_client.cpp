#include "sim/app_client.hpp"

#include <charconv>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/log.hpp"

namespace bluetti::sim {

namespace {

constexpr auto kReconnectDelay = std::chrono::seconds(1);
constexpr std::int64_t kLongestWaitMs = 3'600'000;

std::shared_ptr<spdlog::logger> logger() {
    return log::get("sim");
}

std::uint16_t read_size(const SimDevice& device, const profile::BlockRead& read) {
    if (read.registers) return read.registers;
    const schema::BlockSchema* schema = device.schemas().find(read.block);
    return schema ? schema->read : 0;
}

std::uint16_t draw(Rng& rng, std::uint16_t lo, std::uint16_t hi) {
    return static_cast<std::uint16_t>(rng.between(lo, hi));
}

const char* to_string(AppReadKind kind) {
    switch (kind) {
        case AppReadKind::full:
            return "full";
        case AppReadKind::partial:
            return "partial";
        case AppReadKind::inside:
            return "inside";
    }
    return "?";
}

// A whole number of milliseconds from 1 to an hour, nothing else.
std::optional<std::int64_t> milliseconds(std::string_view text) {
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc{} || end != text.data() + text.size() || ms < 1 || ms > kLongestWaitMs) return std::nullopt;
    return ms;
}

}  // namespace

Result<AppReadPeriod, std::string> parse_app_read_period(std::string_view text) {
    const auto colon = text.find(':');
    const std::string_view min_text = text.substr(0, colon);
    const std::string_view max_text = colon == std::string_view::npos ? min_text : text.substr(colon + 1);
    const std::optional<std::int64_t> min = milliseconds(min_text), max = milliseconds(max_text);
    if (!min || !max || *min > *max)
        return fail("--app-reads '" + std::string(text) + "': expected MIN_MS:MAX_MS or MS, 1 <= MIN <= MAX <= 3600000");
    return AppReadPeriod{std::chrono::milliseconds(*min), std::chrono::milliseconds(*max)};
}

std::vector<AppBlock> app_blocks(const SimDevice& device) {
    std::vector<AppBlock> out;
    for (const profile::PollGroup& group : device.profile().groups) {
        for (const profile::BlockRead& read : group.blocks) {
            const std::uint16_t size = read_size(device, read);
            if (read.block == kNodeInfoBlock || size == 0) continue;
            std::vector<std::uint8_t> slaves{device.slave()};
            if (group.per_pack && device.serves_slave(kExpansionPackSlave)) slaves.push_back(kExpansionPackSlave);
            for (const std::uint8_t slave : slaves)
                if (device.has_block(read.block, slave)) out.push_back(AppBlock{read.block, slave, size});
        }
    }
    return out;
}

std::optional<AppRead> choose_app_read(Rng& rng, const SimDevice& device) {
    const std::vector<AppBlock> blocks = app_blocks(device);
    if (blocks.empty()) return std::nullopt;
    AppRead r;
    r.block = blocks[static_cast<std::size_t>(rng.between(0, static_cast<std::int64_t>(blocks.size()) - 1))];
    r.kind = static_cast<AppReadKind>(rng.between(0, 2));
    const std::uint16_t size = r.block.read;
    if (size < 2) r.kind = AppReadKind::full;  // a one-register block has no part
    r.start = r.block.block;
    switch (r.kind) {
        case AppReadKind::full:
            r.count = size;
            break;
        case AppReadKind::partial:
            r.count = draw(rng, 1, static_cast<std::uint16_t>(size - 1));
            break;
        case AppReadKind::inside: {
            const std::uint16_t offset = draw(rng, 1, static_cast<std::uint16_t>(size - 1));
            r.start = static_cast<std::uint16_t>(r.block.block + offset);
            r.count = draw(rng, 1, static_cast<std::uint16_t>(size - offset));
            break;
        }
    }
    return r;
}

Result<Bytes, std::string> app_read_payload(const SimDevice& device, const AppRead& read) {
    auto rtu = codec::build_read_request(read.block.slave, read.start, read.count);
    if (!rtu) return fail(rtu.error().message);
    return codec::wrap(device.profile().envelope, read.start, *rtu);
}

AppClient::AppClient(EventLoop& loop, mqtt::Options options, std::vector<SimDevice*> devices, AppReadPeriod period, std::uint64_t seed)
    : loop_(loop), options_(std::move(options)), period_(period), session_(loop, "sim") {
    for (SimDevice* device : devices) targets_.push_back(Target{device, Rng(mix64(seed ^ fnv1a64(device->identity().sn + "/app-reads")))});
    session_.set_handlers({
        .on_connect =
            [this](int rc, const std::string& reason) {
                if (rc != 0) {
                    schedule_reconnect("connect failed: " + reason);
                    return;
                }
                logger()->info("app client: connected as {}", options_.client_id);
            },
        .on_disconnect = [this](int, const std::string& reason) { schedule_reconnect("connection lost: " + reason); },
        .on_message = nullptr,
        .on_subscribe = nullptr,
        .on_publish = nullptr,
    });
}

void AppClient::start() {
    connect();
    for (std::size_t i = 0; i < targets_.size(); ++i) wait_then_read(i);
}

void AppClient::stop() {
    stopping_ = true;
    session_.disconnect();
}

void AppClient::connect() {
    std::string error;
    if (!session_.connect(options_, error)) schedule_reconnect(error);
}

// The app client's trouble is its own: it retries by itself and never touches the main session.
void AppClient::schedule_reconnect(const std::string& why) {
    if (stopping_ || reconnect_pending_) return;
    logger()->warn("app client: {}; reconnecting in {} s", why, kReconnectDelay.count());
    reconnect_pending_ = true;
    loop_.after(kReconnectDelay, [this] {
        reconnect_pending_ = false;
        if (!stopping_) connect();
    });
}

// The timer holds an index: targets_ is filled once, in the constructor, so it stays valid.
void AppClient::wait_then_read(std::size_t target) {
    Target& t = targets_[target];
    const auto wait = std::chrono::milliseconds(t.rng.between(period_.min.count(), period_.max.count()));
    loop_.after(wait, [this, target] {
        if (stopping_) return;
        send_read(targets_[target]);
        wait_then_read(target);
    });
}

// Drawn even while disconnected, so the sequence of reads a seed gives does not depend on when the
// connection was up; such a read is just not sent.
void AppClient::send_read(Target& target) {
    const std::optional<AppRead> choice = choose_app_read(target.rng, *target.device);
    if (!choice || !session_.connected()) return;
    auto payload = app_read_payload(*target.device, *choice);
    if (!payload) {
        logger()->warn("app client: {}: {}", target.device->identity().sn, payload.error());
        return;
    }
    const std::string topic = target.device->identity().request_topic();
    if (session_.publish(topic, ByteSpan(*payload), 1, false) < 0) return;
    ++reads_sent_;
    logger()->debug("app client: {}: FC 03 read {}×{} at slave {} ({} read of block {})", target.device->identity().sn, choice->start,
                    choice->count, choice->block.slave, to_string(choice->kind), choice->block.block);
}

}  // namespace bluetti::sim
