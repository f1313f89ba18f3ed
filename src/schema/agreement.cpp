#include "bluetti/schema/agreement.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace bluetti::schema {

namespace {

constexpr double kRelativeTolerance = 0.10;
constexpr double kSteps = 2.0;

std::optional<double> number(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) return *d;
    return std::nullopt;
}

bool agree(const DecodedField& a, const DecodedField& b) {
    if (a.value.index() != b.value.index()) return false;
    const auto x = number(a.value);
    const auto y = number(b.value);
    if (!x || !y) return a.value == b.value;
    if (!std::isfinite(*x) || !std::isfinite(*y)) return false;
    const int precision = a.spec ? a.spec->precision : 0;
    const double step = std::pow(10.0, -precision);
    const double tolerance = std::max(kSteps * step, kRelativeTolerance * std::max(std::fabs(*x), std::fabs(*y)));
    return std::fabs(*x - *y) <= tolerance;
}

}  // namespace

bool values_agree(const DecodedBlock& a, const DecodedBlock& b) {
    if (a.schema != b.schema) return false;
    const DecodedBlock& shorter = a.data_length <= b.data_length ? a : b;
    const DecodedBlock& longer = &shorter == &a ? b : a;
    std::size_t compared = 0;
    for (const DecodedField& x : shorter.fields) {
        if (is_absent(x.value)) continue;
        const DecodedField* y = longer.find(x.key);
        if (!y || is_absent(y->value) || !agree(x, *y)) return false;
        ++compared;
    }
    return compared > 0;
}

bool informative(const DecodedBlock& block) {
    int said = 0;
    for (const DecodedField& f : block.fields) {
        const auto n = number(f.value);
        if (n ? *n != 0 : (!is_absent(f.value) && f.value != Value(std::string()) && f.value != Value(false))) ++said;
        if (said >= 2) return true;
    }
    return false;
}

}  // namespace bluetti::schema
