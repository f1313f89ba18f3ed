// Decoded values: what a block becomes once its schema is applied.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "bluetti/schema/block_schema.hpp"

namespace bluetti::schema {

// absent | integer | number | boolean | text
using Value = std::variant<std::monostate, std::int64_t, double, bool, std::string>;

inline bool is_absent(const Value& v) {
    return std::holds_alternative<std::monostate>(v);
}

struct DecodedField {
    std::string key;
    Value value;
    const FieldSpec* spec = nullptr;  // row it came from (units, device class, precision)
};

struct DecodedBlock {
    const BlockSchema* schema = nullptr;
    std::size_t data_length = 0;       // bytes of register data decoded
    std::vector<DecodedField> fields;  // schema order; absent fields kept with std::monostate
    // Enum codes not in a field's option list (the field is absent): logged once by callers.
    std::vector<std::pair<std::string, std::int64_t>> unknown_codes;
    // Keys whose register read the model's "not supported" sentinel (FieldSpec::not_supported):
    // absent, and a control reading it is not offered.
    std::vector<std::string> not_supported;

    const DecodedField* find(std::string_view key) const;
    std::size_t present_count() const;
};

}  // namespace bluetti::schema
