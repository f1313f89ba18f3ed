// Real AP300 bytes through the cloud broker (tests/data/apex300, from battery-ha's test fixtures): every
// capture decodes without error to the facts of captures/README.md.
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti;

namespace {

schema::SchemaRegistry ap300_registry() {
    auto profiles = profile::ProfileSet::builtin();
    REQUIRE(profiles.ok());
    auto r = schema::SchemaRegistry::builtin()->with_overrides(profiles->find("AP300")->overrides);
    REQUIRE(r.ok());
    return std::move(*r);
}

using test::trimmed;

schema::DecodedBlock decode_data(const schema::SchemaRegistry& registry, std::uint16_t block, const Bytes& data) {
    const schema::BlockSchema* s = registry.find(block);
    REQUIRE(s != nullptr);
    auto decoded = schema::decode(*s, data);
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
    return std::move(*decoded);
}

schema::DecodedBlock decode_payload(const schema::SchemaRegistry& registry, std::uint16_t block, const std::string& file) {
    const Bytes payload = test::hex(trimmed(test::read_data_file(file)));
    auto unwrapped = codec::unwrap(payload);
    REQUIRE_MESSAGE(unwrapped.ok(), unwrapped.error().message);
    CHECK(unwrapped->envelope == codec::Envelope::v2);
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
    REQUIRE_MESSAGE(frame.ok(), frame.error().message);
    return decode_data(registry, block, Bytes(frame->data.begin(), frame->data.end()));
}

template <class T>
T value_of(const schema::DecodedBlock& b, std::string_view key) {
    const auto* f = b.find(key);
    REQUIRE_MESSAGE(f != nullptr, "no key " << key);
    REQUIRE_MESSAGE(std::holds_alternative<T>(f->value), "key " << key << " has another type or is absent");
    return std::get<T>(f->value);
}

}  // namespace

TEST_CASE("capture: block 100 payload gives model, serial and SOC") {
    const auto b = decode_payload(ap300_registry(), 100, "apex300/mqtt_home_data_v2.hex");
    CHECK(value_of<std::string>(b, "device_model") == "AP300");
    CHECK(value_of<std::string>(b, "device_serial") == "2616113487436");
    CHECK(value_of<std::int64_t>(b, "pack_soc") == 95);
    CHECK(value_of<double>(b, "pack_voltage") == doctest::Approx(53.13));
}

TEST_CASE("capture: block 6000 payload gives SOC 95 % and SOH 25 %") {
    const auto b = decode_payload(ap300_registry(), 6000, "apex300/mqtt_pack_main_v2.hex");
    CHECK(value_of<std::int64_t>(b, "bms_soc") == 95);
    CHECK(value_of<std::int64_t>(b, "bms_soh") == 25);
    CHECK(value_of<double>(b, "bms_voltage") == doctest::Approx(53.13));
    CHECK(value_of<double>(b, "bms_charge_energy") == doctest::Approx(673043.0));
}

// captures/README.md lists pack_item_v2.hex among the whole payloads, but it holds register data
// only (docs/protocol.md G10 wraps it in a synthetic envelope).
TEST_CASE("capture: block 6100 register data is the internal pack at slave 0") {
    const auto b = decode_data(ap300_registry(), 6100, test::hex(trimmed(test::read_data_file("apex300/pack_item_v2.hex"))));
    CHECK(value_of<std::string>(b, "battery_pack1_model") == "AP300");
    CHECK(value_of<std::int64_t>(b, "battery_pack1_soc") == 95);
    CHECK(value_of<std::int64_t>(b, "battery_pack1_cell_count") == 16);
    CHECK(value_of<std::string>(b, "battery_pack1_firmware_bms_version") == "1073.08");
    CHECK(schema::is_absent(b.find("battery_pack1_voltage")->value));
}

TEST_CASE("capture: NODE_INFO lists the main unit, a D1 hub and a B300 pack") {
    const auto b = decode_data(ap300_registry(), 21000, test::hex(trimmed(test::read_data_file("apex300/node_info_v1.hex"))));
    CHECK(value_of<std::int64_t>(b, "node_count") == 3);
    CHECK(value_of<std::int64_t>(b, "node2_slave") == 11);
    CHECK(value_of<std::int64_t>(b, "node3_slave") == 51);
    CHECK(value_of<std::int64_t>(b, "node3_model_code") == 4005);
}

TEST_CASE("capture: block 1100 firmware 2204.15 and absent temperatures") {
    const auto b = decode_data(ap300_registry(), 1100, test::hex(trimmed(test::read_data_file("apex300/blocks/block_1100.hex"))));
    CHECK(value_of<std::string>(b, "firmware_arm_version") == "2204.15");
    CHECK(value_of<std::string>(b, "firmware_dsp_version") == "2174.17");
    CHECK(value_of<std::string>(b, "firmware_dc_hub_version") == "9084.09");
    CHECK(value_of<std::string>(b, "firmware_bms_version") == "1073.08");
    CHECK(schema::is_absent(b.find("ambient_temperature")->value));
    CHECK(schema::is_absent(b.find("inverter_temperature")->value));
}

TEST_CASE("capture: block 1300 grid import 3.3 kWh (word-swapped u32)") {
    const auto b = decode_data(ap300_registry(), 1300, test::hex(trimmed(test::read_data_file("apex300/blocks/block_1300.hex"))));
    CHECK(value_of<double>(b, "grid_import_energy") == doctest::Approx(3.3));
}

TEST_CASE("capture: block 6300 has 16 cells around 3.3 V") {
    const auto b = decode_data(ap300_registry(), 6300, test::hex(trimmed(test::read_data_file("apex300/blocks/block_6300.hex"))));
    CHECK(value_of<std::int64_t>(b, "battery_pack1_cells_reported") == 16);
    for (int i = 1; i <= 16; ++i) {
        const double v = value_of<double>(b, "battery_pack1_cell" + std::to_string(i) + "_voltage");
        CHECK(v > 3.2);
        CHECK(v < 3.4);
    }
    CHECK(b.find("battery_pack1_cell17_voltage") == nullptr);
}

TEST_CASE("capture: every register-data capture of a known block decodes without error") {
    const auto registry = ap300_registry();
    for (int block : {100, 1100, 1200, 1300, 1400, 1500, 2200, 6300}) {
        CAPTURE(block);
        const auto b = decode_data(registry, static_cast<std::uint16_t>(block),
                                   test::hex(trimmed(test::read_data_file("apex300/blocks/block_" + std::to_string(block) + ".hex"))));
        CHECK(b.present_count() > 0);
        CHECK(b.unknown_codes.empty());
    }
}
