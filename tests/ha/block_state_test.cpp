// block_state(): the retained JSON of one block (docs/home-assistant.md §7, docs/architecture.md, "Stable contract"):
// present keys only, booleans "ON"/"OFF", numbers with the row's precision, text as text.
#include <cmath>
#include <limits>

#include "bluetti/ha/discovery.hpp"
#include "ha/ha_support.hpp"

using namespace bluetti;
using json = nlohmann::json;

TEST_CASE("block_state: G2 (block 100) has no booleans, exact numbers, absent keys left out") {
    const schema::DecodedBlock block = test::golden_block("G2");
    const std::string text = ha::block_state(block, {});
    const json state = json::parse(text);
    json expected;
    for (const auto& v : test::golden_vectors())
        if (v["id"] == "G2") expected = v;

    CHECK(text.find("\"ON\"") == std::string::npos);
    CHECK(text.find("\"OFF\"") == std::string::npos);
    CHECK(text.find("null") == std::string::npos);
    CHECK(state == expected["decoded"]);  // every present key, with its value
    for (const auto& key : expected["absent"]) CHECK_FALSE(state.contains(key.get<std::string>()));
    // numbers as the protocol's resolution gives them
    CHECK(text.find("\"pack_voltage\":52.48,") != std::string::npos);
    CHECK(text.find("\"pv_energy\":6789.0,") != std::string::npos);
    CHECK(text.find("\"ac_output_energy\":7012.5,") != std::string::npos);
    CHECK(text.find("\"grid_power\":-120,") != std::string::npos);
    CHECK(text.find("\"charging_status\":\"discharging\"") != std::string::npos);
    // schema order, as decoded
    CHECK(text.rfind("{\"pack_voltage\":52.48,\"pack_current\":-12.5,\"pack_soc\":76,", 0) == 0);
}

TEST_CASE("block_state: G4 (block 2000) switches as ON/OFF") {
    const std::string text = ha::block_state(test::golden_block("G4"), {});
    CHECK(text.find("\"ac_output_switch\":\"ON\",\"dc_output_switch\":\"OFF\"") != std::string::npos);
    const json state = json::parse(text);
    CHECK(state["inverter_switch"] == "ON");
    CHECK(state["ac_eco_switch"] == "OFF");
    CHECK(state["charging_mode"] == "turbo");
    CHECK(state["soc_charge_limit"] == 95);
}

TEST_CASE("block_state: absent keys omitted, excluded keys dropped") {
    struct Case {
        const char* vector;
        std::set<std::string> exclude;
        std::vector<std::string> present;
        std::vector<std::string> missing;
    };
    const Case cases[] = {
        {"G10",
         {},
         {"battery_pack1_soc", "battery_pack1_firmware_bms_version"},
         {"battery_pack1_voltage", "battery_pack1_soh", "battery_pack1_temperature"}},
        {"G1", {}, {"grid_phase1_voltage"}, {"grid_phase1_apparent_power", "grid_phase2_voltage"}},
        {"G1", {"grid_frequency", "grid_phase1_current"}, {"grid_phase1_voltage"}, {"grid_frequency", "grid_phase1_current"}},
        {"G6",
         {"battery_pack{n}_cell{i}_voltage"},
         {"battery_pack1_cell_voltage_min"},
         {"battery_pack1_cell1_voltage", "battery_pack1_cell16_voltage"}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.vector);
        const json state = json::parse(ha::block_state(test::golden_block(c.vector), c.exclude));
        for (const auto& k : c.present) CHECK_MESSAGE(state.contains(k), k);
        for (const auto& k : c.missing) CHECK_MESSAGE(!state.contains(k), k);
        for (const auto& item : state.items()) CHECK_MESSAGE(!item.value().is_null(), item.key());
    }
}

TEST_CASE("block_state: numbers keep the row's precision") {
    struct Case {
        const char* name;
        int precision;
        schema::Value value;
        const char* json_text;  // the value as published; nullptr = left out
    };
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Case cases[] = {
        {"float noise", 1, 1234.5000000001, "1234.5"},
        {"two decimals", 2, 52.479999999, "52.48"},
        {"three decimals", 3, 3.3210000004, "3.321"},
        {"whole number with decimals", 1, 6789.0, "6789.0"},
        {"precision 0 double", 0, 12.4, "12"},
        {"integer stays integer", 0, std::int64_t{-120}, "-120"},
        {"integer with a precision", 1, std::int64_t{5}, "5"},
        {"negative zero", 1, -0.0, "0.0"},
        {"tiny negative rounds to zero", 1, -0.01, "0.0"},
        {"not a number", 1, nan, nullptr},
        {"text", 0, std::string("2204.15"), "\"2204.15\""},
        {"boolean on", 0, true, "\"ON\""},
        {"boolean off", 0, false, "\"OFF\""},
        {"absent", 0, schema::Value{}, nullptr},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        schema::FieldSpec spec;
        spec.key = schema::make_template("value");
        spec.precision = c.precision;
        schema::DecodedBlock block;
        block.fields.push_back({"value", c.value, &spec});
        const std::string text = ha::block_state(block, {});
        CHECK(text == (c.json_text ? std::string("{\"value\":") + c.json_text + "}" : std::string("{}")));
    }
}
