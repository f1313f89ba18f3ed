// Reading a row's plausible range, `valid: [min, max]` and `valid_zero: true`
// (docs/schema-format.md). One reader for the schema loader and for the profile loader's
// overrides, so both refuse the same mistakes and name the same place. Internal to the library.
#pragma once

#include <cmath>
#include <optional>

#include "../util/yaml_reader.hpp"
#include "bluetti/schema/block_schema.hpp"

namespace bluetti::schema::detail {

// The range written on `row`, or none. Fails with file:line:column on a `valid` that is not a list
// of two numbers, on NaN, on min above max and on `valid_zero` without `valid`. Whether the row is
// numeric is for the caller to check: only it knows the row's type.
inline std::optional<ValidRange> read_valid_range(const util::YamlReader& yaml, const YAML::Node& row) {
    const YAML::Node valid = row["valid"];
    const YAML::Node zero = row["valid_zero"];
    if (!valid) {
        if (zero) yaml.fail(zero, "valid_zero needs a valid range on the same row");
        return std::nullopt;
    }
    if (!valid.IsSequence() || valid.size() != 2) yaml.fail(valid, "valid must be a list of two numbers: [min, max]");
    ValidRange range;
    range.min = yaml.as_number(valid[0]);
    range.max = yaml.as_number(valid[1]);
    if (std::isnan(range.min) || std::isnan(range.max)) yaml.fail(valid, "valid must not hold NaN");
    if (range.min > range.max) yaml.fail(valid, "valid: min is above max");
    if (zero) range.zero = yaml.as_bool(zero);
    return range;
}

}  // namespace bluetti::schema::detail
