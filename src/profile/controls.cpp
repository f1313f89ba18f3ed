#include "bluetti/profile/controls.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "bluetti/text.hpp"

namespace bluetti::profile {

namespace {
// The payload as a refusal quotes it, escaped and bounded. Built by appending: for "'" + std::string&&
// g++ 12 -O3 reports a -Wrestrict false positive.
std::string quoted(std::string_view payload) {
    std::string out = "'";
    out += text::echo(payload);
    out += '\'';
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// An integer, or a number with an all-zero fraction ("42", "42.0"); nothing else.
std::optional<std::int64_t> parse_integral(std::string_view text) {
    std::int64_t whole = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), whole);
    if (ec == std::errc() && end == text.data() + text.size()) return whole;
    double value = 0;
    auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (dec != std::errc() || dend != text.data() + text.size() || !std::isfinite(value) || value != std::floor(value)) return std::nullopt;
    if (std::fabs(value) > 1e15) return std::nullopt;
    return static_cast<std::int64_t>(value);
}

const schema::FieldSpec* find_row(const schema::BlockSchema& block, std::string_view key) {
    for (const auto& f : block.fields)
        if (!f.key.has_holes() && f.key.text == key) return &f;
    return nullptr;
}

std::string range_text(const codec::WritableRegister& w) {
    return std::to_string(w.min) + ".." + std::to_string(w.max);
}

// Kind and limits of `c` from its whitelist entry and its row.
void fill_limits(Control& c) {
    const bool boolean = c.field->type == schema::BaseType::boolean || c.field->bit >= 0;
    c.kind = boolean ? Control::Kind::switch_ : c.field->is_enum() ? Control::Kind::select : Control::Kind::number;
    c.min = c.limits->min;
    c.max = c.limits->max;
    c.step = 1;  // registers hold whole numbers
    c.options.clear();
    for (const auto& o : c.field->options) {
        if (o.code < c.min || o.code > c.max) continue;
        if (std::find(c.options.begin(), c.options.end(), o.label) == c.options.end()) c.options.push_back(o.label);
    }
}
}  // namespace

std::optional<Control> describe_control(std::string_view key, const schema::BlockSchema* block, const schema::FieldSpec& field) {
    const auto* limits = codec::find_writable(key);
    if (!limits) return std::nullopt;
    Control c;
    c.key = std::string(key);
    c.limits = limits;
    c.block = block;
    c.field = &field;
    fill_limits(c);
    return c;
}

std::vector<Control> resolve_controls(const schema::SchemaRegistry& schemas, const std::vector<std::string>& keys,
                                      std::vector<std::string>* rejected) {
    std::vector<Control> out;
    for (const auto& key : keys) {
        const auto* limits = codec::find_writable(key);
        if (!limits) {
            if (rejected) rejected->push_back(key + ": not a writable control (docs/protocol.md §8)");
            continue;
        }
        Control c;
        c.key = key;
        c.limits = limits;
        for (const auto* block : schemas.all()) {
            if (const auto* f = find_row(*block, key)) {
                c.block = block;
                c.field = f;
                break;
            }
        }
        if (!c.field) {
            if (rejected) rejected->push_back(key + ": no schema row reads it back");
            continue;
        }
        // A model may keep the value elsewhere (a profile's move_to): a write to the whitelist's
        // register would then change something the readback never shows.
        if (const unsigned reads_at = c.block->block + c.field->offset / 2u; reads_at != limits->reg) {
            if (rejected)
                rejected->push_back(key + ": this model keeps it at register " + std::to_string(reads_at) +
                                    ", not at the writable register " + std::to_string(limits->reg));
            continue;
        }
        if (!c.field->transforms.empty() || c.field->scale != 1.0) {
            if (rejected) rejected->push_back(key + ": its row scales or transforms the value, so a read cannot confirm a write");
            continue;
        }
        fill_limits(c);
        if (std::none_of(out.begin(), out.end(), [&](const Control& o) { return o.key == key; })) out.push_back(std::move(c));
    }
    return out;
}

std::set<std::uint16_t> control_registers(const std::vector<Control>& controls) {
    std::set<std::uint16_t> out;
    for (const auto& c : controls) out.insert(c.limits->reg);
    return out;
}

std::vector<std::string> unsupported_controls(const std::vector<Control>& controls, const schema::DecodedBlock& block) {
    std::vector<std::string> out;
    for (const auto& c : controls)
        if (std::find(block.not_supported.begin(), block.not_supported.end(), c.key) != block.not_supported.end()) out.push_back(c.key);
    return out;
}

Result<std::uint16_t, std::string> parse_control_value(const Control& control, std::string_view payload,
                                                       const std::map<std::string, std::int64_t>& settings) {
    const std::string_view text = trim(payload);
    const auto& w = *control.limits;
    std::optional<std::int64_t> value;
    switch (control.kind) {
        case Control::Kind::switch_: {
            const std::string t = lower(text);
            if (t == "on" || t == "true" || t == "1") value = 1;
            if (t == "off" || t == "false" || t == "0") value = 0;
            if (!value) return fail(quoted(text) + " is not ON or OFF");
            break;
        }
        case Control::Kind::select: {
            std::string choices;
            for (const auto& o : control.field->options) {
                if (o.code < w.min || o.code > w.max) continue;
                if (lower(o.label) == lower(text)) value = o.code;
                if (choices.find(o.label) == std::string::npos) choices += (choices.empty() ? "" : ", ") + o.label;
            }
            if (!value) {
                if (auto code = parse_integral(text); code && *code >= w.min && *code <= w.max) value = code;
            }
            if (!value) return fail(quoted(text) + " is not one of the writable options (" + choices + ")");
            break;
        }
        case Control::Kind::number:
            value = parse_integral(text);
            if (!value) return fail(quoted(text) + " is not an integer");
            break;
    }
    if (*value < w.min || *value > w.max)
        return fail(std::to_string(*value) + " is out of range " + range_text(w) +
                    (control.field->unit.empty() ? "" : " " + control.field->unit));
    // The discharge floor stays below the charge ceiling (docs/protocol.md §8), against the last read.
    if (control.key == "soc_discharge_limit") {
        if (auto it = settings.find("soc_charge_limit"); it != settings.end() && *value >= it->second)
            return fail(std::to_string(*value) + " % is not below the charge limit (" + std::to_string(it->second) + " %)");
    } else if (control.key == "soc_charge_limit") {
        if (auto it = settings.find("soc_discharge_limit"); it != settings.end() && *value <= it->second)
            return fail(std::to_string(*value) + " % is not above the discharge limit (" + std::to_string(it->second) + " %)");
    }
    return static_cast<std::uint16_t>(*value);
}

}  // namespace bluetti::profile
