#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <set>

#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti::schema;

TEST_CASE("the built-in registry has the twelve blocks of docs/protocol.md") {
    auto r = SchemaRegistry::builtin();
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    std::vector<int> blocks;
    for (const auto* s : r->all()) blocks.push_back(s->block);
    CHECK(blocks == std::vector<int>{100, 1100, 1200, 1300, 1400, 1500, 2000, 2200, 6000, 6100, 6300, 21000});
    CHECK(r->find(1300)->state_topic == "inv_grid_info");
    CHECK(r->find(6100)->per_pack());
    CHECK_FALSE(r->find(100)->per_pack());
    CHECK(r->find(4242) == nullptr);
}

TEST_CASE("a key used by another block is refused") {
    auto r = SchemaRegistry::builtin();
    REQUIRE(r.ok());
    auto s = parse_schema("block: 9000\nname: X\nstate_topic: x\nread: 1\nmin_len: 2\nfields:\n  - {key: pack_soc, offset: 0, type: u16}\n",
                          "dup.yaml");
    REQUIRE(s.ok());
    auto error = r->add(std::move(*s));
    REQUIRE(error.has_value());
    CHECK(error->message.find("key 'pack_soc' of block 9000 is already used by block 100") != std::string::npos);
}

TEST_CASE("a directory adds a block at run time, without recompiling") {
    const auto dir = std::filesystem::temp_directory_path() / ("bluetti-schemas-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "block_9100.yaml") << "block: 9100\nname: EXTRA\nstate_topic: extra\nread: 2\nmin_len: 2\n"
                                              "fields:\n  - {key: extra_power, offset: 0, type: u16, unit: W}\n";
    auto r = SchemaRegistry::builtin();
    REQUIRE(r.ok());
    CHECK_FALSE(r->load_directory(dir).has_value());
    REQUIRE(r->find(9100) != nullptr);
    CHECK(r->find(9100)->source == (dir / "block_9100.yaml").string());

    std::ofstream(dir / "block_9200.yaml") << "block: 9200\nname: BROKEN\n";
    auto error = r->load_directory(dir);
    REQUIRE(error.has_value());
    CHECK(error->message.find("block_9200.yaml:1:1: missing required key 'state_topic'") != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("overrides change a field's scale and precision, and unknown keys are errors") {
    auto r = SchemaRegistry::builtin();
    REQUIRE(r.ok());
    auto changed = r->with_overrides({{"pack_voltage", FieldOverride{0.01, {}, {}, {}, {}}}});
    REQUIRE(changed.ok());
    const auto& field = changed->find(100)->fields.front();
    CHECK(field.key.text == "pack_voltage");
    CHECK(field.scale == doctest::Approx(0.01));
    CHECK(field.precision == 2);
    CHECK(r->find(100)->fields.front().scale == doctest::Approx(0.1));  // the original is untouched
    CHECK(changed->find(1300) == r->find(1300));                        // unchanged blocks are shared

    auto bad = r->with_overrides({{"pack_voltag", FieldOverride{0.01, {}, {}, {}, {}}}});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("unknown key 'pack_voltag'") != std::string::npos);
}

TEST_CASE("an override scaling both count fields of block 1200 out of range decodes without overflow") {
    // Found by fuzz_profile_yaml (corpus/profile_yaml/regress_count_overflow): a profile scale of
    // 1e308 makes pv_dc_string_count and pv_ac_string_count inf; their int64 sum overflowed.
    auto r = SchemaRegistry::builtin();
    REQUIRE(r.ok());
    auto changed = r->with_overrides(
        {{"pv_dc_string_count", FieldOverride{1e308, {}, {}, {}, {}}}, {"pv_ac_string_count", FieldOverride{1e308, {}, {}, {}, {}}}});
    REQUIRE(changed.ok());
    const bluetti::Bytes data(250, 0xFF);
    const auto d = decode(*changed->find(1200), data);
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    CHECK(d->present_count() > 0);
}

TEST_CASE("keys are unique per device across all built-in blocks and follow the key rules") {
    auto r = SchemaRegistry::builtin();
    REQUIRE(r.ok());
    std::set<std::string> seen;
    for (const auto* s : r->all()) {
        for (const Template* t : s->key_templates()) {
            CAPTURE(t->text);
            CHECK(seen.insert(t->text).second);
        }
    }
    CHECK(seen.size() > 150);
}
