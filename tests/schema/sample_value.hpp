// A value each schema row can carry exactly, for encode -> decode round trips: raw 7 through the
// row's scale, or a sample of its kind. Shared by the schema and Home Assistant tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "bluetti/schema/codec.hpp"

namespace bluetti::test {

// A value the row can carry: raw 7 through its scale, or a sample of its kind.
inline schema::Value sample_value(const schema::FieldSpec& f) {
    using schema::BaseType;
    if (f.is_enum()) return f.options.front().label;
    if (f.type == BaseType::boolean || f.bit >= 0) return true;
    switch (f.type) {
        case BaseType::string:
            return std::string("AB12CD34EF56").substr(0, f.length);
        case BaseType::serial:
            return std::string("2616113487436");
        case BaseType::version:
            return std::string("2204.15");
        case BaseType::bits:
            return std::string(f.length * 2u, 'a');
        case BaseType::hhmm:
            return std::string("06:30");
        case BaseType::temp40:
        case BaseType::temp40u8:
            return std::int64_t{27};
        default:
            break;
    }
    double scale = f.scale;
    for (const auto& t : f.transforms)
        if (t.op == schema::Transform::Op::scale) scale *= t.a;
    if (f.precision == 0) return static_cast<std::int64_t>(std::llround(7 * scale));
    return 7 * scale;
}

}  // namespace bluetti::test
