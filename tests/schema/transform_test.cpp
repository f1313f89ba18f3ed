// The `minus` and `clamp` transforms of docs/schema-format.md: applied in the order written,
// before the row's scale; `minus` is undone by encode(), `clamp` has no inverse.
#include <cstdint>
#include <variant>

#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti::schema;

namespace {
const char* kHeader = "block: 9000\nname: TEST\nstate_topic: test\nread: 4\nmin_len: 2\n";

BlockSchema schema_with(const std::string& fields) {
    auto s = parse_schema(std::string(kHeader) + "fields:\n" + fields, "t.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    return *s;
}

Value decoded(const BlockSchema& s, const char* hex, const char* key) {
    const auto d = decode(s, bluetti::test::hex(hex));
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    const auto* f = d->find(key);
    REQUIRE_MESSAGE(f, key);
    return f->value;
}
}  // namespace

TEST_CASE("minus subtracts its argument from the raw value, before the scale") {
    const auto s = schema_with(
        "  - {key: a, offset: 0, type: u16, transforms: [\"minus:40\"]}\n"
        "  - {key: b, offset: 2, type: i16, transforms: [\"minus:1000\"], scale: 0.1}\n"
        "  - {key: c, offset: 4, type: u16, transforms: [\"scale:0.1\", \"minus:10\"]}\n");
    // a: 100 - 40; b: (-200 - 1000) * 0.1; c: 2500 * 0.1 - 10 (the order as written).
    CHECK(std::get<std::int64_t>(decoded(s, "0064 FF38 09C4", "a")) == 60);
    CHECK(std::get<std::int64_t>(decoded(s, "0014 FF38 09C4", "a")) == -20);  // below zero: signed
    CHECK(std::get<double>(decoded(s, "0064 FF38 09C4", "b")) == doctest::Approx(-120.0));
    CHECK(std::get<double>(decoded(s, "0064 FF38 09C4", "c")) == doctest::Approx(240.0));
}

TEST_CASE("encode undoes minus") {
    const auto s = schema_with("  - {key: a, offset: 0, type: u16, transforms: [\"minus:40\"]}\n");
    const auto bytes = encode(s, {{"a", std::int64_t{60}}}, 1);
    REQUIRE(bytes.ok());
    CHECK(*bytes == bluetti::test::hex("0064"));
}

TEST_CASE("clamp bounds the value to [MIN, MAX] where it stands in the list") {
    const auto s = schema_with(
        "  - {key: a, offset: 0, type: u16, transforms: [\"clamp:0:100\"]}\n"
        "  - {key: b, offset: 2, type: i16, transforms: [\"clamp:-5:5\"]}\n"
        "  - {key: c, offset: 0, type: u16, transforms: [\"minus:40\", \"clamp:0:100\"]}\n"
        "  - {key: d, offset: 0, type: u16, transforms: [\"clamp:0:100\", \"minus:40\"]}\n");
    CHECK(std::get<std::int64_t>(decoded(s, "0096 FFF0", "a")) == 100);  // 150 -> 100
    CHECK(std::get<std::int64_t>(decoded(s, "0032 FFF0", "a")) == 50);   // inside: unchanged
    CHECK(std::get<std::int64_t>(decoded(s, "0032 FFF0", "b")) == -5);   // -16 -> -5
    CHECK(std::get<std::int64_t>(decoded(s, "0032 0010", "b")) == 5);    // 16 -> 5
    CHECK(std::get<std::int64_t>(decoded(s, "0014 0000", "c")) == 0);    // 20 - 40 = -20 -> 0
    CHECK(std::get<std::int64_t>(decoded(s, "0096 0000", "c")) == 100);  // 150 - 40 = 110 -> 100
    CHECK(std::get<std::int64_t>(decoded(s, "0096 0000", "d")) == 60);   // 150 -> 100, - 40
}

TEST_CASE("clamp and minus arguments are checked when the schema loads") {
    struct Row {
        const char* transform;
        const char* expected;
    };
    for (const Row& row : {Row{"clamp:5", "must be clamp:MIN:MAX"}, Row{"clamp:9:1", "MIN is above MAX"},
                           Row{"clamp:a:1", "'a' is not a number"}, Row{"minus:x", "'x' is not a number"}}) {
        auto s = parse_schema(
            std::string(kHeader) + "fields:\n  - {key: a, offset: 0, type: u16, transforms: [\"" + row.transform + "\"]}\n", "bad.yaml");
        REQUIRE_FALSE(s.ok());
        CHECK_MESSAGE(s.error().message.find(row.expected) != std::string::npos, s.error().message);
    }
}
