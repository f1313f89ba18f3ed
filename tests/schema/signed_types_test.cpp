// The integer types no built-in schema uses yet (docs/schema-format.md): i8 and the big-endian
// 32-bit pair u32be/i32be, as a --schema-dir schema may declare them. Decode sign-extends the
// signed ones; encode writes them back in the same byte order.
#include <cstdint>
#include <variant>

#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "support.hpp"

using namespace bluetti::schema;

namespace {

BlockSchema schema() {
    auto s = parse_schema(
        "block: 9100\nname: TEST_TYPES\nstate_topic: test\nread: 5\nmin_len: 10\nfields:\n"
        "  - {key: small, offset: 0, type: i8}\n"
        "  - {key: byte, offset: 1, type: u8}\n"
        "  - {key: signed_be, offset: 2, type: i32be}\n"
        "  - {key: unsigned_be, offset: 6, type: u32be}\n",
        "types.yaml");
    REQUIRE_MESSAGE(s.ok(), s.error().message);
    return *s;
}

std::int64_t integer(const DecodedBlock& d, const char* key) {
    const auto* f = d.find(key);
    REQUIRE_MESSAGE(f, key);
    REQUIRE(std::holds_alternative<std::int64_t>(f->value));
    return std::get<std::int64_t>(f->value);
}

}  // namespace

TEST_CASE("i8 and i32be are sign-extended, u32be reads its high word first") {
    const auto s = schema();
    auto d = decode(s, bluetti::test::hex("FE 05 FFFFFFFE 00010002"));
    REQUIRE_MESSAGE(d.ok(), d.error().message);
    CHECK(integer(*d, "small") == -2);
    CHECK(integer(*d, "byte") == 5);
    CHECK(integer(*d, "signed_be") == -2);
    CHECK(integer(*d, "unsigned_be") == 65538);

    d = decode(s, bluetti::test::hex("7F FF 7FFFFFFF FFFFFFFF"));
    REQUIRE(d.ok());
    CHECK(integer(*d, "small") == 127);
    CHECK(integer(*d, "byte") == 255);
    CHECK(integer(*d, "signed_be") == 2147483647);
    CHECK(integer(*d, "unsigned_be") == 4294967295);
}

TEST_CASE("encode writes i32be and u32be back high word first") {
    const auto s = schema();
    auto bytes = encode(s, {{"signed_be", std::int64_t{-2}}, {"unsigned_be", std::int64_t{65538}}}, 5);
    REQUIRE_MESSAGE(bytes.ok(), bytes.error().message);
    CHECK(*bytes == bluetti::test::hex("0000 FFFFFFFE 00010002"));
}
