#include "station.hpp"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "bluetti/log.hpp"
#include "bluetti/schema/plausibility.hpp"

namespace bluetti::bridge {

using namespace std::chrono;

namespace {
constexpr int kFailuresForOffline = 3;
constexpr std::uint16_t kNodeInfo = 21000, kInvBaseInfo = 1100, kHomeData = 100, kPackItem = 6100, kPackCells = 6300;

std::optional<double> positive_number(const schema::DecodedField* f) {
    if (!f) return std::nullopt;
    if (const auto* d = std::get_if<double>(&f->value); d && *d > 0) return *d;
    if (const auto* i = std::get_if<std::int64_t>(&f->value); i && *i > 0) return static_cast<double>(*i);
    return std::nullopt;
}

std::string iso_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    return text;
}
}  // namespace

Station::Station(Scheduler& scheduler, StationSetup setup, cloud::DeviceLocator& locator, ha::StatePublisher& publisher,
                 ha::CounterStore& counters, PollScheduler& polls, const ha::DiscoveryOptions& discovery)
    : scheduler_(scheduler),
      setup_(std::move(setup)),
      locator_(locator),
      channel_(locator.channel()),
      publisher_(publisher),
      counters_(counters, setup_.serial),
      schedule_(polls, setup_.serial, poll_schedule(), scheduler.now(), PollScheduler::phase_of(setup_.serial)),
      discovery_(discovery) {
    channel_.set_push_handler([this](const cloud::BlockData& d) {
        handle_block(d);
        schedule_.pushed(d.block, scheduler_.now());
    });
    channel_.set_anomaly_handler([this](const std::string& text) { log_anomaly(text); });

    ControlWriterHooks hooks;
    hooks.write = [this](const profile::Control& c, std::uint16_t value, cloud::DeviceChannel::Callback<cloud::WriteConfirmation> done) {
        channel_.write_register(locator_.slave(), c.limits->reg, value,
                                [this, done = std::move(done)](Result<cloud::WriteConfirmation, cloud::ChannelError> r) {
                                    done(std::move(r));
                                    publish_diagnostics();
                                });
    };
    hooks.reread = [this](const profile::Control& c, std::uint16_t written, std::function<void()> done) {
        reread(c, written, std::move(done));
    };
    hooks.settings = [this] { return control_values_; };
    writer_ = std::make_unique<ControlWriter>(scheduler_, setup_.serial, std::move(hooks));
    apply_controls();
}

void Station::apply_controls() {
    std::vector<std::string> rejected, keys;
    if (setup_.controls)
        for (const auto& key : setup_.control_keys)
            if (!unsupported_controls_.count(key)) keys.push_back(key);
    auto controls = profile::resolve_controls(*setup_.schemas, keys, &rejected);
    for (const auto& r : rejected) log::get("bridge")->warn("{}: control {}", setup_.serial, r);
    channel_.set_writable(profile::control_registers(controls));
    writer_->set_controls(std::move(controls));
}

void Station::command(const std::string& key, std::string_view payload) {
    if (auto refused = writer_->command(key, payload)) {
        log::get("bridge")->warn("{}: command refused, nothing sent: {}", setup_.serial, *refused);
        publish_diagnostics();
    }
}

void Station::reread(const profile::Control& control, std::uint16_t written, std::function<void()> done) {
    const std::uint16_t block = control.block->block;
    std::uint16_t registers = 0;  // the schema's read size unless the profile polls the block with another
    for (const auto& g : setup_.profile->groups)
        for (const auto& b : g.blocks)
            if (b.block == block) registers = b.registers;
    const std::string key = control.key;
    const std::uint8_t slave = locator_.slave();
    channel_.read_block(
        block, registers, slave, 1, [this, key, written, done = std::move(done)](Result<cloud::BlockData, cloud::ChannelError> r) {
            if (!r) {
                log::get("bridge")->warn("{}: re-reading block after writing {} failed: {}", setup_.serial, key, r.error().message);
            } else {
                handle_block(std::move(*r));
                auto it = control_values_.find(key);
                if (it != control_values_.end() && it->second != written)
                    log::get("bridge")->warn("{}: the device reports {} = {} after {} was written", setup_.serial, key, it->second,
                                             written);
            }
            publish_diagnostics();
            done();
        });
}

// The channel outlives the station: nothing it holds may reach this one any more. Its requests
// (poll steps, writes, re-reads) are dropped uncalled, its handlers removed, and it writes nothing
// until the next station enables its controls.
Station::~Station() {
    channel_.cancel_all();
    channel_.set_push_handler(nullptr);
    channel_.set_anomaly_handler(nullptr);
    channel_.set_writable({});
    locator_.on_packs_added(nullptr);
    publisher_.forget_source(setup_.serial);
    if (silence_timer_) scheduler_.cancel(silence_timer_);
}

std::chrono::milliseconds Station::core_interval() const {
    for (const auto& [g, interval] : groups())
        if (g->name == "core") return interval;
    return seconds(10);
}

std::vector<std::pair<const profile::PollGroup*, std::chrono::milliseconds>> Station::groups() const {
    std::vector<std::pair<const profile::PollGroup*, milliseconds>> out;
    for (const auto& g : setup_.profile->groups) {
        auto it = setup_.poll.find(g.name);
        out.emplace_back(&g, it == setup_.poll.end() ? g.interval : it->second);
    }
    return out;
}

std::vector<GroupSchedule> Station::poll_schedule() const {
    std::vector<GroupSchedule> out;
    for (const auto& [g, interval] : groups()) {
        GroupSchedule gs{g->name, interval, {}};
        for (const auto& b : g->blocks) gs.blocks.push_back(b.block);
        out.push_back(std::move(gs));
    }
    return out;
}

void Station::poll(const std::string& group_name, std::function<void()> polled) {
    auto done = [this, group_name, polled = std::move(polled)] {
        schedule_.polled(group_name, scheduler_.now());
        polled();
    };
    const profile::PollGroup* group = setup_.profile->group(group_name);
    if (!group) return done();
    struct Job {
        std::uint16_t block, registers;
        std::uint8_t slave;
        int pack;
    };
    auto jobs = std::make_shared<std::vector<Job>>();
    const auto& pack_slaves = locator_.pack_slaves();
    const std::size_t packs = group->per_pack ? pack_slaves.size() : 1;
    for (std::size_t p = 0; p < packs; ++p)
        for (const auto& b : group->blocks) jobs->push_back({b.block, b.registers, pack_slaves[p], static_cast<int>(p) + 1});
    polling_ = true;
    ++polls_;
    auto tally = std::make_shared<PollTally>();
    // The step function reaches itself only weakly: the request in flight owns it (through
    // `next`), so a poll cut short by shutdown frees its chain instead of leaking a cycle.
    auto step = std::make_shared<std::function<void(std::size_t)>>();
    *step = [this, jobs, tally, weak_step = std::weak_ptr(step), group_name, done](std::size_t i) {
        if (i == jobs->size()) {
            finish_poll(*tally, group_name);
            const auto finished = done;  // a copy: `done` may end this closure's owner
            finished();
            return;
        }
        const Job job = (*jobs)[i];
        auto next = [this, tally, step = weak_step.lock(), i, job](Result<cloud::BlockData, cloud::ChannelError> r) {
            if (r) {
                ++tally->ok;
                if (job.block != kNodeInfo) log_reduced_read_size(job.block, job.slave, job.registers);
                handle_block(std::move(*r));
            } else if (r.error().code != cloud::ChannelErrc::unsupported) {
                ++tally->failed;
                tally->timed_out = tally->timed_out || r.error().code == cloud::ChannelErrc::timeout;
                // A read given up because another client's replies could not be told from ours is
                // worth a line: it says why a value was not refreshed.
                const auto level = r.error().code == cloud::ChannelErrc::unconfirmed ? spdlog::level::info : spdlog::level::debug;
                log::get("bridge")->log(level, "{}: {}", setup_.serial, r.error().message);
            } else if (!locator_.answered()) {
                ++tally->ok;  // an "unsupported" answer is still an answer
            }
            if (*step) (*step)(i + 1);
        };
        if (job.block == kNodeInfo)
            locator_.read_nodes(next);  // the locator learns the packs from its reply
        else
            channel_.read_block(job.block, job.registers, job.slave, job.pack, next);
    };
    (*step)(0);
}

// A poll's outcome: failures in a row take the station offline; a core poll that timed out on a
// station that never answered moves the locator on to the next place to look for it (probing).
void Station::finish_poll(const PollTally& tally, const std::string& group_name) {
    polling_ = false;
    if (tally.ok > 0) {
        consecutive_failures_ = 0;
    } else if (tally.failed > 0) {
        ++consecutive_failures_;
        if (consecutive_failures_ >= kFailuresForOffline)
            set_online(false, std::to_string(consecutive_failures_) + " polls failed in a row");
        if (tally.timed_out && group_name == "core") locator_.core_poll_timed_out();
    }
    publish_diagnostics();
}

// Once per new size: a shrunk read explains why a block carries fewer fields than the profile reads.
void Station::log_reduced_read_size(std::uint16_t block, std::uint8_t slave, std::uint16_t asked) {
    const auto size = channel_.reduced_read_size(block, slave);
    if (!size) return;
    std::uint16_t& logged = reduced_sizes_logged_[{block, slave}];
    if (logged == *size) return;
    logged = *size;
    log::get("bridge")->info("{}: block {} at slave {} is read as {} registers: the device refused {} (exception 02)", setup_.serial, block,
                             slave, *size, asked ? std::to_string(asked) : "the schema's size");
}

std::string Station::state_name(std::uint16_t block) const {
    const auto* s = setup_.schemas->find(block);
    return s ? s->state_topic : std::to_string(block);
}

// The derived check of the pack voltage against the sum of its cells: a 6300 frame whose cells do
// not add up to the pack's voltage (within 15 %) is no frame of this pack, and is rejected whole.
// Off by a factor of ten means the profile's voltage scale is wrong, not the frame: said once.
bool Station::cells_consistent(const cloud::BlockData& data) {
    const std::string pack = "battery_pack" + std::to_string(data.pack);
    if (data.block == kPackItem) {
        if (auto v = positive_number(data.decoded.find(pack + "_voltage"))) pack_voltages_[data.pack] = *v;
        return true;
    }
    if (data.block == kHomeData) {
        if (auto v = positive_number(data.decoded.find("pack_voltage"))) battery_voltage_ = *v;
        return true;
    }
    if (data.block != kPackCells) return true;
    double sum = 0;
    for (const auto& f : data.decoded.fields)
        if (f.spec && f.spec->key.text == "battery_pack{n}_cell{i}_voltage")
            if (auto v = positive_number(&f)) sum += *v;
    const auto known = pack_voltages_.find(data.pack);
    const std::optional<double> reference = known != pack_voltages_.end() ? std::optional(known->second) : battery_voltage_;
    if (!reference || sum <= 0) return true;
    switch (schema::check_pack_voltage(*reference, sum)) {
        case schema::PackVoltageCheck::consistent:
            return true;
        case schema::PackVoltageCheck::scale_suspect:
            if (!scale_hint_logged_)
                log::get("decode")->warn(
                    "{}: pack {} cells add up to {:.2f} V but the pack voltage reads {:.2f} V: the profile's pack-voltage scale "
                    "(0.1 or 0.01 V) is probably the wrong one for this model; override it with overrides: {{pack_voltage: {{scale: …}}}}",
                    setup_.serial, data.pack, sum, *reference);
            scale_hint_logged_ = true;
            return true;
        case schema::PackVoltageCheck::inconsistent:
            break;
    }
    ++cells_rejected_;
    log_anomaly("block 6300 of pack " + std::to_string(data.pack) + " rejected whole: its cells add up to " + std::to_string(sum) +
                " V, the pack reads " + std::to_string(*reference) + " V (payload " + to_hex(data.reply) + ")");
    return false;
}

void Station::handle_block(cloud::BlockData data) {
    if (!cells_consistent(data)) return;
    log::get("bridge")->debug("{}: block {} ({})", setup_.serial, data.block, data.pushed ? "pushed" : "read");
    last_data_ = scheduler_.now();
    last_seen_iso_ = iso_now();
    locator_.note_answer();
    set_online(true, "");
    arm_silence_timer();
    for (const auto& [key, code] : data.decoded.unknown_codes)
        if (unknown_codes_logged_.insert(key + "=" + std::to_string(code)).second)
            log::get("decode")->info("{}: {} has unknown code {} (logged once; the value stays absent)", setup_.serial, key, code);

    if (data.block == kInvBaseInfo) note_firmware(data.decoded);
    // No counter may rise faster than the model's rated power allows (0 = the guard's default).
    const auto verdict = counters_.filter(data.decoded, setup_.profile->max_power, std::chrono::system_clock::now());
    // The guard logs each counter it holds or accepts, with its values.
    if (verdict.held || verdict.accepted)
        log::get("bridge")->debug("{}: block {}: {} energy counter(s) held, {} accepted", setup_.serial, data.block, verdict.held,
                                  verdict.accepted);

    for (const auto& f : data.decoded.fields)
        if (!schema::is_absent(f.value) && !setup_.exclude.count(f.key) && present_keys_.insert(f.key).second) ++present_keys_version_;
    note_controls(data.decoded);
    // Discovery depends only on the keys seen and the firmware version (and on the setup, which
    // reconfigure() announces itself): rebuilding it for every block cost most of a poll's CPU.
    if (present_keys_.size() != announced_key_count_ || sw_version_ != announced_sw_version_) announce(false);

    publish_state(data.decoded);
}

// The firmware versions of block 1100, as Home Assistant's sw_version ("ARM 4011.05, DSP …").
void Station::note_firmware(const schema::DecodedBlock& decoded) {
    std::string sw;
    for (const char* module : {"arm", "dsp", "iot", "bms"}) {
        const auto* f = decoded.find(std::string("firmware_") + module + "_version");
        if (f && std::holds_alternative<std::string>(f->value)) {
            std::string name = module;
            std::transform(name.begin(), name.end(), name.begin(), ::toupper);
            sw += (sw.empty() ? "" : ", ") + name + " " + std::get<std::string>(f->value);
        }
    }
    if (!sw.empty() && sw != sw_version_) sw_version_ = sw;
}

// The controls' current values as the device reports them; a control whose register reads "not
// supported" is not offered: no writes, no entity.
void Station::note_controls(const schema::DecodedBlock& decoded) {
    if (const auto unsupported = profile::unsupported_controls(writer_->controls(), decoded); !unsupported.empty()) {
        for (const auto& key : unsupported) {
            log::get("bridge")->info("{}: the device does not support {}: control withdrawn", setup_.serial, key);
            unsupported_controls_.insert(key);
            present_keys_version_ += present_keys_.erase(key);
            control_values_.erase(key);
        }
        apply_controls();
    }
    for (const auto& c : writer_->controls()) {
        const auto* f = decoded.find(c.key);
        if (!f) continue;
        if (const auto* b = std::get_if<bool>(&f->value))
            control_values_[c.key] = *b ? 1 : 0;
        else if (const auto* i = std::get_if<std::int64_t>(&f->value))
            control_values_[c.key] = *i;
        else if (const auto* label = std::get_if<std::string>(&f->value)) {  // a select: back to its code
            for (const auto& o : c.field->options)
                if (o.label == *label) {
                    control_values_[c.key] = o.code;
                    break;
                }
        }
    }
}

// The block's retained state. A per-pack block has one topic for all packs: their keys are merged
// so each pack's entities find theirs.
void Station::publish_state(const schema::DecodedBlock& decoded) {
    const std::string topic = ha::state_topic(discovery_, setup_.serial, decoded.schema->state_topic);
    std::string payload = ha::block_state(decoded, setup_.exclude);
    if (decoded.schema->per_pack()) {
        auto& m = merged_states_[topic];
        if (!m.is_object()) m = nlohmann::ordered_json::object();
        const auto fresh = nlohmann::ordered_json::parse(payload);
        for (auto it = fresh.begin(); it != fresh.end(); ++it) m[it.key()] = *it;
        payload = m.dump();
    }
    publisher_.publish_retained(topic, payload);
}

// A bad, stray or implausible frame: at warning level, but at most one a minute per station, so a
// flood of garbage cannot flood the log; the others go to debug and are counted in the next one.
void Station::log_anomaly(const std::string& text) {
    constexpr auto kEvery = std::chrono::minutes(1);
    const auto now = scheduler_.now();
    if (last_anomaly_warning_ && now - *last_anomaly_warning_ < kEvery) {
        ++anomalies_suppressed_;
        log::get("decode")->debug("{}: {}", setup_.serial, text);
        return;
    }
    if (anomalies_suppressed_)
        log::get("decode")->warn("{}: {} ({} more such frames in the last minute, at debug level)", setup_.serial, text,
                                 anomalies_suppressed_);
    else
        log::get("decode")->warn("{}: {}", setup_.serial, text);
    last_anomaly_warning_ = now;
    anomalies_suppressed_ = 0;
}

void Station::arm_silence_timer() {
    if (silence_timer_) scheduler_.cancel(silence_timer_);
    // Two core intervals without any data (issue 7: availability right within two poll intervals),
    // plus two request timeouts: a reply lost or corrupted in flight is only known lost after one,
    // and its retry may need the second; one such loss must not make the device look offline.
    silence_timer_ = scheduler_.after(core_interval() * 2 + channel_.options().request_timeout * 2, [this] {
        silence_timer_ = 0;
        set_online(false, "no data for 2 poll intervals");
    });
}

void Station::set_online(bool online, const std::string& why) {
    if (online == online_) return;
    online_ = online;
    if (!online)
        log::get("bridge")->warn("{} is offline: {}", setup_.serial, why);
    else
        log::get("bridge")->info("{} is online", setup_.serial);
    publisher_.publish_retained(discovery_.base + "/" + setup_.serial + "/availability", online ? "online" : "offline");
    if (online_handler_) online_handler_();
}

void Station::link_changed(bool up) {
    link_up_ = up;
    if (!up) set_online(false, "the cloud session is down");
}

ha::StationInfo Station::info() const {
    ha::StationInfo i;
    i.serial = setup_.serial;
    i.name = setup_.name.empty() ? "BLUETTI " + setup_.profile->display_name : setup_.name;
    i.model_name = setup_.profile->display_name;
    i.model_id = setup_.model_id;
    i.sw_version = sw_version_;
    return i;
}

std::vector<ha::Message> Station::discovery_messages() const {
    ha::EntityInput input;
    input.schemas = setup_.schemas.get();
    input.present_keys = present_keys_;
    input.exclude = setup_.exclude;
    input.controls = setup_.controls;
    for (const auto& c : writer_->controls()) input.writable_controls.insert(c.key);
    return ha::station_discovery(discovery_, info(), ha::station_entities(discovery_, info(), input));
}

void Station::announce(bool force) {
    announced_key_count_ = present_keys_.size();
    announced_sw_version_ = sw_version_;
    // The session builds the configs when it sends them and sends only those that changed.
    publisher_.set_discovery(
        setup_.serial, [this] { return discovery_messages(); }, force);
    publisher_.publish_retained(discovery_.base + "/" + setup_.serial + "/availability", online_ ? "online" : "offline");
}

void Station::publish_diagnostics() {
    const auto& s = channel_.stats();
    nlohmann::ordered_json j;
    if (s.rssi) j["rssi"] = *s.rssi;
    if (!last_seen_iso_.empty()) j["last_seen"] = last_seen_iso_;
    j["polls"] = polls_;
    j["timeouts"] = s.timeouts;
    j["crc_errors"] = s.bad_frames;
    j["exceptions"] = s.exceptions;
    if (s.replies) j["latency_ms"] = s.last_latency.count();
    j["unsolicited"] = s.unsolicited;
    j["foreign_replies"] = s.foreign_replies;
    j["rejected_frames"] = s.implausible + cells_rejected_;
    j["confirmations"] = s.confirmations;
    j["contention"] = channel_.contended() ? "ON" : "OFF";
    if (!writer_->controls().empty()) {
        const auto& w = writer_->stats();
        j["writes"] = w.writes;
        j["write_failures"] = w.failures;
        j["commands_rejected"] = w.rejected;
        if (!w.last_error.empty()) j["last_write_error"] = w.last_error;
    }
    // Every text in it is echoed through text::echo(); `replace` is the belt: a dump never throws.
    publisher_.publish_retained(ha::state_topic(discovery_, setup_.serial, "diagnostics"),
                                j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

void Station::reconfigure(const StationSetup& setup) {
    setup_.name = setup.name;
    setup_.poll = setup.poll;
    setup_.exclude = setup.exclude;
    setup_.controls = setup.controls;
    setup_.control_keys = setup.control_keys;
    apply_controls();
    schedule_.update_intervals(poll_schedule());
    for (const auto& key : setup_.exclude) present_keys_version_ += present_keys_.erase(key);
    announce(false);
}

}  // namespace bluetti::bridge
