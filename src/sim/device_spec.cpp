#include "sim/device_spec.hpp"

#include <algorithm>
#include <charconv>

#include "sim/rng.hpp"

namespace bluetti::sim {

bool is_decimal_serial(std::string_view text) {
    if (text.empty() || text.front() == '0') return false;
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size() && value != 0;
}

std::string derive_sub_sn(std::string_view sn) {
    if (is_decimal_serial(sn)) return std::string(sn);
    constexpr std::uint64_t kLow = 1'000'000'000'000ull;  // 10^12: 13 digits, no leading zero
    return std::to_string(fnv1a64(sn) % (9 * kLow) + kLow);
}

Result<DeviceSpec, std::string> parse_device_spec(std::string_view text) {
    DeviceSpec spec;
    const auto first = text.find(':');
    if (first == std::string_view::npos) return fail("--device '" + std::string(text) + "': expected MODEL:SN[:SUBSN]");
    spec.profile = std::string(text.substr(0, first));
    std::string_view rest = text.substr(first + 1);
    const auto second = rest.find(':');
    spec.sn = std::string(rest.substr(0, second));
    if (second != std::string_view::npos) {
        spec.sub_sn = std::string(rest.substr(second + 1));
        if (!is_decimal_serial(spec.sub_sn)) {
            return fail("--device '" + std::string(text) + "': SUBSN must be a decimal serial (digits, no leading zero, fits 64 bits)");
        }
    }
    if (spec.profile.empty() || spec.sn.empty()) return fail("--device '" + std::string(text) + "': MODEL and SN must not be empty");
    return spec;
}

Result<DeviceIdentity, std::string> resolve_device(const DeviceSpec& spec, const profile::ProfileSet& profiles) {
    const profile::Profile* p = profiles.find(spec.profile);
    if (!p) {
        std::string names;
        for (const profile::Profile* known : profiles.all()) names += (names.empty() ? "" : ", ") + known->model;
        return fail("unknown device model '" + spec.profile + "' (profiles: " + names + ")");
    }
    DeviceIdentity id;
    id.profile = p->model;
    id.sn = spec.sn;
    id.sub_sn = spec.sub_sn.empty() ? derive_sub_sn(spec.sn) : spec.sub_sn;
    id.model_code = p->cloud_model.empty() ? p->model : p->cloud_model;
    id.packs = p->model == "AP300" ? 2 : 1;
    id.style = answer_style(p->model);
    return id;
}

namespace {

// "'<text>': <what>", appended piece by piece: g++ 12 at -O3 reports a false -Wrestrict inside
// `"'" + std::string(...)` (operator+ with a literal first inserts at the front).
std::string quoted_problem(std::string_view text, std::string_view what) {
    std::string out = "'";
    out.append(text).append("': ").append(what);
    return out;
}

}  // namespace

Result<HostPort, std::string> parse_broker(std::string_view text) {
    if (auto hp = parse_host_port(text)) return *hp;
    return fail(quoted_problem(text, "expected HOST:PORT with a port from 1 to 65535"));
}

Result<Account, std::string> parse_account(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
        return fail(std::string("--account: expected EMAIL:PASSWORD"));
    return Account{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

}  // namespace bluetti::sim
