// The physical model behind the simulated devices, driven through simulated time: solar power
// follows the day, SOC rises while charging and falls while discharging, energy counters never
// decrease, and everything stays in its plausible range.
#include <map>
#include <set>

#include "bluetti/schema/codec.hpp"
#include "sim/physics.hpp"
#include "sim_support.hpp"

using namespace bluetti;
using namespace bluetti::sim;
using namespace bluetti::sim::testing;

namespace {

// The decoded value of `key` in a real FC 03 read of `block` (the way the bridge would see it).
double read_value(SimDevice& d, std::uint16_t block, const std::string& key) {
    const Reply r = parse_reply(d.handle(v2(block, read_frame(0, block, d.block_registers(block)))));
    auto decoded = schema::decode(*d.schemas().find(block), r.frame.data);
    REQUIRE(decoded.ok());
    const schema::DecodedField* field = decoded->find(key);
    REQUIRE_MESSAGE(field != nullptr, key);
    const auto number = number_of(field->value);
    REQUIRE_MESSAGE(number.has_value(), key);
    return *number;
}

void write(SimDevice& d, std::uint16_t reg, std::uint16_t value) {
    const Exchange ex = d.handle(v2(reg, write_frame(0, reg, value)));
    REQUIRE(ex.reply.has_value());
    REQUIRE(parse_reply(ex).frame.kind == codec::FrameKind::write_single);
}

}  // namespace

TEST_CASE("solar power follows the day and peaks near the rating") {
    for (const auto& [profile_, peak] :
         std::map<std::string, double>{{"EL30V2", 400}, {"EL100V2", 1000}, {"ELITE200V2", 2000}, {"AP300", 2000}}) {
        const std::string& profile = profile_;  // a named copy: clang 14 cannot capture a structured binding
        CAPTURE(profile);
        const PowerModel model(rating_for(profile, 1), 3, local_time(2026, 6, 21, 0));
        CHECK(model.pv_available_w(local_time(2026, 6, 21, 2)) == 0.0);
        CHECK(model.pv_available_w(local_time(2026, 6, 21, 22)) == 0.0);
        const double noon = model.pv_available_w(local_time(2026, 6, 21, 12));
        CHECK(noon >= 0.7 * peak);
        CHECK(noon <= peak);
        CHECK(model.pv_available_w(local_time(2026, 6, 21, 8)) < noon);
    }
}

TEST_CASE("grid, loads and temperatures stay in their ranges") {
    PowerModel model(rating_for("AP300", 2), 11, local_time(2026, 1, 1, 0));
    Controls controls;
    std::set<int> rssi_seen;
    for (int minute = 0; minute < 3 * 24 * 60; minute += 7) {
        const TimePoint t = local_time(2026, 1, 1, 0) + std::chrono::minutes(minute);
        const Snapshot s = model.at(t, controls);
        CHECK(s.grid_voltage_v >= 227.0);
        CHECK(s.grid_voltage_v <= 233.0);
        CHECK(s.grid_frequency_hz >= 49.9);
        CHECK(s.grid_frequency_hz <= 50.1);
        CHECK(s.flows.ac_load_w >= 50.0);
        CHECK(s.flows.ac_load_w <= 600.0);
        CHECK(s.flows.dc_load_w >= 5.0);
        CHECK(s.flows.dc_load_w <= 60.0);
        CHECK(s.soc >= 5.0);
        CHECK(s.soc <= 100.0);
        for (const double temp : {s.battery_temperature_c, s.inverter_temperature_c, s.ambient_temperature_c}) {
            CHECK(temp >= 20.0);
            CHECK(temp <= 35.0);
        }
        CHECK(model.wifi_rssi_dbm(t) >= -65);
        CHECK(model.wifi_rssi_dbm(t) <= -55);
        CHECK(model.wifi_rssi_dbm(t) == model.wifi_rssi_dbm(t));  // a function of the time, not a draw
        rssi_seen.insert(model.wifi_rssi_dbm(t));
    }
    CHECK(rssi_seen.size() > 5);  // it does vary with the time
    controls.ac_output = false;
    CHECK(model.at(local_time(2026, 1, 4, 0), controls).flows.ac_load_w == 0.0);
}

TEST_CASE("SOC rises while charging from the sun") {
    TestClock clock{local_time(2026, 6, 21, 10, 0)};
    auto d = make_device("EL30V2", clock);
    write(*d, 2011, 0);  // AC output off
    write(*d, 2012, 0);  // DC output off
    const double start = read_value(*d, 100, "pack_soc");
    double last = d->snapshot().soc;
    for (int step = 0; step < 12; ++step) {
        clock.advance(std::chrono::minutes(5));
        const double soc = d->snapshot().soc;
        CHECK(soc >= last);
        last = soc;
        const Reply r = parse_reply(d->handle(v2(100, read_frame(0, 100, 62))));
        auto decoded = schema::decode(*d->schemas().find(100), r.frame.data);
        REQUIRE(decoded.ok());
        if (soc < 99.5) {
            CHECK(decoded->find("charging_status")->value == schema::Value{std::string("charging")});
            CHECK(std::get<double>(decoded->find("pack_current")->value) > 0.0);
        }
    }
    CHECK(read_value(*d, 100, "pack_soc") > start);
    CHECK(read_value(*d, 6000, "bms_soc") > start);
}

TEST_CASE("SOC falls while discharging at night and stops at the discharge limit") {
    TestClock clock{local_time(2026, 6, 21, 21, 0)};
    auto d = make_device("EL100V2", clock);
    write(*d, 2207, 0);   // no grid charging: the battery carries the load
    write(*d, 2022, 20);  // discharge limit 20 %
    const double start = read_value(*d, 100, "pack_soc");
    double last = d->snapshot().soc;
    for (int step = 0; step < 6; ++step) {
        clock.advance(std::chrono::minutes(5));
        const double soc = d->snapshot().soc;
        CHECK(soc < last);
        last = soc;
        const Reply r = parse_reply(d->handle(v2(100, read_frame(0, 100, 62))));
        auto decoded = schema::decode(*d->schemas().find(100), r.frame.data);
        REQUIRE(decoded.ok());
        CHECK(decoded->find("charging_status")->value == schema::Value{std::string("discharging")});
        CHECK(std::get<double>(decoded->find("pack_current")->value) < 0.0);
    }
    CHECK(read_value(*d, 100, "pack_soc") < start);
    // hours later the battery rests at the limit; the grid carries the load
    clock.advance(std::chrono::hours(5));
    CHECK(d->snapshot().soc == doctest::Approx(20.0).epsilon(0.01));
    CHECK(read_value(*d, 100, "grid_power") > 0.0);
}

TEST_CASE("grid charging lifts a low battery") {
    TestClock clock{local_time(2026, 6, 21, 20, 0)};
    auto d = make_device("EL30V2", clock);  // 288 Wh: empty within the evening
    const double charged_before = read_value(*d, 100, "grid_charge_energy");
    double lowest = 100;
    for (int step = 0; step < 6 * 12; ++step) {
        clock.advance(std::chrono::minutes(5));
        lowest = std::min(lowest, d->snapshot().soc);
    }
    CHECK(lowest >= 10.0);  // the default discharge limit
    CHECK(lowest <= 21.0);  // it did get down to where grid charging starts
    CHECK(read_value(*d, 100, "grid_charge_energy") > charged_before);
}

TEST_CASE("energy counters never decrease") {
    TestClock clock{local_time(2026, 6, 20, 0, 0)};
    auto d = make_device("AP300", clock);
    write(*d, 2208, 1);  // feed-in on, so the export counter moves too
    const std::vector<std::pair<std::uint16_t, std::string>> counters{
        {100, "dc_output_energy"},      {100, "ac_output_energy"},   {100, "pv_energy"},
        {100, "grid_charge_energy"},    {100, "feed_in_energy"},     {100, "pv_to_ac_energy"},
        {100, "pack_discharge_energy"}, {1200, "pv_input_energy"},   {1300, "grid_import_energy"},
        {1300, "grid_export_energy"},   {1400, "dc_load_energy"},    {1400, "ac_load_energy"},
        {1500, "inverter_energy"},      {6000, "bms_charge_energy"}, {6000, "bms_discharge_energy"}};
    std::map<std::string, double> first, last;
    for (const auto& [block, key] : counters) first[key] = last[key] = read_value(*d, block, key);
    for (int step = 0; step < 48 * 12; ++step) {
        clock.advance(std::chrono::minutes(5));
        if (step % 37 == 0) write(*d, 2011, static_cast<std::uint16_t>(step % 2));  // switch the AC output now and then
        for (const auto& [block, key_] : counters) {
            const std::string& key = key_;  // a named copy: clang 14 cannot capture a structured binding
            CAPTURE(key);
            const double v = read_value(*d, block, key);
            CHECK(v >= last[key]);
            last[key] = v;
        }
    }
    for (const std::string key : {"pv_energy", "ac_output_energy", "bms_charge_energy", "bms_discharge_energy", "pv_to_ac_energy"}) {
        CAPTURE(key);
        CHECK(last[key] > first[key]);
    }
    // a clock that goes back changes nothing
    clock.now -= std::chrono::hours(3);
    for (const auto& [block, key] : counters) CHECK(read_value(*d, block, key) >= last[key]);
}
