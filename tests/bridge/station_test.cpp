// Station on a manual clock: a real DeviceChannel and DeviceLocator whose requests a scripted
// device answers with frames built by the codec, a recording StatePublisher, a real CounterStore
// and PollScheduler and the built-in EL100V2 profile. What Home Assistant would see: states,
// availability, writes, discovery, and where the station is found.
#include "bridge/station.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/schema/codec.hpp"
#include "manual_scheduler.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace bluetti;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using test::TempDir;

const std::string kSerial = "2237000000001";
const std::string kAvailability = "bluetti/" + kSerial + "/availability";

// A V2 device at slave 0: a register file that FC 03 reads and FC 06 writes (and echoes), or an
// exception to every request, or silence.
struct FakeDevice {
    const schema::SchemaRegistry* schemas = nullptr;
    std::map<std::uint16_t, std::uint16_t> registers;
    std::optional<std::uint8_t> exception;
    bool silent = false;
    // Where it answers: requests to another slave or in another envelope go unanswered.
    std::uint8_t slave = 0;
    codec::Envelope envelope = codec::Envelope::v2;

    // The block's registers as `values` encode them (schema read size; keys as decode() names them).
    void set_block(std::uint16_t block, const schema::ValueMap& values) {
        const schema::BlockSchema* s = schemas->find(block);
        REQUIRE(s != nullptr);
        auto data = schema::encode(*s, values, s->read);
        REQUIRE_MESSAGE(data.ok(), data.error().message);
        for (std::size_t i = 0; i + 1 < data->size(); i += 2)
            registers[static_cast<std::uint16_t>(block + i / 2)] = static_cast<std::uint16_t>((*data)[i] << 8 | (*data)[i + 1]);
    }

    std::optional<Bytes> answer(const Bytes& payload) {
        if (silent) return std::nullopt;
        auto unwrapped = codec::unwrap(payload);
        REQUIRE(unwrapped.ok());
        auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::request);
        REQUIRE(frame.ok());
        if (frame->slave != slave || unwrapped->envelope != envelope) return std::nullopt;
        const auto reply = [this](const Bytes& rtu) { return codec::wrap(envelope, 0, rtu); };
        if (exception) return reply(codec::build_exception(frame->slave, frame->function, *exception));
        if (frame->kind == codec::FrameKind::write_single) {
            registers[frame->address] = frame->value;
            return reply(Bytes(unwrapped->rtu.begin(), unwrapped->rtu.end()));  // the echo
        }
        REQUIRE(frame->kind == codec::FrameKind::read_request);
        Bytes data;
        for (std::uint16_t r = 0; r < frame->quantity; ++r) {
            const std::uint16_t word = registers[static_cast<std::uint16_t>(frame->address + r)];
            data.push_back(static_cast<std::uint8_t>(word >> 8));
            data.push_back(static_cast<std::uint8_t>(word & 0xFF));
        }
        return reply(*codec::build_read_reply(frame->slave, data));
    }
};

// What the station hands the local broker session, remembered.
struct RecordingPublisher : ha::StatePublisher {
    std::map<std::string, std::string> retained;                    // topic -> latest payload
    std::vector<std::pair<std::string, std::string>> publications;  // in order
    std::map<std::string, DiscoverySource> sources;
    int discovery_calls = 0;
    std::set<std::string> forgotten;

    void publish_retained(const std::string& topic, const std::string& payload, bool) override {
        retained[topic] = payload;
        publications.emplace_back(topic, payload);
    }
    void set_discovery(const std::string& owner, DiscoverySource source, bool) override {
        sources[owner] = std::move(source);
        ++discovery_calls;
    }
    void forget_source(const std::string& owner) override {
        sources.erase(owner);
        forgotten.insert(owner);
    }

    nlohmann::json state(const std::string& name) const {
        auto it = retained.find("bluetti/" + kSerial + "/" + name);
        REQUIRE_MESSAGE(it != retained.end(), "nothing published on " << name);
        return nlohmann::json::parse(it->second);
    }
    std::string availability() const {
        auto it = retained.find(kAvailability);
        return it == retained.end() ? "" : it->second;
    }
    int availability_changes(const std::string& to) const {
        int n = 0;
        for (const auto& p : publications) n += p.first == kAvailability && p.second == to;
        return n;
    }
    // Every discovery payload the owner's source builds now, in one string.
    std::string discovery_text() const {
        auto it = sources.find(kSerial);
        REQUIRE(it != sources.end());
        std::string all;
        for (const auto& m : it->second()) all.append(m.payload);
        return all;
    }
};
struct StationFixture {
    test::ManualScheduler clock;
    profile::ProfileSet profiles = *profile::ProfileSet::builtin();
    const profile::Profile* profile = profiles.find("EL100V2");
    std::shared_ptr<const schema::SchemaRegistry> schemas;
    FakeDevice device;
    std::vector<Bytes> sent;
    std::size_t answered = 0;
    std::unique_ptr<cloud::DeviceChannel> channel;
    std::unique_ptr<cloud::DeviceLocator> locator;
    RecordingPublisher publisher;
    TempDir dir;
    ha::CounterStore counters{dir.path / "counters.json"};
    bridge::PollScheduler polls;
    ha::DiscoveryOptions discovery;
    std::unique_ptr<bridge::Station> station;

    StationFixture() {
        REQUIRE(profile != nullptr);
        auto applied = profile::apply_profile(*schema::SchemaRegistry::builtin(), *profile);
        REQUIRE(applied.ok());
        schemas = std::make_shared<const schema::SchemaRegistry>(std::move(*applied));
        device.schemas = schemas.get();
        device.set_block(100, {{"pack_soc", std::int64_t{76}}});
        device.set_block(1300, {{"grid_frequency", 50.0}, {"grid_phase_count", std::int64_t{1}}, {"grid_phase1_voltage", 230.4}});
        device.set_block(2000, {{"ac_output_switch", false}, {"dc_output_switch", false}});
        // The daemon's defaults: 5 s per request, 3 sends, first replies of a shape confirmed.
        channel = std::make_unique<cloud::DeviceChannel>(clock, *schemas, cloud::ChannelOptions{}, [this](const Bytes& p) {
            sent.push_back(p);
            return true;
        });
        bridge::StationSetup setup;
        setup.serial = kSerial;
        setup.model_id = "EL100V2";
        setup.profile = profile;
        setup.schemas = schemas;
        setup.control_keys = profile->controls;
        locator = std::make_unique<cloud::DeviceLocator>(*channel, kSerial, where());
        station = std::make_unique<bridge::Station>(clock, setup, *locator, publisher, counters, polls, discovery);
    }

    // Where the daemon looks for a device of the profile (Daemon::add_station).
    cloud::LocatorOptions where(std::optional<std::uint8_t> configured_slave = std::nullopt) const {
        cloud::LocatorOptions o;
        o.envelope = profile->envelope;
        o.slave = profile->slave;
        o.probe_slaves = profile->probe_slaves;
        o.configured_slave = configured_slave;
        o.has_packs = profile->has_block(cloud::kNodeInfoBlock);
        o.log_area = "bridge";
        return o;
    }

    // Answers every request sent and not yet answered, and those the answers lead to.
    void answer() {
        for (int guard = 0; answered < sent.size() && guard < 100; ++guard)
            if (auto reply = device.answer(sent[answered++])) channel->on_payload(*reply);
        REQUIRE(answered == sent.size());
    }
    // One poll of `group`, answered by the device; true once the station called it done.
    bool poll(const std::string& group) {
        bool done = false;
        station->poll(group, [&done] { done = true; });
        answer();
        return done;
    }
    nlohmann::json diagnostics() const { return publisher.state("diagnostics"); }
};

struct Request {
    codec::FrameKind kind;
    std::uint16_t address = 0, quantity = 0;
    std::uint8_t slave = 0;
};
Request parse_request(const Bytes& payload) {
    auto unwrapped = codec::unwrap(payload);
    REQUIRE(unwrapped.ok());
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::request);
    REQUIRE(frame.ok());
    return {frame->kind, frame->address, frame->quantity, frame->slave};
}

}  // namespace

TEST_CASE("station: a good poll of the core group publishes the decoded states and goes online") {
    StationFixture f;
    CHECK_FALSE(f.station->online());
    CHECK(f.publisher.availability().empty());
    REQUIRE(f.poll("core"));
    CHECK(f.publisher.state("home_data")["pack_soc"] == 76);
    CHECK(f.publisher.state("inv_grid_info")["grid_phase1_voltage"].get<double>() == doctest::Approx(230.4));
    CHECK(f.publisher.state("inv_grid_info")["grid_frequency"].get<double>() == doctest::Approx(50.0));
    CHECK(f.station->online());
    CHECK(f.publisher.availability() == "online");
    CHECK(f.diagnostics()["polls"] == 1);
    CHECK_FALSE(f.station->busy());
}

TEST_CASE("station: three failed polls in a row take it offline, a good poll in between starts the count again") {
    StationFixture f;
    REQUIRE(f.poll("core"));
    f.device.exception = 4;  // device failure: not retried, so each poll fails at once
    REQUIRE(f.poll("core"));
    REQUIRE(f.poll("core"));
    CHECK(f.publisher.availability() == "online");
    f.device.exception.reset();
    REQUIRE(f.poll("core"));
    f.device.exception = 4;
    REQUIRE(f.poll("core"));
    REQUIRE(f.poll("core"));
    CHECK(f.station->online());
    CHECK(f.publisher.availability() == "online");
    REQUIRE(f.poll("core"));
    CHECK_FALSE(f.station->online());
    CHECK(f.publisher.availability() == "offline");
    CHECK(f.publisher.availability_changes("offline") == 1);
    CHECK(f.diagnostics()["exceptions"] == 10);
}

TEST_CASE("station: silence for 2 core intervals and 2 request timeouts takes it offline, data re-arms the wait") {
    StationFixture f;
    const auto silence = 2 * 10s + 2 * 5s;  // EL100V2's core interval, the channel's request timeout
    REQUIRE(f.poll("core"));
    f.clock.advance(silence - 10s);
    REQUIRE(f.poll("core"));  // data: the wait starts again
    f.clock.advance(silence - 1ms);
    CHECK(f.publisher.availability() == "online");
    f.clock.advance(1ms);
    CHECK_FALSE(f.station->online());
    CHECK(f.publisher.availability() == "offline");
    REQUIRE(f.poll("core"));
    CHECK(f.publisher.availability() == "online");
}

TEST_CASE("station: the cloud session going down takes it offline at once, data brings it back") {
    StationFixture f;
    REQUIRE(f.poll("core"));
    f.station->link_changed(false);
    CHECK_FALSE(f.station->online());
    CHECK(f.publisher.availability() == "offline");
    f.station->link_changed(true);
    CHECK(f.publisher.availability() == "offline");  // online again only with data
    REQUIRE(f.poll("core"));
    CHECK(f.publisher.availability() == "online");
}

TEST_CASE("station: a command for an enabled control writes FC 06 and reads the settings back") {
    StationFixture f;
    REQUIRE(f.poll("core"));
    const std::size_t before = f.sent.size();
    f.station->command("ac_output_switch", "ON");
    REQUIRE(f.sent.size() == before + 1);
    CHECK(to_hex(f.sent[before]) == to_hex(codec::wrap(codec::Envelope::v2, 2011, *codec::build_write_single(0, 2011, 1))));
    f.answer();
    REQUIRE(f.sent.size() > before + 1);
    const Request reread = parse_request(f.sent[before + 1]);
    CHECK(reread.kind == codec::FrameKind::read_request);
    CHECK(reread.address == 2000);
    CHECK(reread.quantity == 30);  // the profile's read of block 2000
    CHECK(f.publisher.state("inv_base_settings")["ac_output_switch"] == "ON");
    CHECK(f.diagnostics()["writes"] == 1);
    CHECK(f.diagnostics()["write_failures"] == 0);
    CHECK_FALSE(f.station->busy());
}

TEST_CASE("station: an invalid command payload writes nothing") {
    StationFixture f;
    f.station->command("ac_output_switch", "sideways");
    f.station->command("soc_charge_limit", "80");  // on the whitelist, not enabled for EL100V2
    f.station->command("power_off", "ON");
    f.clock.advance(10s);
    CHECK(f.sent.empty());
    CHECK(f.diagnostics()["commands_rejected"] == 3);
    CHECK(f.diagnostics()["writes"] == 0);
    f.station->command("dc_output_switch", "ON");  // the same path with a valid payload does write
    CHECK(f.sent.size() == 1);
}

TEST_CASE("station: a key first present in a good reply is announced in its discovery") {
    StationFixture f;
    f.station->announce(true);  // as the daemon does once the station exists
    REQUIRE(f.publisher.discovery_calls == 1);
    const std::string pack_soc_id = "\"bluetti_" + kSerial + "_pack_soc\"";
    CHECK(f.publisher.discovery_text().find(pack_soc_id) == std::string::npos);
    REQUIRE(f.poll("core"));
    const int announced = f.publisher.discovery_calls;
    CHECK(announced > 1);
    CHECK(f.station->present_keys().count("pack_soc") == 1);
    const std::string text = f.publisher.discovery_text();
    CHECK(text.find(pack_soc_id) != std::string::npos);
    CHECK(text.find("\"bluetti_" + kSerial + "_grid_phase1_voltage\"") != std::string::npos);
    CHECK(text.find("_grid_phase2_voltage\"") == std::string::npos);  // one phase: phase 2 is absent
    REQUIRE(f.poll("core"));
    CHECK(f.publisher.discovery_calls == announced);  // nothing new: no new announcement
}

TEST_CASE("station: destroyed with a read in flight, nothing of it stays on the channel") {
    StationFixture f;
    REQUIRE(f.poll("core"));
    f.device.silent = true;
    bool done = false;
    f.station->poll("core", [&done] { done = true; });
    f.station->command("dc_output_switch", "ON");
    REQUIRE(f.channel->busy());
    f.station.reset();
    CHECK_FALSE(f.channel->busy());
    CHECK(f.clock.pending() == 0);  // no channel, silence or writer timer left to fire
    CHECK(f.publisher.forgotten.count(kSerial) == 1);
    const auto published = f.publisher.publications.size();
    f.clock.advance(60s);
    // A push still arriving reaches no station.
    Bytes data(62, 0);
    data[5] = 50;
    f.channel->on_payload(codec::wrap(codec::Envelope::v2, 0, *codec::build_write_multiple(0, 100, data)));
    CHECK(f.channel->stats().pushes == 1);
    CHECK(f.publisher.publications.size() == published);
    CHECK_FALSE(done);
    // Nothing may be written any more through this channel.
    std::optional<cloud::ChannelErrc> write_error;
    f.channel->write_register(0, 2011, 1, [&](auto r) {
        if (!r) write_error = r.error().code;
    });
    CHECK(write_error == cloud::ChannelErrc::bad_request);
}

// Probing (docs/protocol.md §7.3): a device that does not answer at the profile's slave is looked
// for at the probe list's slaves, then with the V1 envelope; where it answers is kept.
namespace {
// Polls `core` until the station is online or `polls` polls ran, letting every request time out.
bool poll_until_online(StationFixture& f, int polls) {
    for (int i = 0; i < polls && !f.station->online(); ++i) {
        bool done = false;
        f.station->poll("core", [&done] { done = true; });
        for (int guard = 0; !done && guard < 100; ++guard) {
            f.answer();
            if (!done) f.clock.advance(1s);
        }
        REQUIRE(done);
    }
    return f.station->online();
}
}  // namespace

TEST_CASE("station: a device silent at the profile's slave is found at the next probe slave, and read there") {
    StationFixture f;
    f.device.slave = 1;  // EL100V2: slave 0, probes [0, 1]
    REQUIRE(poll_until_online(f, 3));
    CHECK(parse_request(f.sent.back()).slave == 1);
    CHECK(f.publisher.state("home_data")["pack_soc"] == 76);
    // Found once: later polls go to slave 1 straight away.
    const auto before = f.sent.size();
    REQUIRE(f.poll("core"));
    CHECK(f.sent.size() == before + 2);  // 100 and 1300, no probe and no retry
}

TEST_CASE("station: a device that answers only in the V1 envelope is found after the V2 probes") {
    StationFixture f;
    f.device.slave = 1;
    f.device.envelope = codec::Envelope::v1;
    REQUIRE(poll_until_online(f, 4));
    auto unwrapped = codec::unwrap(f.sent.back());
    REQUIRE(unwrapped.ok());
    CHECK(unwrapped->envelope == codec::Envelope::v1);
    CHECK(f.publisher.state("home_data")["pack_soc"] == 76);
}

TEST_CASE("station: a configured slave is the only one asked") {
    StationFixture f;
    const bridge::StationSetup setup = f.station->setup();
    f.station.reset();
    f.sent.clear();
    f.answered = 0;
    f.locator = std::make_unique<cloud::DeviceLocator>(*f.channel, kSerial, f.where(1));
    f.station = std::make_unique<bridge::Station>(f.clock, setup, *f.locator, f.publisher, f.counters, f.polls, f.discovery);
    f.device.slave = 0;  // the device is elsewhere: never found
    CHECK_FALSE(poll_until_online(f, 5));
    for (std::size_t i = 0; i < f.sent.size(); ++i) {
        auto unwrapped = codec::unwrap(f.sent[i]);
        REQUIRE(unwrapped.ok());
        CHECK(unwrapped->envelope == codec::Envelope::v2);
        CHECK(unwrapped->rtu[0] == 1);
    }
}

TEST_CASE("station: its keys count as saved until a new key appears, so the daemon rewrites stations.json only then") {
    StationFixture f;
    CHECK_FALSE(f.station->present_keys_saved());  // never written
    f.station->mark_present_keys_saved();
    CHECK(f.station->present_keys_saved());
    REQUIRE(f.poll("core"));  // the first reply brings keys
    CHECK_FALSE(f.station->present_keys_saved());
    f.station->mark_present_keys_saved();
    REQUIRE(f.poll("core"));  // the same keys again
    CHECK(f.station->present_keys_saved());
}

TEST_CASE("station: its poll schedule is queued while it lives, and a poll it ran ends the poll handed out") {
    StationFixture f;
    const auto never_busy = [](const std::string&) { return false; };
    const auto now = f.clock.now();
    auto first = f.polls.next(now, never_busy);
    REQUIRE(first.has_value());
    CHECK(first->schedule == &f.station->schedule());
    CHECK(first->schedule->device() == kSerial);
    CHECK(first->group == "core");
    CHECK_FALSE(f.polls.next(now, never_busy).has_value());  // running until the station polled it
    REQUIRE(f.poll("core"));
    auto second = f.polls.next(f.clock.now(), never_busy);
    REQUIRE(second.has_value());
    CHECK(second->group == "detail");
    REQUIRE(f.poll("detail"));
    CHECK(f.polls.next_due().has_value());
    f.station.reset();
    CHECK_FALSE(f.polls.next_due().has_value());
}

TEST_CASE("station: a reconfigured interval reaches its poll schedule") {
    StationFixture f;
    const auto never_busy = [](const std::string&) { return false; };
    while (auto p = f.polls.next(f.clock.now(), never_busy)) REQUIRE(f.poll(p->group));
    const auto t = f.clock.now();
    bridge::StationSetup setup = f.station->setup();
    for (const auto& g : f.profile->groups) setup.poll[g.name] = 1h;
    setup.poll["core"] = 20s;
    f.station->reconfigure(setup);
    REQUIRE(f.polls.next_due().has_value());
    // Polled at t, core fell due on its 10 s grid within 15 s; on its 20 s grid it is 15-45 s away.
    CHECK(*f.polls.next_due() >= t + 15s);
    CHECK(*f.polls.next_due() < t + 45s);
}
