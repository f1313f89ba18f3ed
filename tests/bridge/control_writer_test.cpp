// ControlWriter with a manual clock and scripted device answers: validation before sending, the
// burst rule, one write per key per second, one write at a time, a re-read after every write.
#include "bridge/control_writer.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "manual_scheduler.hpp"

using namespace bluetti;
using namespace bluetti::bridge;
using namespace std::chrono_literals;

namespace {
struct Fixture {
    test::ManualScheduler clock;
    schema::SchemaRegistry schemas = *schema::SchemaRegistry::builtin();
    struct Sent {
        std::string key;
        std::uint16_t value;
        cloud::DeviceChannel::Callback<cloud::WriteConfirmation> done;
    };
    std::vector<Sent> writes;
    std::vector<std::pair<std::string, std::uint16_t>> rereads;
    std::vector<std::function<void()>> reread_done;
    std::map<std::string, std::int64_t> settings{{"soc_charge_limit", 100}, {"soc_discharge_limit", 10}};
    std::unique_ptr<ControlWriter> writer;

    Fixture() {
        ControlWriterHooks hooks;
        hooks.write = [this](const profile::Control& c, std::uint16_t v, cloud::DeviceChannel::Callback<cloud::WriteConfirmation> done) {
            writes.push_back({c.key, v, std::move(done)});
        };
        hooks.reread = [this](const profile::Control& c, std::uint16_t v, std::function<void()> done) {
            rereads.emplace_back(c.key, v);
            reread_done.push_back(std::move(done));
        };
        hooks.settings = [this] { return settings; };
        writer = std::make_unique<ControlWriter>(clock, "TEST", std::move(hooks));
        writer->set_controls(
            profile::resolve_controls(schemas, {"ac_output_switch", "dc_output_switch", "soc_charge_limit", "soc_discharge_limit"}));
    }
    // The device echoes the latest write; the re-read that follows completes.
    void confirm_latest() {
        auto done = std::move(writes.back().done);
        done(cloud::WriteConfirmation{0, writes.back().value, 80ms});
        REQUIRE(!reread_done.empty());
        auto reread = std::move(reread_done.back());
        reread();
    }
};
}  // namespace

TEST_CASE("control writer: invalid commands are refused with the reason and send nothing") {
    Fixture f;
    CHECK(f.writer->command("ac_output_switch", "sideways") == std::optional<std::string>("ac_output_switch: 'sideways' is not ON or OFF"));
    CHECK(f.writer->command("soc_charge_limit", "150") == std::optional<std::string>("soc_charge_limit: 150 is out of range 1..100 %"));
    CHECK(f.writer->command("soc_discharge_limit", "100") ==
          std::optional<std::string>("soc_discharge_limit: 100 % is not below the charge limit (100 %)"));
    CHECK(f.writer->command("charging_mode", "turbo") ==
          std::optional<std::string>("charging_mode is not a control enabled for this device"));
    CHECK(f.writer->command("power_off", "ON") == std::optional<std::string>("power_off is not a control"));
    CHECK(f.writes.empty());
    CHECK(f.writer->stats().rejected == 5);
    CHECK(f.writer->stats().last_error == "power_off is not a control");
}

TEST_CASE("control writer: write, then re-read, then the next one, a burst keeps the latest value") {
    Fixture f;
    CHECK_FALSE(f.writer->command("ac_output_switch", "OFF"));
    REQUIRE(f.writes.size() == 1);
    CHECK(f.writes[0].key == "ac_output_switch");
    CHECK(f.writes[0].value == 0);
    // While that write is in flight: a burst for one key, and another key.
    CHECK_FALSE(f.writer->command("soc_charge_limit", "80"));
    CHECK_FALSE(f.writer->command("soc_charge_limit", "85"));
    CHECK_FALSE(f.writer->command("soc_charge_limit", "90"));
    CHECK_FALSE(f.writer->command("dc_output_switch", "ON"));
    CHECK(f.writes.size() == 1);  // one at a time
    CHECK(f.writer->busy());

    f.confirm_latest();
    CHECK(f.rereads == std::vector<std::pair<std::string, std::uint16_t>>{{"ac_output_switch", 0}});
    REQUIRE(f.writes.size() == 2);
    CHECK(f.writes[1].key == "dc_output_switch");  // keys in order; each key once
    f.confirm_latest();
    REQUIRE(f.writes.size() == 3);
    CHECK(f.writes[2].key == "soc_charge_limit");
    CHECK(f.writes[2].value == 90);  // only the latest of the burst
    f.confirm_latest();
    CHECK(f.writes.size() == 3);
    CHECK_FALSE(f.writer->busy());
    CHECK(f.writer->stats().writes == 3);
    CHECK(f.writer->stats().commands == 5);
}

TEST_CASE("control writer: at most one write per key per second") {
    Fixture f;
    CHECK_FALSE(f.writer->command("ac_output_switch", "OFF"));
    f.confirm_latest();
    f.clock.advance(300ms);
    CHECK_FALSE(f.writer->command("ac_output_switch", "ON"));
    CHECK(f.writes.size() == 1);  // held until a second after the first
    f.clock.advance(600ms);
    CHECK(f.writes.size() == 1);
    f.clock.advance(150ms);
    REQUIRE(f.writes.size() == 2);
    CHECK(f.writes[1].value == 1);
    // Another key is not held by this one's limit.
    f.confirm_latest();
    CHECK_FALSE(f.writer->command("dc_output_switch", "OFF"));
    CHECK(f.writes.size() == 3);
}

TEST_CASE("control writer: a failed write is counted and still followed by a re-read") {
    Fixture f;
    CHECK_FALSE(f.writer->command("ac_output_switch", "OFF"));
    auto done = std::move(f.writes[0].done);
    done(bluetti::fail(cloud::ChannelError{cloud::ChannelErrc::timeout, 0, "no answer to the write of register 2011 after 3 attempts"}));
    CHECK(f.writer->stats().failures == 1);
    CHECK(f.writer->stats().last_error == "ac_output_switch = 0: no answer to the write of register 2011 after 3 attempts");
    CHECK(f.rereads.size() == 1);
    f.reread_done.back()();
    CHECK_FALSE(f.writer->busy());
}

TEST_CASE("control writer: controls taken away drop their pending commands") {
    Fixture f;
    CHECK_FALSE(f.writer->command("ac_output_switch", "OFF"));
    CHECK_FALSE(f.writer->command("dc_output_switch", "OFF"));
    f.writer->set_controls({});
    f.confirm_latest();
    CHECK(f.writes.size() == 1);
    CHECK_FALSE(f.writer->busy());
    CHECK(f.writer->command("ac_output_switch", "ON") ==
          std::optional<std::string>("ac_output_switch is not a control enabled for this device"));
}

TEST_CASE("control writer: hostile payloads are refused with a bounded, escaped echo that dumps as JSON") {
    Fixture f;
    CHECK(f.writer->command("ac_output_switch", "O\xFFN") == std::optional<std::string>("ac_output_switch: 'O\\xFFN' is not ON or OFF"));
    CHECK(f.writer->command("ac_output_switch", std::string("O\0N", 3)) ==
          std::optional<std::string>("ac_output_switch: 'O\\x00N' is not ON or OFF"));
    CHECK(f.writer->command("soc_charge_limit", "NaN") == std::optional<std::string>("soc_charge_limit: 'NaN' is not an integer"));
    CHECK(f.writer->command("soc_charge_limit", "1e400") == std::optional<std::string>("soc_charge_limit: '1e400' is not an integer"));
    CHECK(f.writer->command("power\xFF", "ON") == std::optional<std::string>("power\\xFF is not a control"));
    nlohmann::json diagnostics;
    diagnostics["last_write_error"] = f.writer->stats().last_error;
    CHECK_NOTHROW((void)diagnostics.dump());
    CHECK(f.writes.empty());
}

TEST_CASE("control writer: a payload over the cap is refused unread, whatever it holds") {
    Fixture f;
    const std::string just_fits = std::string(ControlWriter::kMaxPayloadBytes - 2, ' ') + "ON";
    CHECK_FALSE(f.writer->command("ac_output_switch", just_fits));  // a valid command at the limit still works
    CHECK(f.writes.size() == 1);
    const std::string big = std::string(1 << 20, ' ') + "OFF";
    const auto refused = f.writer->command("dc_output_switch", big);
    CHECK(refused == std::optional<std::string>("dc_output_switch: a payload of 1048579 bytes is refused unread (at most 256)"));
    CHECK(f.writer->stats().last_error == *refused);
    CHECK(f.writes.size() == 1);
}
