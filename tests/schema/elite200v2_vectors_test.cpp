// The Elite 200 V2 as a live unit answers (tests/data/elite200v2_vectors.json): its "not
// supported" registers (0x0194) and "not applicable" times decode as absent, its 0.1 V max charge
// voltage as 42.6 V, its grid frequency 0 beside a grid voltage as absent. The same bytes decoded
// as an AP300 keep their values: the sentinels belong to the profile, not to the schema.
#include <algorithm>

#include "bluetti/ha/counter_guard.hpp"
#include "bluetti/profile/controls.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"
#include "value_json.hpp"

using namespace bluetti;

namespace {

schema::SchemaRegistry schemas_for(const std::string& model) {
    static const auto profiles = *profile::ProfileSet::builtin();
    static const auto base = *schema::SchemaRegistry::builtin();
    const profile::Profile* p = profiles.find(model);
    REQUIRE(p != nullptr);
    auto r = profile::apply_profile(base, *p);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    return std::move(*r);
}

nlohmann::json elite_vectors() {
    return nlohmann::json::parse(test::read_data_file("elite200v2_vectors.json"))["vectors"];
}

schema::DecodedBlock decode(const schema::SchemaRegistry& registry, const nlohmann::json& v) {
    const schema::BlockSchema* schema = registry.find(v["block"].get<std::uint16_t>());
    REQUIRE(schema != nullptr);
    const Bytes data = test::hex(v["data"].get<std::string>());
    auto decoded = schema::decode(*schema, data);
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
    return std::move(*decoded);
}

const schema::DecodedField& field(const schema::DecodedBlock& block, const std::string& key) {
    const schema::DecodedField* f = block.find(key);
    REQUIRE_MESSAGE(f != nullptr, "no row for " << key);
    return *f;
}

}  // namespace

TEST_CASE("Elite 200 V2 vectors: live facts decode as values or as absent") {
    const auto elite = schemas_for("ELITE200V2");
    const auto vectors = elite_vectors();
    REQUIRE(vectors.size() == 10);
    for (const auto& v : vectors) {
        CAPTURE(v["id"].get<std::string>());
        const auto decoded = decode(elite, v);
        for (const auto& item : v["decoded"].items()) {
            const std::string& key = item.key();
            CAPTURE(key);
            // value_json gives an ordered_json; compare it as the vectors' plain json.
            CHECK(nlohmann::json(app::value_json(field(decoded, key).value)) == item.value());
        }
        for (const auto& key : v["absent"]) {
            CAPTURE(key.get<std::string>());
            CHECK(schema::is_absent(field(decoded, key).value));
        }
        // No frame of the live unit is implausible once its sentinels are absent.
        CHECK_FALSE(schema::check_plausible(*decoded.schema, decoded).has_value());
    }
}

TEST_CASE("Elite 200 V2 vectors: the same bytes keep their values on the AP300") {
    const auto apex = schemas_for("AP300");
    for (const auto& v : elite_vectors()) {
        CAPTURE(v["id"].get<std::string>());
        const auto decoded = decode(apex, v);
        CHECK(decoded.not_supported.empty());
        for (const auto& item : v["other_profile"].items()) {
            const std::string& key = item.key();
            CAPTURE(key);
            // value_json gives an ordered_json; compare it as the vectors' plain json.
            CHECK(nlohmann::json(app::value_json(field(decoded, key).value)) == item.value());
        }
    }
}

TEST_CASE("Elite 200 V2: 'not supported' keys are reported, and only they") {
    const auto elite = schemas_for("ELITE200V2");
    for (const auto& v : elite_vectors()) {
        if (v["id"] != "E8") continue;
        const auto decoded = decode(elite, v);
        CHECK(decoded.not_supported ==
              std::vector<std::string>{"feed_in_switch", "grid_charge_power_limit", "feed_in_power_limit", "ac_output_current_limit"});
    }
}

TEST_CASE("Elite 200 V2: apparent power in VA, no inverter temperature entity") {
    const auto elite = schemas_for("ELITE200V2");
    const auto row = [&](std::uint16_t block, const std::string& key) -> const schema::FieldSpec& {
        const auto* schema = elite.find(block);
        REQUIRE(schema != nullptr);
        for (const auto& f : schema->fields)
            if (f.key.text == key) return f;
        for (const auto& g : schema->groups)
            for (const auto& f : g.fields)
                if (f.key.text == key) return f;
        FAIL("no row " << key);
        throw;
    };
    for (const auto& [block, key_] : std::vector<std::pair<std::uint16_t, std::string>>{
             {100, "ac_output_power"}, {100, "grid_power"}, {1300, "grid_phase{p}_power"}, {1400, "ac_load_phase{p}_power"}}) {
        const std::string& key = key_;  // a named copy: clang 14 cannot capture a structured binding
        CAPTURE(key);
        CHECK(row(block, key).unit == "VA");
        CHECK(row(block, key).device_class == "apparent_power");
    }
    CHECK(row(100, "dc_output_power").unit == "W");
    CHECK(row(1100, "inverter_temperature").entity == schema::EntityKind::none);
    CHECK(row(1100, "inverter_temperature").omitted);
}

TEST_CASE("Elite 200 V2: grid charging is read at 2008 and is not writable there") {
    const auto elite = schemas_for("ELITE200V2");
    const schema::BlockSchema& base = *elite.find(2000);
    const auto in = [](const schema::BlockSchema& b, const std::string& key) {
        return std::any_of(b.fields.begin(), b.fields.end(), [&](const schema::FieldSpec& f) { return f.key.text == key; });
    };
    CHECK(in(base, "grid_charge_switch"));
    CHECK_FALSE(in(*elite.find(2200), "grid_charge_switch"));
    std::vector<std::string> rejected;
    const auto controls = profile::resolve_controls(elite, {"grid_charge_switch", "ac_output_switch"}, &rejected);
    REQUIRE(controls.size() == 1);
    CHECK(controls[0].key == "ac_output_switch");
    CHECK(rejected ==
          std::vector<std::string>{"grid_charge_switch: this model keeps it at register 2008, not at the writable register 2207"});
    // The Apex 300 keeps it at 2207, where it is written.
    const auto apex = schemas_for("AP300");
    CHECK(in(*apex.find(2200), "grid_charge_switch"));
    CHECK(profile::resolve_controls(apex, {"grid_charge_switch"}).size() == 1);
}

TEST_CASE("charging_mode: 4 is custom, 3, which no device shows, is an unknown code") {
    const auto registry = schemas_for("ELITE200V2");
    Bytes data(60, 0);
    data[11] = 4;  // working mode standard_ups: a known code, so the only unknown one is below
    data[41] = 4;
    auto custom = schema::decode(*registry.find(2000), data);
    REQUIRE(custom.ok());
    CHECK(std::get<std::string>(custom->find("charging_mode")->value) == "custom");
    data[41] = 3;
    auto three = schema::decode(*registry.find(2000), data);
    REQUIRE(three.ok());
    CHECK(schema::is_absent(three->find("charging_mode")->value));
    CHECK(three->unknown_codes == std::vector<std::pair<std::string, std::int64_t>>{{"charging_mode", 3}});
}

TEST_CASE("Elite 200 V2: an energy counter reading 'not supported' never reaches the counter guard") {
    const auto elite = schemas_for("ELITE200V2");
    ha::CounterGuard guard("SN");
    const auto t0 = ha::CounterGuard::Clock::time_point{std::chrono::seconds(1'717'200'000)};
    const auto reading = [&](std::uint32_t feed_in_raw, int minute) {
        Bytes data(124, 0);
        data[117] = static_cast<std::uint8_t>(feed_in_raw);  // feed_in_energy, u32ws at byte 116
        data[116] = static_cast<std::uint8_t>(feed_in_raw >> 8);
        auto decoded = schema::decode(*elite.find(100), data);
        REQUIRE(decoded.ok());
        const auto verdict = guard.filter(*decoded, 2600, t0 + std::chrono::minutes(minute));
        CHECK(verdict.held == 0);  // 404 would be a jump from 12.0 to 40.4 kWh, held and then accepted
        return decoded->find("feed_in_energy")->value;
    };
    CHECK(reading(120, 0) == schema::Value{12.0});
    for (int minute = 1; minute <= 4; ++minute) CHECK(schema::is_absent(reading(0x0194, minute)));
    CHECK(reading(121, 5) == schema::Value{12.1});
}
