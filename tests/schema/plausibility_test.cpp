// check_plausible() against hand-made schemas, check_pack_voltage() at its edges, and the ranges a
// profile adds: overrides and the power limit (max_power × 2).
#include <cmath>

#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::schema;

namespace {

const char* kRows =
    "block: 9000\nname: TEST\nstate_topic: test\nread: 6\nmin_len: 2\n"
    "fields:\n"
    "  - {key: freq, offset: 0, type: u16, scale: 0.1, unit: Hz, valid: [40, 70], valid_zero: true}\n"
    "  - {key: temp, offset: 2, type: temp40, unit: °C, valid: [-40, 100]}\n"
    "  - {key: free, offset: 4, type: u16}\n"
    "  - {key: power, offset: 6, type: i16, unit: W, device_class: power, valid: [-100000, 100000]}\n"
    "  - {key: grid, offset: 8, type: u16, unit: W, device_class: power}\n"
    "  - {key: bitmap, offset: 10, type: bits16}\n"
    "  - {key: limit, offset: 12, type: u16, unit: W, device_class: power, entity: control}\n";

BlockSchema test_schema() {
    auto s = parse_schema(kRows, "t.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    return std::move(*s);
}

std::optional<Implausible> check(const BlockSchema& s, const char* hex) {
    auto d = decode(s, test::hex(hex));
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    return check_plausible(s, *d);
}

const FieldSpec& row(const SchemaRegistry& r, std::uint16_t block, std::string_view key) {
    const BlockSchema* s = r.find(block);
    REQUIRE(s != nullptr);
    for (const auto& f : s->fields)
        if (f.key.text == key) return f;
    for (const auto& g : s->groups)
        for (const auto& f : g.fields)
            if (f.key.text == key) return f;
    FAIL("no row " << key);
    return s->fields.front();
}

}  // namespace

TEST_CASE("check_plausible: in range, 0 where valid_zero says so, no range, absent values") {
    const BlockSchema s = test_schema();
    CHECK_FALSE(check(s, "01F4 0041 FFFF FF9C 0000 FFFF").has_value());  // 50.0 Hz, 25 °C, -100 W
    CHECK_FALSE(check(s, "0000 0041").has_value());                      // 0 Hz: valid_zero; the rest absent (short reply)
    CHECK_FALSE(check(s, "0190 0000").has_value());                      // 40.0 Hz (inclusive); temp raw 0 = absent
    CHECK_FALSE(check(s, "02BC 008C").has_value());                      // 70.0 Hz and 100 °C: both ends inclusive
}

TEST_CASE("check_plausible: the first value outside its range, with its key, value and range") {
    const BlockSchema s = test_schema();
    auto f = check(s, "0001 0041 0000 0000");  // 0.1 Hz: neither 40–70 nor 0
    REQUIRE(f.has_value());
    CHECK(f->block == 9000);
    CHECK(f->key == "freq");
    CHECK(f->value == doctest::Approx(0.1));
    CHECK(f->min == 40);
    CHECK(f->max == 70);
    CHECK(f->zero);
    CHECK(to_string(*f) == "block 9000: freq = 0.1 Hz is outside its plausible range 40 … 70 Hz (or 0)");

    f = check(s, "FFFF 00FF");  // both out of range: the first in schema order is reported
    REQUIRE(f.has_value());
    CHECK(f->key == "freq");

    f = check(s, "01F4 00FF");  // 215 °C
    REQUIRE(f.has_value());
    CHECK(f->key == "temp");
    CHECK(f->value == 215);
    CHECK(to_string(*f) == "block 9000: temp = 215 °C is outside its plausible range -40 … 100 °C");
}

TEST_CASE("check_plausible: 32-bit nonsense of a wrong block in a power row") {
    auto s = parse_schema(
        "block: 1400\nname: T\nstate_topic: t\nread: 2\nmin_len: 4\n"
        "fields:\n  - {key: dc_load_power, offset: 0, type: u32ws, unit: W, device_class: power, valid: [0, 100000]}\n",
        "t.yaml");
    REQUIRE(s.ok());
    const auto f = check(*s, "4274 3232");  // 0x32324274 = 842154612
    REQUIRE(f.has_value());
    CHECK(to_string(*f) == "block 1400: dc_load_power = 842154612 W is outside its plausible range 0 … 100000 W");
}

TEST_CASE("check_pack_voltage: consistent, scale suspect or inconsistent") {
    struct Row {
        const char* name;
        double pack, cells;
        PackVoltageCheck expected;
    };
    const double nan = std::nan("");
    const Row rows[] = {
        {"the live AP300 at 0.01 V", 53.13, 53.17, PackVoltageCheck::consistent},
        {"the same pack read at 0.1 V", 531.3, 53.17, PackVoltageCheck::scale_suspect},
        {"a 0.1 V device read at 0.01 V", 5.313, 53.17, PackVoltageCheck::scale_suspect},
        {"+13 %", 60.0, 53.0, PackVoltageCheck::consistent},
        {"+17 %", 62.0, 53.0, PackVoltageCheck::inconsistent},
        {"-14.9 %", 45.1, 53.0, PackVoltageCheck::consistent},
        {"-15.1 %", 45.0, 53.0, PackVoltageCheck::inconsistent},
        {"no pack voltage", 0.0, 53.0, PackVoltageCheck::inconsistent},
        {"no cells", 53.0, 0.0, PackVoltageCheck::inconsistent},
        {"a negative sum", 53.0, -1.0, PackVoltageCheck::inconsistent},
        {"NaN cells", 53.0, nan, PackVoltageCheck::inconsistent},
        {"NaN pack", nan, 53.0, PackVoltageCheck::inconsistent},
    };
    for (const Row& r : rows) {
        CAPTURE(r.name);
        CHECK(check_pack_voltage(r.pack, r.cells) == r.expected);
    }
    CHECK(to_string(PackVoltageCheck::scale_suspect) == "scale_suspect");
}

TEST_CASE("the power limit narrows power rows and gives one to power rows without a range") {
    SchemaRegistry r;
    REQUIRE_FALSE(r.add(test_schema()).has_value());
    auto limited = r.with_power_limit(1200);
    REQUIRE_MESSAGE(limited.ok(), limited.error().message);
    const FieldSpec& power = row(*limited, 9000, "power");
    CHECK(power.valid->min == -1200);
    CHECK(power.valid->max == 1200);
    const FieldSpec& grid = row(*limited, 9000, "grid");  // device_class power, no range of its own
    REQUIRE(grid.valid.has_value());
    CHECK(grid.valid->min == -1200);
    CHECK(grid.valid->max == 1200);
    CHECK_FALSE(row(*limited, 9000, "free").valid.has_value());   // not a power row
    CHECK_FALSE(row(*limited, 9000, "limit").valid.has_value());  // a setting, not a flow
    CHECK(row(*limited, 9000, "freq").valid->max == 70);
    CHECK_FALSE(row(r, 9000, "grid").valid.has_value());  // the original is untouched

    auto no_room = parse_schema(
        "block: 9001\nname: T\nstate_topic: t2\nread: 1\nmin_len: 2\n"
        "fields:\n  - {key: big, offset: 0, type: u16, device_class: power, valid: [5000, 6000]}\n",
        "big.yaml");
    REQUIRE(no_room.ok());
    REQUIRE_FALSE(r.add(std::move(*no_room)).has_value());
    auto error = r.with_power_limit(1200);
    REQUIRE_FALSE(error.ok());
    CHECK(error.error().message == "big.yaml: the valid range of 'big' lies outside the power limit of ±1200 W");
    CHECK_FALSE(r.with_power_limit(0).ok());
}

TEST_CASE("a valid override replaces a row's range, on a row that is not numeric it is an error") {
    auto base = SchemaRegistry::builtin();
    REQUIRE(base.ok());
    FieldOverride narrow;
    narrow.valid = ValidRange{10, 80, true};
    auto changed = base->with_overrides({{"pack_voltage", narrow}});
    REQUIRE_MESSAGE(changed.ok(), changed.error().message);
    const FieldSpec& f = row(*changed, 100, "pack_voltage");
    CHECK(f.valid->min == 10);
    CHECK(f.valid->max == 80);
    CHECK(f.valid->zero);
    CHECK(row(*base, 100, "pack_voltage").valid->max == 1000);

    auto group_row = base->with_overrides({{"battery_pack{n}_voltage", narrow}});
    REQUIRE_MESSAGE(group_row.ok(), group_row.error().message);
    CHECK(row(*group_row, 6100, "battery_pack{n}_voltage").valid->max == 80);

    auto bad = base->with_overrides({{"device_model", narrow}});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "override of 'device_model': valid is for numeric rows only");
}

TEST_CASE("every built-in profile: power rows within ±2 × max_power, profile ranges in place") {
    auto profiles = profile::ProfileSet::builtin();
    auto base = SchemaRegistry::builtin();
    REQUIRE(profiles.ok());
    REQUIRE(base.ok());
    for (const profile::Profile* p : profiles->all()) {
        CAPTURE(p->model);
        CHECK(p->max_power > 0);
        auto applied = profile::apply_profile(*base, *p);
        REQUIRE_MESSAGE(applied.ok(), applied.error().message);
        for (const BlockSchema* s : applied->all()) {
            std::vector<const FieldSpec*> rows;
            for (const auto& f : s->fields) rows.push_back(&f);
            for (const auto& g : s->groups)
                for (const auto& f : g.fields) rows.push_back(&f);
            for (const auto& d : s->derived) rows.push_back(&d.field);
            for (const FieldSpec* f : rows) {
                CAPTURE(f->key.text);
                if (f->valid) CHECK(f->is_numeric());
                if (f->device_class != "power" && f->device_class != "apparent_power") continue;
                if (f->entity == EntityKind::control) {  // a setting, bounded by the write whitelist
                    CHECK_FALSE(f->valid.has_value());
                    continue;
                }
                REQUIRE(f->valid.has_value());
                CHECK(f->valid->min >= -p->power_limit());
                CHECK(f->valid->max == p->power_limit());
            }
        }
    }
    const auto& ap300 = *profiles->find("AP300");
    auto applied = profile::apply_profile(*base, ap300);
    REQUIRE(applied.ok());
    CHECK(row(*applied, 1400, "dc_load_power").valid->min == 0);
    CHECK(row(*applied, 1400, "dc_load_power").valid->max == 12000);
    CHECK(row(*applied, 100, "grid_power").valid->min == -12000);
    CHECK(row(*applied, 100, "pack_voltage").valid->max == 80);
}
