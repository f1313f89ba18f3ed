// check_plausible() and check_pack_voltage() (plausibility.hpp).
#include "bluetti/schema/plausibility.hpp"

#include <cmath>
#include <sstream>

namespace bluetti::schema {

namespace {

// A pack voltage more than 15 % away from its cell sum is suspect: wiring and BMS rounding stay
// far below that, a wrong scale (×10) far above.
constexpr double kPackTolerance = 0.15;

std::optional<double> number_of(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) return *d;
    return std::nullopt;  // absent, boolean or text: nothing to compare
}

bool near(double value, double reference) {
    return std::fabs(value - reference) <= kPackTolerance * reference;
}

}  // namespace

std::string to_string(const Implausible& f) {
    std::ostringstream text;
    text.precision(12);  // 842154612 as itself, not 8.42155e+08
    const std::string unit = f.unit.empty() ? "" : " " + f.unit;
    text << "block " << f.block << ": " << f.key << " = " << f.value << unit << " is outside its plausible range " << f.min << " … "
         << f.max << unit;
    if (f.zero) text << " (or 0)";
    return text.str();
}

std::optional<Implausible> check_plausible(const BlockSchema& schema, const DecodedBlock& block) {
    for (const DecodedField& field : block.fields) {
        if (!field.spec || !field.spec->valid) continue;
        const auto value = number_of(field.value);
        if (!value) continue;
        const ValidRange& range = *field.spec->valid;
        // A NaN fails every comparison, so contains() refuses it too.
        if (range.contains(*value)) continue;
        return Implausible{schema.block, field.key, *value, range.min, range.max, range.zero, field.spec->unit};
    }
    return std::nullopt;
}

std::string_view to_string(PackVoltageCheck check) {
    switch (check) {
        case PackVoltageCheck::consistent:
            return "consistent";
        case PackVoltageCheck::scale_suspect:
            return "scale_suspect";
        case PackVoltageCheck::inconsistent:
            return "inconsistent";
    }
    return "inconsistent";
}

PackVoltageCheck check_pack_voltage(double pack_voltage, double cells_sum) {
    if (!(cells_sum > 0) || !std::isfinite(cells_sum) || !std::isfinite(pack_voltage)) return PackVoltageCheck::inconsistent;
    if (near(pack_voltage, cells_sum)) return PackVoltageCheck::consistent;
    if (near(pack_voltage, cells_sum * 10) || near(pack_voltage, cells_sum / 10)) return PackVoltageCheck::scale_suspect;
    return PackVoltageCheck::inconsistent;
}

}  // namespace bluetti::schema
