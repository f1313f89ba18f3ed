// encode() then decode() gives every field of every built-in schema back: the simulator can only
// be trusted if this holds for each row.
#include <cmath>

#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "schema/sample_value.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::schema;

namespace {

bool same(const Value& a, const Value& b) {
    if (const auto* x = std::get_if<double>(&a))
        if (const auto* y = std::get_if<double>(&b)) return std::fabs(*x - *y) < 1e-9;
    return a == b;
}

}  // namespace

TEST_CASE("every field of every built-in schema survives encode -> decode") {
    auto registry = SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    for (const BlockSchema* s : registry->all()) {
        CAPTURE(s->block);
        const DecodeOptions options{2};
        Bindings top;
        top.bind("n", "2");
        ValueMap values;
        for (const FieldSpec& f : s->fields) values[expand(f.key, top)] = test::sample_value(f);
        for (const GroupSpec& g : s->groups) {
            if (g.key_from) {
                // name every record from the names table; the count is how many there are
                for (std::size_t c : g.count_from)
                    values[expand(s->fields[c].key, top)] = static_cast<std::int64_t>(g.key_from->names.size());
                for (const EnumOption& name : g.key_from->names) {
                    Bindings b = top;
                    b.bind(g.key_from->placeholder, name.label);
                    for (const FieldSpec& f : g.fields) values[expand(f.key, b)] = test::sample_value(f);
                }
                continue;
            }
            for (int i = 1; i <= g.max; ++i) {
                const std::string index = std::to_string(i);
                Bindings b = top;
                b.bind(g.index, index);
                for (const FieldSpec& f : g.fields) values[expand(f.key, b)] = test::sample_value(f);
            }
        }

        auto data = encode(*s, values, 125, options);
        REQUIRE_MESSAGE(data.ok(), data.error().message);
        auto decoded = decode(*s, *data, options);
        REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);

        std::size_t checked = 0;
        for (const DecodedField& f : decoded->fields) {
            CAPTURE(f.key);
            auto it = values.find(f.key);
            if (it == values.end()) {
                // derived rows and records past a group's count have no input value
                continue;
            }
            CHECK_MESSAGE(same(f.value, it->second), "decoded value differs");
            ++checked;
        }
        // Every top-level field and at least one record of every group came back.
        CHECK(checked >= s->fields.size() + s->groups.size());
        for (const DerivedSpec& d : s->derived) {
            const DecodedField* f = decoded->find(expand(d.field.key, top));
            REQUIRE(f != nullptr);
            CHECK_FALSE(is_absent(f->value));
        }
    }
}

TEST_CASE("hhmm: hour in the high byte, minute in the low, 24:00 ends the day, anything else past 23:59 is no time") {
    auto s = parse_schema(
        "block: 2000\nname: T\nstate_topic: t\nread: 2\nmin_len: 2\nfields:\n  - {key: start, offset: 0, type: hhmm}\n"
        "  - {key: stop, offset: 2, type: hhmm}\n",
        "t.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    const auto at = [&](std::uint8_t hour, std::uint8_t minute) {
        const Bytes data{hour, minute, 0, 0};
        auto d = decode(*s, data);
        REQUIRE(d.ok());
        return d->find("start")->value;
    };
    CHECK(std::get<std::string>(at(0, 0)) == "00:00");
    CHECK(std::get<std::string>(at(6, 30)) == "06:30");
    CHECK(std::get<std::string>(at(23, 59)) == "23:59");
    CHECK(std::get<std::string>(at(24, 0)) == "24:00");
    CHECK(is_absent(at(24, 1)));
    CHECK(is_absent(at(25, 0)));
    CHECK(is_absent(at(12, 60)));
    CHECK(is_absent(at(0xFF, 0xFF)));
    auto encoded = encode(*s, ValueMap{{"start", std::string("18:05")}, {"stop", std::string("24:00")}}, 2);
    REQUIRE(encoded.ok());
    CHECK(*encoded == Bytes{18, 5, 24, 0});
    CHECK_FALSE(encode(*s, ValueMap{{"start", std::string("7:05")}}, 1).ok());
    CHECK_FALSE(encode(*s, ValueMap{{"start", std::string("25:00")}}, 1).ok());
}
