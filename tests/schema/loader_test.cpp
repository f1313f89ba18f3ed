// Broken schema files fail with `file:line:column: message` naming the problem.
#include <cstdint>
#include <limits>

#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti::schema;

namespace {
const char* kHeader = "block: 9000\nname: TEST\nstate_topic: test\nread: 4\nmin_len: 2\n";
}

TEST_CASE("a minimal schema parses") {
    auto s = parse_schema(std::string(kHeader) + "fields:\n  - {key: a_value, offset: 0, type: u16, scale: 0.1, unit: V}\n", "t.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    CHECK(s->block == 9000);
    CHECK(s->fields.at(0).precision == 1);
    CHECK(s->fields.at(0).name.text == "A value");
}

TEST_CASE("schema errors carry file:line:column") {
    struct Row {
        const char* name;
        std::string yaml;
        const char* expected;
    };
    const std::string h = kHeader;
    const Row rows[] = {
        {"syntax error", h + "fields: [ {key: a, offset: 0\n", "bad.yaml:7:1: "},
        {"unknown top-level key", h + "colour: red\nfields: []\n", "bad.yaml:6:1: unknown key 'colour'"},
        {"missing fields", h, "bad.yaml:1:1: missing required key 'fields'"},
        {"unknown type", h + "fields:\n  - {key: a, offset: 0, type: u17}\n", "bad.yaml:7:31: unknown type 'u17'"},
        {"unknown field key", h + "fields:\n  - {key: a, offset: 0, type: u16, sclae: 2}\n", "bad.yaml:7:36: unknown key 'sclae'"},
        {"offset not a number", h + "fields:\n  - {key: a, offset: zero, type: u16}\n", "bad.yaml:7:22: expected an integer, got 'zero'"},
        {"bad key text", h + "fields:\n  - {key: Bad-Key, offset: 0, type: u16}\n",
         "bad.yaml:7:11: key 'Bad-Key' must be lower snake_case"},
        {"undefined placeholder", h + "fields:\n  - {key: \"cell{i}_v\", offset: 0, type: u16}\n", "placeholder {i}, which is not defined"},
        {"string without length", h + "fields:\n  - {key: a, offset: 0, type: string}\n", "bad.yaml:7:31: type string needs a length"},
        {"bad transform", h + "fields:\n  - {key: a, offset: 0, type: u16, transforms: [double]}\n",
         "bad.yaml:7:49: unknown transform 'double'"},
        {"duplicate key", h + "fields:\n  - {key: a, offset: 0, type: u16}\n  - {key: a, offset: 2, type: u16}\n",
         "bad.yaml:8:11: key 'a' is defined twice"},
        {"count of an unknown field",
         h + "fields: []\ngroups:\n  - {id: g, index: i, count: nope, max: 2, start: 0, stride: 2, fields: []}\n",
         "count refers to 'nope'"},
        {"min_len above read", "block: 1\nname: X\nstate_topic: x\nread: 2\nmin_len: 10\nfields: []\n",
         "bad.yaml:5:10: min_len 10 is more than the 4 bytes"},
        {"bad entity", h + "fields:\n  - {key: a, offset: 0, type: u16, entity: shown}\n",
         "entity must be sensor, off, diag, control or none"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        auto s = parse_schema(row.yaml, "bad.yaml");
        REQUIRE_FALSE(s.ok());
        CHECK_MESSAGE(s.error().message.find(row.expected) != std::string::npos, s.error().message);
    }
}

// Regressions found by fuzz_schema_yaml: a schema file may scale values far outside int64. Applying
// it must stay defined behaviour (the ASan + UBSan build checks that) and give bounded results.
TEST_CASE("bit transforms of a value scaled outside int64 saturate") {
    // Was: casting 6.5e304 to int64 before the bitmask (UBSan: float-cast-overflow, decode.cpp).
    auto s = parse_schema(std::string(kHeader) +
                              "fields:\n"
                              "  - {key: a, offset: 0, type: u16, transforms: [\"scale:1e300\", \"bitmask:0xFF\"]}\n"
                              "  - {key: b, offset: 2, type: i16, transforms: [\"scale:1e300\", \"shift:4\"]}\n"
                              "  - {key: c, offset: 0, type: u16, transforms: [\"bitmask:0x7FFFFFFFFFFFFFFF\"]}\n",
                          "t.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    const auto d = decode(*s, bluetti::test::hex("FFFF FFFF"));
    REQUIRE(d.ok());
    CHECK(std::get<std::int64_t>(d->find("a")->value) == 0xFF);
    CHECK(std::get<std::int64_t>(d->find("b")->value) == std::numeric_limits<std::int64_t>::min() >> 4);
    CHECK(std::get<std::int64_t>(d->find("c")->value) == 0xFFFF);
}

TEST_CASE("group counts from count fields scaled out of range stay within max") {
    // Was: two count fields of 255 * 1e308 = inf, llround -> INT64_MIN each, summed in int64
    // (UBSan: signed integer overflow, in decode.cpp and likewise in encode.cpp).
    auto s = parse_schema(
        std::string(kHeader) +
            "fields:\n"
            "  - {key: c, offset: 0, type: u8, scale: 1e308}\n"
            "  - {key: d, offset: 1, type: u8, scale: 1e308}\n"
            "groups:\n"
            "  - {id: g, index: i, count: [c, d], max: 2, start: 2, stride: 2, fields: [{key: \"v{i}\", offset: 0, type: u16}]}\n",
        "t.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    const auto d = decode(*s, bluetti::test::hex("FFFF 0001 0002 0003"));
    REQUIRE(d.ok());
    CHECK(d->find("v3") == nullptr);  // never more records than max
    const auto encoded = encode(*s, {{"c", 1e300}, {"d", 1e300}, {"v1", std::int64_t{7}}}, 4);
    CHECK(encoded.ok());
}
