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

TEST_CASE("valid and valid_zero: a range in the published unit on numeric rows") {
    auto s = parse_schema(std::string(kHeader) +
                              "fields:\n"
                              "  - {key: a, offset: 0, type: u16, scale: 0.1, valid: [40, 70], valid_zero: true}\n"
                              "  - {key: b, offset: 2, type: temp40, valid: [-40, 100]}\n"
                              "  - {key: c, offset: 4, type: i16, valid: [-1e3, 1000]}\n"
                              "  - {key: d, offset: 6, type: u16}\n"
                              "groups:\n"
                              "  - {id: g, index: i, count: d, max: 2, start: 8, stride: 2,\n"
                              "     fields: [{key: \"v{i}\", offset: 0, type: u16, scale: 0.001, valid: [2.0, 4.5]}]}\n"
                              "derived:\n"
                              "  - {key: v_min, op: min, of: \"v{i}\", valid: [2, 4.5], valid_zero: true}\n",
                          "t.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    REQUIRE(s->fields[0].valid.has_value());
    CHECK(s->fields[0].valid->min == 40);
    CHECK(s->fields[0].valid->max == 70);
    CHECK(s->fields[0].valid->zero);
    CHECK_FALSE(s->fields[1].valid->zero);
    CHECK(s->fields[1].valid->min == -40);
    CHECK(s->fields[2].valid->min == -1000);
    CHECK_FALSE(s->fields[3].valid.has_value());  // no range: every value is plausible
    CHECK(s->groups[0].fields[0].valid->max == doctest::Approx(4.5));
    CHECK(s->derived[0].field.valid->zero);
}

TEST_CASE("valid: decoding is the same with and without a range") {
    const std::string rows = "fields:\n  - {key: a, offset: 0, type: u16, scale: 0.1}\n  - {key: b, offset: 2, type: i16}\n";
    const std::string ranged =
        "fields:\n  - {key: a, offset: 0, type: u16, scale: 0.1, valid: [0, 1]}\n  - {key: b, offset: 2, type: i16, valid: [0, 1]}\n";
    auto plain = parse_schema(std::string(kHeader) + rows, "t.yaml");
    auto checked = parse_schema(std::string(kHeader) + ranged, "t.yaml");
    REQUIRE(plain.ok());
    REQUIRE(checked.ok());
    const auto data = bluetti::test::hex("1234 FF00");
    const auto a = decode(*plain, data), b = decode(*checked, data);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(a->fields.size() == b->fields.size());
    for (std::size_t i = 0; i < a->fields.size(); ++i) CHECK(a->fields[i].value == b->fields[i].value);  // out of range, still decoded
}

TEST_CASE("valid errors carry file:line:column") {
    struct Row {
        const char* name;
        std::string yaml;
        const char* expected;
    };
    const std::string h = std::string(kHeader) + "fields:\n";
    const Row rows[] = {
        {"not a list", h + "  - {key: a, offset: 0, type: u16, valid: 5}\n", "bad.yaml:7:43: valid must be a list of two numbers"},
        {"one number", h + "  - {key: a, offset: 0, type: u16, valid: [5]}\n", "bad.yaml:7:43: valid must be a list of two numbers"},
        {"three numbers", h + "  - {key: a, offset: 0, type: u16, valid: [1, 2, 3]}\n",
         "bad.yaml:7:43: valid must be a list of two numbers"},
        {"a word", h + "  - {key: a, offset: 0, type: u16, valid: [0, lots]}\n", "bad.yaml:7:47: expected a number, got 'lots'"},
        {"min above max", h + "  - {key: a, offset: 0, type: u16, valid: [10, 1]}\n", "bad.yaml:7:43: valid: min is above max"},
        {"NaN", h + "  - {key: a, offset: 0, type: u16, valid: [nan, 1]}\n", "bad.yaml:7:43: valid must not hold NaN"},
        {"valid_zero alone", h + "  - {key: a, offset: 0, type: u16, valid_zero: true}\n", "bad.yaml:7:48: valid_zero needs a valid range"},
        {"valid_zero not a boolean", h + "  - {key: a, offset: 0, type: u16, valid: [1, 2], valid_zero: 0}\n",
         "bad.yaml:7:63: expected true or false"},
        {"on a string", h + "  - {key: a, offset: 0, type: string, length: 2, valid: [0, 1]}\n",
         "bad.yaml:7:57: valid is for numeric rows only"},
        {"on a serial", h + "  - {key: a, offset: 0, type: serial, valid: [0, 1]}\n", "bad.yaml:7:46: valid is for numeric rows only"},
        {"on a version", h + "  - {key: a, offset: 0, type: version, valid: [0, 1]}\n", "bad.yaml:7:47: valid is for numeric rows only"},
        {"on bits", h + "  - {key: a, offset: 0, type: bits, length: 2, valid: [0, 1]}\n", "bad.yaml:7:55: valid is for numeric rows only"},
        {"on a bitmap", h + "  - {key: a, offset: 0, type: bits16, valid: [0, 1]}\n", "bad.yaml:7:46: valid is for numeric rows only"},
        {"on a bool", h + "  - {key: a, offset: 0, type: bool, valid: [0, 1]}\n", "bad.yaml:7:44: valid is for numeric rows only"},
        {"on an enum", h + "  - {key: a, offset: 0, type: u8, options: {0: off, 1: on}, valid: [0, 1]}\n",
         "bad.yaml:7:68: valid is for numeric rows only"},
        {"on a flag bit", h + "  - {key: a, offset: 0, type: u16, bit: 3, valid: [0, 1]}\n",
         "bad.yaml:7:51: valid is for numeric rows only"},
    };
    for (const Row& row : rows) {
        CAPTURE(row.name);
        auto s = parse_schema(row.yaml, "bad.yaml");
        REQUIRE_FALSE(s.ok());
        CHECK_MESSAGE(s.error().message.find(row.expected) != std::string::npos, s.error().message);
    }
}
