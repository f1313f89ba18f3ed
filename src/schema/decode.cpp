// decode(): register data -> values, row by row (docs/style.md #2, #5).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "bluetti/schema/codec.hpp"
#include "raw_access.hpp"

namespace bluetti::schema {

namespace {

using detail::be16;
using detail::read_integer;
using detail::saturating_integer;

double round_to(double v, int decimals) {
    static constexpr double kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    const double p = kPow10[std::clamp(decimals, 0, 6)];
    return std::round(v * p) / p;
}

// Applies the row's transforms and scale to a raw integer.
double transformed(const FieldSpec& f, std::int64_t raw) {
    double v = static_cast<double>(raw);
    for (const Transform& t : f.transforms) {
        switch (t.op) {
            case Transform::Op::abs:
                v = std::fabs(v);
                break;
            case Transform::Op::scale:
                v *= t.a;
                break;
            case Transform::Op::minus:
                v -= t.a;
                break;
            case Transform::Op::bitmask:
                v = static_cast<double>(saturating_integer(v) & saturating_integer(t.a));
                break;
            case Transform::Op::shift:
                v = static_cast<double>(saturating_integer(v) >> static_cast<int>(t.a));
                break;
            case Transform::Op::clamp:
                v = std::clamp(v, t.a, t.b);
                break;
        }
    }
    return v * f.scale;
}

Value number(double v, int precision) {
    if (precision <= 0) return static_cast<std::int64_t>(std::llround(v));
    return round_to(v, precision);
}

// ASCII with the two bytes of each register swapped; cut at NUL, trailing spaces trimmed.
std::string swapped_string(ByteSpan bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
        for (std::uint8_t c : {bytes[i + 1], bytes[i]}) {
            if (c == 0) goto done;
            out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
        }
    }
done:
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// A time of day as "HH:MM"; 24:00 is the end of the day. Anything else past 23:59 is no time.
std::optional<std::string> clock_text(std::uint8_t hour, std::uint8_t minute) {
    if (minute > 59 || hour > 24 || (hour == 24 && minute != 0)) return std::nullopt;
    char text[8];
    std::snprintf(text, sizeof text, "%02u:%02u", static_cast<unsigned>(hour), static_cast<unsigned>(minute));
    return std::string(text);
}

constexpr std::uint16_t kNotSupported = 0x0194;

// The model's "not supported" answer (docs/schema-format.md, "Sentinels"): the register holding a
// one- or two-byte row reads 0x0194; a 32-bit row reads the value 404, or 0x0194 in both words.
bool reads_not_supported(const FieldSpec& f, ByteSpan data, std::size_t at) {
    if (type_width(f.type, f.length) == 4) {
        return read_integer(f.type, data, at) == std::int64_t{kNotSupported} ||
               (be16(data, at) == kNotSupported && be16(data, at + 2) == kNotSupported);
    }
    return be16(data, at & ~std::size_t{1}) == kNotSupported;
}

std::optional<double> numeric(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* x = std::get_if<double>(&v)) return *x;
    return std::nullopt;
}

// A 0 that is no reading while another field of the block shows the source is there (a grid
// frequency of 0 with the grid voltage present).
void drop_false_zeros(DecodedBlock& out) {
    for (DecodedField& f : out.fields) {
        if (f.spec->zero_absent_while.empty() || numeric(f.value) != 0.0) continue;
        const DecodedField* other = out.find(f.spec->zero_absent_while);
        const auto witness = other ? numeric(other->value) : std::nullopt;
        if (witness && *witness != 0) f.value = std::monostate{};
    }
}

// The value of a row of a text type (string, serial, version, bits, hhmm) into `value`, left
// absent when the bytes hold none. False for the integer types.
bool decode_text(const FieldSpec& f, ByteSpan bytes, Value& value) {
    switch (f.type) {
        case BaseType::string: {
            std::string s = swapped_string(bytes);
            if (!s.empty()) value = std::move(s);
            return true;
        }
        case BaseType::serial: {
            std::uint64_t v = 0;
            for (int r = 3; r >= 0; --r) v = v << 16 | be16(bytes, static_cast<std::size_t>(r) * 2);
            if (v != 0) value = std::to_string(v);
            return true;
        }
        case BaseType::version: {
            const std::uint32_t v = static_cast<std::uint32_t>(be16(bytes, 2)) << 16 | be16(bytes, 0);
            if (v != 0) {
                char text[24];
                std::snprintf(text, sizeof text, "%u.%02u", v / 100, v % 100);
                value = std::string(text);
            }
            return true;
        }
        case BaseType::bits:
            value = to_hex(bytes);
            return true;
        case BaseType::hhmm:
            if (auto text = clock_text(bytes[0], bytes[1])) value = std::move(*text);
            return true;
        default:
            return false;
    }
}

struct FieldDecoder {
    ByteSpan data;
    DecodedBlock& out;

    // Decodes one row at `base` (block start or record start) and appends it; returns the raw
    // integer for count fields.
    std::optional<std::int64_t> run(const FieldSpec& f, std::size_t base, const Bindings& bindings) {
        DecodedField& field = out.fields.emplace_back();
        field.spec = &f;
        if (f.key.has_holes())
            expand_into(field.key, f.key, bindings);
        else
            field.key = f.key.text;
        if (f.omitted) return std::nullopt;

        const std::size_t at = base + f.offset;
        const std::size_t width = type_width(f.type, f.length);
        if (at + width > data.size()) return std::nullopt;
        if (decode_text(f, data.subspan(at, width), field.value)) return std::nullopt;
        return integer(f, at, field);
    }

    // An integer row at `at`: its sentinels (absent), then a switch, an option or a number.
    std::optional<std::int64_t> integer(const FieldSpec& f, std::size_t at, DecodedField& field) {
        const std::int64_t raw = *read_integer(f.type, data, at);
        if (f.not_supported && reads_not_supported(f, data, at)) {
            out.not_supported.push_back(field.key);
            return std::nullopt;
        }
        if (f.not_applicable_from && raw >= *f.not_applicable_from) return std::nullopt;
        if (std::find(f.absent_if.begin(), f.absent_if.end(), raw) != f.absent_if.end()) return std::nullopt;
        if ((f.type == BaseType::temp40 || f.type == BaseType::temp40u8) && raw == 0) return std::nullopt;

        if (f.type == BaseType::boolean) {
            field.value = raw != 0;
            return raw;
        }
        if (f.bit >= 0) {
            field.value = ((raw >> f.bit) & 1) != 0;
            return raw;
        }
        const std::int64_t base_value = (f.type == BaseType::temp40 || f.type == BaseType::temp40u8) ? raw - 40 : raw;
        const double v = transformed(f, base_value);
        if (f.is_enum()) {
            const auto code = static_cast<std::int64_t>(std::llround(v));
            for (const EnumOption& o : f.options) {
                if (o.code == code) {
                    field.value = o.label;
                    return code;
                }
            }
            out.unknown_codes.emplace_back(field.key, code);
            return std::nullopt;
        }
        field.value = number(v, f.precision);
        return static_cast<std::int64_t>(std::llround(v));
    }
};

// The name of a key_from record at `record` (its code's label, else the fallback with the code);
// nullopt when the code lies past the reply.
std::optional<std::string> record_name(const GroupSpec& group, ByteSpan data, std::size_t record) {
    const auto code = read_integer(group.key_from->type, data, record + group.key_from->offset);
    if (!code) return std::nullopt;
    std::string name;
    for (const EnumOption& o : group.key_from->names)
        if (o.code == *code) name = o.label;
    if (name.empty()) {
        Bindings value_binding;
        const std::string code_text = std::to_string(*code);
        value_binding.bind("value", code_text);
        name = expand(group.key_from->fallback, value_binding);
    }
    return name;
}

// Every group's records: how many from its count fields (`top_values`), where from its start or
// the end of the group before it.
void decode_groups(const BlockSchema& schema, ByteSpan data, FieldDecoder& decoder, const Bindings& top,
                   const std::vector<std::optional<std::int64_t>>& top_values) {
    std::vector<std::size_t> counts(schema.groups.size(), 0), starts(schema.groups.size(), 0);
    for (std::size_t g = 0; g < schema.groups.size(); ++g) {
        const GroupSpec& group = schema.groups[g];
        // Summed as doubles: a count field holds whatever its transforms and scale make of it (the
        // llround of an out-of-range value, INT64_MIN on x86-64), and an int64 sum of those overflows.
        double count = 0;
        for (std::size_t idx : group.count_from) count += static_cast<double>(top_values[idx].value_or(0));
        counts[g] = static_cast<std::size_t>(std::clamp(count, 0.0, static_cast<double>(group.max)));
        starts[g] = group.start_after >= 0 ? starts[static_cast<std::size_t>(group.start_after)] +
                                                 counts[static_cast<std::size_t>(group.start_after)] *
                                                     schema.groups[static_cast<std::size_t>(group.start_after)].stride
                                           : group.start;
        for (std::size_t j = 0; j < counts[g]; ++j) {
            const std::size_t step = j * group.stride;
            const std::size_t record = starts[g] + (group.byte_swapped ? (step ^ 1u) : step);
            char index_text[8];
            const auto index_end = std::to_chars(index_text, index_text + sizeof index_text, j + 1).ptr;
            Bindings bindings = top;
            bindings.bind(group.index, std::string_view(index_text, static_cast<std::size_t>(index_end - index_text)));
            std::string module_name;
            if (group.key_from) {
                auto name = record_name(group, data, record);
                if (!name) break;  // the record's name lies past the reply
                module_name = std::move(*name);
                bindings.bind(group.key_from->placeholder, module_name);
            }
            for (const FieldSpec& f : group.fields) decoder.run(f, record, bindings);
        }
    }
}

// Derived rows: the minimum, maximum or spread of a group field over the records present.
void decode_derived(const BlockSchema& schema, const Bindings& top, DecodedBlock& out) {
    for (const DerivedSpec& d : schema.derived) {
        const FieldSpec* source = &schema.groups[d.group].fields[d.of];
        double lo = 0, hi = 0;
        bool any = false;
        for (const DecodedField& f : out.fields) {
            if (f.spec != source) continue;
            double v;
            if (const auto* i = std::get_if<std::int64_t>(&f.value))
                v = static_cast<double>(*i);
            else if (const auto* x = std::get_if<double>(&f.value))
                v = *x;
            else
                continue;
            lo = any ? std::min(lo, v) : v;
            hi = any ? std::max(hi, v) : v;
            any = true;
        }
        DecodedField& field = out.fields.emplace_back();
        field.spec = &d.field;
        field.key = expand(d.field.key, top);
        if (!any) continue;
        const double result = d.op == DerivedSpec::Op::min ? lo : d.op == DerivedSpec::Op::max ? hi : hi - lo;
        field.value = number(result, d.field.precision);
    }
}

}  // namespace

Result<DecodedBlock, DecodeError> decode(const BlockSchema& schema, ByteSpan data, DecodeOptions options) {
    if (data.size() % 2 != 0) {
        return fail(DecodeError{"block " + std::to_string(schema.block) + ": odd data length " + std::to_string(data.size())});
    }
    if (data.size() < schema.min_len) {
        return fail(DecodeError{"block " + std::to_string(schema.block) + " needs at least " + std::to_string(schema.min_len) +
                                " bytes, got " + std::to_string(data.size())});
    }
    DecodedBlock out;
    out.schema = &schema;
    out.data_length = data.size();
    out.fields.reserve(schema.fields.size() + 16);
    FieldDecoder decoder{data, out};

    char pack_text[12];
    const auto pack_end = std::to_chars(pack_text, pack_text + sizeof pack_text, options.pack).ptr;
    Bindings top;
    top.bind("n", std::string_view(pack_text, static_cast<std::size_t>(pack_end - pack_text)));

    std::vector<std::optional<std::int64_t>> top_values(schema.fields.size());
    for (std::size_t i = 0; i < schema.fields.size(); ++i) top_values[i] = decoder.run(schema.fields[i], 0, top);

    decode_groups(schema, data, decoder, top, top_values);
    decode_derived(schema, top, out);
    drop_false_zeros(out);
    return out;
}

}  // namespace bluetti::schema
