// Controls of docs/protocol.md §8: which keys a device may write, and command payloads to register values.
#include "bluetti/profile/controls.hpp"

#include <doctest/doctest.h>

#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"

using namespace bluetti;

namespace {
const schema::SchemaRegistry& registry() {
    static const schema::SchemaRegistry r = *schema::SchemaRegistry::builtin();
    return r;
}
profile::Control control(const std::string& key) {
    auto found = profile::resolve_controls(registry(), {key});
    REQUIRE(found.size() == 1);
    return found.front();
}
}  // namespace

TEST_CASE("controls: resolved from keys on the whitelist with a schema row, the rest refused with a reason") {
    std::vector<std::string> rejected;
    const auto c = profile::resolve_controls(
        registry(),
        {"ac_output_switch", "charging_mode", "soc_charge_limit", "grid_charge_power_limit", "power_off", "pack_soc", "ac_output_switch"},
        &rejected);
    REQUIRE(c.size() == 4);
    CHECK(c[0].kind == profile::Control::Kind::switch_);
    CHECK(c[0].limits->reg == 2011);
    CHECK(c[0].block->block == 2000);
    CHECK(c[1].kind == profile::Control::Kind::select);
    CHECK(c[2].kind == profile::Control::Kind::number);
    CHECK(c[3].block->block == 2200);
    CHECK(c[3].limits->reg == 2213);
    REQUIRE(rejected.size() == 2);
    CHECK(rejected[0].find("power_off") == 0);
    CHECK(rejected[1].find("pack_soc") == 0);
    CHECK(profile::control_registers(c) == std::set<std::uint16_t>{2011, 2020, 2023, 2213});
}

TEST_CASE("controls: limits for Home Assistant come from the whitelist, select options inside its range") {
    const auto mode = control("charging_mode");
    CHECK(mode.min == 0);
    CHECK(mode.max == 2);
    CHECK(mode.options == std::vector<std::string>{"standard", "silent", "turbo"});  // custom (4) is read, never written
    const auto limit = control("grid_charge_power_limit");
    CHECK(limit.min == 300);
    CHECK(limit.max == 6000);
    CHECK(limit.step == 1);
    CHECK(limit.options.empty());

    // describe_control takes the caller's row as it is; a key off the whitelist is no control.
    const schema::BlockSchema& settings = *registry().find(2000);
    const schema::FieldSpec* row = nullptr;
    for (const auto& f : settings.fields)
        if (f.key.text == "charging_mode") row = &f;
    REQUIRE(row != nullptr);
    const auto described = profile::describe_control("charging_mode", &settings, *row);
    REQUIRE(described.has_value());
    CHECK(described->kind == profile::Control::Kind::select);
    CHECK(described->options == mode.options);
    CHECK_FALSE(profile::describe_control("time_control_switch", &settings, *row).has_value());
}

TEST_CASE("controls: every built-in profile's controls resolve, and none is a never-write register") {
    const auto profiles = *profile::ProfileSet::builtin();
    for (const auto* p : profiles.all()) {
        CAPTURE(p->model);
        std::vector<std::string> rejected;
        const auto schemas = *registry().with_overrides(p->overrides);
        const auto c = profile::resolve_controls(schemas, p->controls, &rejected);
        CHECK(rejected.empty());
        CHECK(c.size() == p->controls.size());
        for (std::uint16_t reg : profile::control_registers(c)) {
            CHECK(reg != codec::kPowerOffRegister);
            CHECK(reg != codec::kFactoryResetRegister);
            CHECK(reg != codec::kBatteryAgingRegister);
        }
    }
}

TEST_CASE("command payloads: switch, select, number") {
    struct Case {
        const char* key;
        const char* payload;
        int value;  // -1: refused
        const char* reason;
    };
    const Case cases[] = {
        {"ac_output_switch", "ON", 1, ""},
        {"ac_output_switch", "OFF", 0, ""},
        {"ac_output_switch", " on ", 1, ""},
        {"ac_output_switch", "true", 1, ""},
        {"ac_output_switch", "0", 0, ""},
        {"ac_output_switch", "maybe", -1, "is not ON or OFF"},
        {"ac_output_switch", "", -1, "is not ON or OFF"},
        {"charging_mode", "turbo", 2, ""},
        {"charging_mode", "Silent", 1, ""},
        {"charging_mode", "0", 0, ""},
        {"charging_mode", "custom", -1, "not one of the writable options (standard, silent, turbo)"},
        {"charging_mode", "3", -1, "not one of the writable options"},
        {"soc_charge_limit", "80", 80, ""},
        {"soc_charge_limit", "80.0", 80, ""},
        {"soc_charge_limit", "80.5", -1, "is not an integer"},
        {"soc_charge_limit", "101", -1, "101 is out of range 1..100 %"},
        {"soc_charge_limit", "0", -1, "out of range"},
        {"soc_charge_limit", "-5", -1, "out of range"},
        {"soc_charge_limit", "1e400", -1, "is not an integer"},
        {"soc_charge_limit", "nan", -1, "is not an integer"},
        {"grid_charge_power_limit", "299", -1, "out of range 300..6000 W"},
        {"grid_charge_power_limit", "6000", 6000, ""},
        {"grid_charge_power_limit", "99999999999999999999", -1, "is not an integer"},
        {"dc_eco_off_time", "4", 4, ""},
        {"dc_eco_off_time", "5", -1, "out of range 1..4 h"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.key);
        CAPTURE(c.payload);
        auto r = profile::parse_control_value(control(c.key), c.payload);
        if (c.value >= 0) {
            REQUIRE_MESSAGE(r.ok(), r.error());
            CHECK(*r == c.value);
        } else {
            REQUIRE_FALSE(r.ok());
            CHECK_MESSAGE(r.error().find(c.reason) != std::string::npos, r.error());
        }
    }
}

TEST_CASE("command payloads: the discharge limit stays below the charge limit") {
    const std::map<std::string, std::int64_t> settings{{"soc_charge_limit", 90}, {"soc_discharge_limit", 20}};
    CHECK(*profile::parse_control_value(control("soc_discharge_limit"), "89", settings) == 89);
    auto high = profile::parse_control_value(control("soc_discharge_limit"), "90", settings);
    REQUIRE_FALSE(high.ok());
    CHECK(high.error() == "90 % is not below the charge limit (90 %)");
    auto low = profile::parse_control_value(control("soc_charge_limit"), "20", settings);
    REQUIRE_FALSE(low.ok());
    CHECK(low.error() == "20 % is not above the discharge limit (20 %)");
    CHECK(*profile::parse_control_value(control("soc_charge_limit"), "21", settings) == 21);
}

TEST_CASE("controls: a control whose register reads 'not supported' (0x0194) on its model is not offered") {
    const auto profiles = *profile::ProfileSet::builtin();
    const auto elite = *profile::apply_profile(registry(), *profiles.find("ELITE200V2"));
    const auto apex = *profile::apply_profile(registry(), *profiles.find("AP300"));
    const std::vector<std::string> keys{"ac_output_switch", "grid_charge_switch", "feed_in_switch", "grid_charge_power_limit"};
    Bytes block2200(40, 0);
    for (std::size_t reg : {2207, 2208, 2213}) {  // 0x0194 = 404
        block2200[(reg - 2200) * 2] = 0x01;
        block2200[(reg - 2200) * 2 + 1] = 0x94;
    }

    // Grid charging is kept at 2008 on the Elite 200 V2, so it is no control there at all.
    const auto elite_controls = profile::resolve_controls(elite, keys);
    REQUIRE(elite_controls.size() == 3);
    const auto elite_read = schema::decode(*elite.find(2200), block2200);
    REQUIRE(elite_read.ok());
    CHECK(profile::unsupported_controls(elite_controls, *elite_read) ==
          std::vector<std::string>{"feed_in_switch", "grid_charge_power_limit"});

    // 404 W and a set low byte are real settings on a model whose profile lists no sentinel there.
    const auto apex_controls = profile::resolve_controls(apex, keys);
    const auto apex_read = schema::decode(*apex.find(2200), block2200);
    REQUIRE(apex_read.ok());
    CHECK(profile::unsupported_controls(apex_controls, *apex_read).empty());
    CHECK(std::get<std::int64_t>(apex_read->find("grid_charge_power_limit")->value) == 404);

    // An ordinary reading on the Elite 200 V2 withholds nothing.
    const auto zeros = schema::decode(*elite.find(2200), Bytes(40, 0));
    REQUIRE(zeros.ok());
    CHECK(profile::unsupported_controls(elite_controls, *zeros).empty());
}
