#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::profile;

TEST_CASE("built-in profiles: the four models and the generic fallback") {
    auto set = ProfileSet::builtin();
    REQUIRE_MESSAGE(set.ok(), set.error().message);
    for (const char* model : {"EL30V2", "EL100V2", "ELITE200V2", "AP300", "GENERIC_V2"}) {
        CAPTURE(model);
        REQUIRE(set->find(model) != nullptr);
    }
    CHECK(set->find("AP300")->cloud_model == "AP300");
    CHECK(set->find("ELITE200V2")->cloud_model.empty());   // unknown: from the device list
    CHECK(set->find("Elite 100 V2")->model == "EL100V2");  // alias, case-insensitive
    CHECK(set->find("el30v2")->model == "EL30V2");
    CHECK(set->find("XYZ") == nullptr);
    // The vendor's model groups (unverified aliases): the same protocol as the Elite V2 profiles.
    for (const char* alias : {"PR30V2", "AORA30V2"}) CHECK(set->find(alias)->model == "EL30V2");
    for (const char* alias : {"PR100V2", "AORA100V2"}) CHECK(set->find(alias)->model == "EL100V2");
    for (const char* alias : {"PR200V2", "AORA200", "aora200v2", "Elite 200 V2"}) CHECK(set->find(alias)->model == "ELITE200V2");
    CHECK(set->find_or_generic("XYZ").model == "GENERIC_V2");
}

TEST_CASE("every profile polls known blocks with their overrides applied") {
    auto set = ProfileSet::builtin();
    auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(set.ok());
    REQUIRE(registry.ok());
    for (const Profile* p : set->all()) {
        CAPTURE(p->model);
        CHECK(p->slave == 0);
        CHECK(p->envelope == codec::Envelope::v2);
        auto applied = registry->with_overrides(p->overrides);
        REQUIRE_MESSAGE(applied.ok(), applied.error().message);
        for (const auto& g : p->groups) {
            for (const auto& b : g.blocks) {
                CAPTURE(b.block);
                const auto* s = applied->find(b.block);
                REQUIRE(s != nullptr);
                if (s->read > 0) CHECK(b.registers * 2 >= s->min_len);  // NODE_INFO is a query, not a read
                CHECK(g.per_pack == s->per_pack());
            }
        }
        const PollGroup* core = p->group("core");
        REQUIRE(core != nullptr);
        CHECK(core->interval == std::chrono::seconds(10));
        CHECK(p->group("cells")->interval == std::chrono::minutes(2));
        CHECK(p->group("info")->interval == std::chrono::hours(1));
        // Controls name fields of the settings blocks marked as control.
        for (const auto& key : p->controls) {
            CAPTURE(key);
            bool found = false;
            for (int block : {2000, 2200})
                for (const auto& f : applied->find(static_cast<std::uint16_t>(block))->fields)
                    found = found || (f.key.text == key && f.entity == schema::EntityKind::control);
            CHECK(found);
        }
    }
    // Pack-voltage scale per docs/protocol.md §5.7.
    auto ap300 = registry->with_overrides(set->find("AP300")->overrides);
    auto generic = registry->with_overrides(set->find("GENERIC_V2")->overrides);
    CHECK(ap300->find(100)->fields.front().scale == doctest::Approx(0.01));
    CHECK(generic->find(100)->fields.front().scale == doctest::Approx(0.1));
    CHECK(set->find("AP300")->group("topology") != nullptr);
    CHECK(set->find("EL100V2")->group("topology") == nullptr);
}

TEST_CASE("profile errors carry file:line:column") {
    struct Row {
        const char* name;
        const char* yaml;
        const char* expected;
    };
    const Row rows[] = {
        {"missing groups", "model: X\nname: X\nenvelope: v2\nslave: 0\n", "p.yaml:1:1: missing required key 'groups'"},
        {"bad envelope", "model: X\nname: X\nenvelope: v3\nslave: 0\ngroups: []\n", "p.yaml:3:11: envelope must be v2 or v1"},
        {"bad interval", "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups:\n  - {name: core, interval: 10 s, blocks: []}\n",
         "p.yaml:6:28: interval must be a duration"},
        {"block in two groups",
         "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups:\n  - {name: a, interval: 10s, blocks: [{block: 100}]}\n"
         "  - {name: b, interval: 10s, blocks: [{block: 100}]}\n",
         "block 100 is polled by two groups"},
        {"unknown key", "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\ncolour: red\n", "p.yaml:6:1: unknown key 'colour'"},
        {"missing max_power", "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\n", "p.yaml:1:1: missing required key 'max_power'"},
        {"max_power 0", "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 0\n",
         "p.yaml:6:12: max_power must be a positive number of watts"},
        {"max_power negative", "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: -600\n",
         "p.yaml:6:12: max_power must be a positive number of watts"},
        {"max_power NaN", "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: nan\n",
         "p.yaml:6:12: max_power must be a positive number of watts"},
        {"max_power text", "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 2 kW\n", "p.yaml:6:12: expected a number"},
        {"override valid of one number",
         "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\noverrides:\n  pack_voltage: {valid: [1]}\n",
         "p.yaml:8:25: valid must be a list of two numbers"},
        {"override valid upside down",
         "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\noverrides:\n  pack_voltage: {valid: [9, 1]}\n",
         "p.yaml:8:25: valid: min is above max"},
        {"override valid_zero alone",
         "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\noverrides:\n  pack_voltage: {valid_zero: true}\n",
         "p.yaml:8:30: valid_zero needs a valid range"},
        {"override sentinel not a bool",
         "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\noverrides:\n  grid_power: {not_supported: 404}\n",
         "p.yaml:8:31: expected true or false"},
        {"override negative not-applicable threshold",
         "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\noverrides:\n  time_to_full: {not_applicable_from: -1}\n",
         "p.yaml:8:39: value -1 is out of range"},
        {"override zero_absent_while empty",
         "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\noverrides:\n  grid_frequency: {zero_absent_while: \"\"}\n",
         "p.yaml:8:39: zero_absent_while needs the key of a field"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        auto p = parse_profile(row.yaml, "p.yaml");
        REQUIRE_FALSE(p.ok());
        CHECK_MESSAGE(p.error().message.find(row.expected) != std::string::npos, p.error().message);
    }
}

TEST_CASE("max_power: every built-in profile has one, the power limit is twice it") {
    auto set = ProfileSet::builtin();
    REQUIRE(set.ok());
    // The ratings the profiles document (config/profiles/*.yaml say where each comes from).
    const std::pair<const char*, double> expected[] = {
        {"EL30V2", 600}, {"EL100V2", 1800}, {"ELITE200V2", 2600}, {"AP300", 6000}, {"GENERIC_V2", 30000}};
    for (const auto& [model_, watts] : expected) {
        const char* const model = model_;  // a named copy: clang 14 cannot capture a structured binding
        CAPTURE(model);
        CHECK(set->find(model)->max_power == watts);
        CHECK(set->find(model)->power_limit() == 2 * watts);
    }
}

TEST_CASE("a profile's valid override reaches the schema, on a text row apply_profile refuses it") {
    auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    auto p = parse_profile(
        "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\n"
        "overrides:\n  pack_voltage: {scale: 0.01, valid: [10, 80], valid_zero: true}\n",
        "p.yaml");
    REQUIRE_MESSAGE(p.ok(), p.error().message);
    auto applied = apply_profile(*registry, *p);
    REQUIRE_MESSAGE(applied.ok(), applied.error().message);
    const schema::FieldSpec& f = applied->find(100)->fields.front();
    CHECK(f.scale == doctest::Approx(0.01));
    CHECK(f.valid->min == 10);
    CHECK(f.valid->zero);
    CHECK(applied->find(1400)->fields.front().valid->max == 1200);  // dc_load_power: 2 × 600 W

    auto text_row = parse_profile(
        "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\n"
        "overrides:\n  device_model: {valid: [0, 1]}\n",
        "p.yaml");
    REQUIRE(text_row.ok());
    auto refused = apply_profile(*registry, *text_row);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("valid is for numeric rows only") != std::string::npos);
}

TEST_CASE("sentinel overrides apply to integer rows only, a text row refuses them") {
    auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    auto text_row = parse_profile(
        "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\n"
        "overrides:\n  device_model: {not_supported: true}\n",
        "p.yaml");
    REQUIRE_MESSAGE(text_row.ok(), text_row.error().message);
    auto refused = apply_profile(*registry, *text_row);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("sentinels are for integer rows only") != std::string::npos);
}

TEST_CASE("move_to: a model keeps a value in another block, the row moves, its key stays") {
    auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    const auto apply = [&](const std::string& override_text) {
        auto p = parse_profile(
            "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\noverrides:\n  " + override_text + "\n", "p.yaml");
        REQUIRE_MESSAGE(p.ok(), p.error().message);
        return apply_profile(*registry, *p);
    };
    const auto row = [](const schema::BlockSchema& b, const std::string& key) -> const schema::FieldSpec* {
        for (const auto& f : b.fields)
            if (f.key.text == key) return &f;
        return nullptr;
    };
    auto moved = apply("grid_charge_switch: {move_to: {block: 2000, offset: 17}}");
    REQUIRE_MESSAGE(moved.ok(), moved.error().message);
    CHECK(row(*moved->find(2200), "grid_charge_switch") == nullptr);
    const schema::FieldSpec* f = row(*moved->find(2000), "grid_charge_switch");
    REQUIRE(f != nullptr);
    CHECK(f->offset == 17);
    CHECK(f->entity == schema::EntityKind::control);
    // The other rows of the source block still decode where they were.
    Bytes data(40, 0);
    data[17] = 1;  // 2208: feed-in on
    auto adv = schema::decode(*moved->find(2200), data);
    REQUIRE(adv.ok());
    CHECK(std::get<bool>(adv->find("feed_in_switch")->value));
    CHECK(adv->find("grid_charge_switch") == nullptr);

    auto no_block = apply("grid_charge_switch: {move_to: {block: 2100, offset: 1}}");
    REQUIRE_FALSE(no_block.ok());
    CHECK(no_block.error().message.find("move_to names block 2100, which has no schema") != std::string::npos);
    auto group_row = apply("\"grid_phase{p}_power\": {move_to: {block: 2000, offset: 1}}");
    REQUIRE_FALSE(group_row.ok());
    CHECK(group_row.error().message.find("not a row of a group") != std::string::npos);
    auto bad_key = parse_profile(
        "model: X\nname: X\nenvelope: v2\nslave: 0\ngroups: []\nmax_power: 600\noverrides:\n  grid_charge_switch: {move_to: {block: 2000, "
        "at: 1}}\n",
        "p.yaml");
    REQUIRE_FALSE(bad_key.ok());
    CHECK(bad_key.error().message.find("p.yaml:8:") != std::string::npos);
}
