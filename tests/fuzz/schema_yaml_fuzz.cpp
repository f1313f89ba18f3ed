// Fuzz entry point: arbitrary text -> parse_schema -> decode fixed byte patterns with the schema,
// check them for plausibility, encode an empty ValueMap and the decoded values back. A schema file is user input (schema_dirs:),
// so whatever it says, loading it and applying it may fail with an error but never crash, hang,
// leak or hit undefined behaviour.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"

namespace {
constexpr std::size_t kBlockBytes = 250;  // the largest block a schema may describe

struct Patterns {
    std::array<bluetti::Bytes, 4> full;
    Patterns() {
        for (auto& p : full) p.resize(kBlockBytes);
        for (std::size_t i = 0; i < kBlockBytes; ++i) {
            full[0][i] = 0x00;                                            // all zero: absent temps, zero counts
            full[1][i] = 0xFF;                                            // all ones: maximal counts, negative signed
            full[2][i] = static_cast<std::uint8_t>(i);                    // a ramp: every offset distinct
            full[3][i] = static_cast<std::uint8_t>(i % 2 ? 0x80 : 0x03);  // small counts, sign bits set
        }
    }
};

void exercise(const bluetti::schema::BlockSchema& schema, bluetti::ByteSpan data, int pack) {
    auto decoded = bluetti::schema::decode(schema, data, {pack});
    if (!decoded) return;
    (void)decoded->present_count();
    if (auto finding = bluetti::schema::check_plausible(schema, *decoded)) (void)bluetti::schema::to_string(*finding);
    bluetti::schema::ValueMap values;
    for (const auto& field : decoded->fields) values.emplace(field.key, field.value);
    (void)bluetti::schema::encode(schema, values, data.size() / 2, {pack});
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    static const Patterns patterns;
    const std::string_view text(reinterpret_cast<const char*>(bytes), size);
    auto schema = bluetti::schema::parse_schema(text, "fuzz.yaml");
    if (!schema) return 0;
    (void)schema->per_pack();
    // The shortest reply the schema accepts (rounded up to whole registers), so fields and records
    // past the end of the data are exercised too.
    const std::size_t shortest = (schema->min_len + 1u) & ~std::size_t{1};
    for (const auto& pattern : patterns.full) {
        exercise(*schema, pattern, 1);
        exercise(*schema, bluetti::ByteSpan(pattern).first(shortest), 1);
    }
    exercise(*schema, patterns.full[2], 12);
    (void)bluetti::schema::encode(*schema, {}, schema->read);
    (void)bluetti::schema::encode(*schema, {}, kBlockBytes / 2, {3});
    return 0;
}
