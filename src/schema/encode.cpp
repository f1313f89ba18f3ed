// encode(): values -> register data, the inverse of decode() for the simulator and round-trip
// tests. Transforms are undone in reverse order; abs and clamp have no inverse and pass through.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "bluetti/schema/codec.hpp"
#include "raw_access.hpp"

namespace bluetti::schema {

namespace {

using detail::write_integer;

// Bits of the stored integer a row owns: fields may share bytes (nibbles, status bits).
std::uint64_t storage_mask(const FieldSpec& f) {
    if (f.bit >= 0) return std::uint64_t{1} << f.bit;
    std::uint64_t mask = ~std::uint64_t{0};
    for (auto t = f.transforms.rbegin(); t != f.transforms.rend(); ++t) {
        if (t->op == Transform::Op::bitmask) mask &= static_cast<std::uint64_t>(t->a);
        if (t->op == Transform::Op::shift) mask <<= static_cast<int>(t->a);
    }
    return mask;
}

std::optional<double> as_number(const Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) return *d;
    if (const auto* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
    return std::nullopt;
}

Failure<DecodeError> bad(const std::string& key, const std::string& why) {
    return fail(DecodeError{"cannot encode '" + key + "': " + why});
}

bool is_text_type(BaseType type) {
    return type == BaseType::string || type == BaseType::serial || type == BaseType::version || type == BaseType::hhmm ||
           type == BaseType::bits;
}

// A value undone through the row's scale and transforms, in reverse order, to its raw number.
double undo_transforms(const FieldSpec& f, double v) {
    if (!f.is_enum()) v /= f.scale;
    for (auto t = f.transforms.rbegin(); t != f.transforms.rend(); ++t) {
        switch (t->op) {
            case Transform::Op::scale:
                v /= t->a;
                break;
            case Transform::Op::minus:
                v += t->a;
                break;
            case Transform::Op::shift:
                v = static_cast<double>(std::llround(v) << static_cast<int>(t->a));
                break;
            default:
                break;  // abs, clamp, bitmask: nothing to undo; the mask is applied by the caller
        }
    }
    if (f.type == BaseType::temp40 || f.type == BaseType::temp40u8) v += 40;
    return v;
}

// The raw integer an integer row stores for `value`: an option's code, a switch's bit, a number.
Result<std::int64_t, DecodeError> raw_integer(const FieldSpec& f, const std::string& key, const Value& value) {
    double v;
    if (f.is_enum()) {
        const auto* label = std::get_if<std::string>(&value);
        const EnumOption* match = nullptr;
        for (const EnumOption& o : f.options)
            if (label && o.label == *label && !match) match = &o;
        if (!match) return bad(key, "is not one of its options");
        v = static_cast<double>(match->code);
    } else if (auto n = as_number(value)) {
        v = *n;
    } else {
        return bad(key, "needs a number");
    }
    if (f.bit >= 0 || f.type == BaseType::boolean) return v != 0 ? (f.bit >= 0 ? std::int64_t{1} << f.bit : 1) : 0;
    return std::llround(undo_transforms(f, v));
}

struct FieldEncoder {
    Bytes& data;

    std::optional<DecodeError> run(const FieldSpec& f, const std::string& key, const Value& value, std::size_t base) {
        const std::size_t at = base + f.offset;
        const std::size_t width = type_width(f.type, f.length);
        if (at + width > data.size()) return std::nullopt;  // outside the requested registers
        if (is_text_type(f.type)) return text(f, key, value, at);
        auto raw = raw_integer(f, key, value);
        if (!raw) return raw.error();
        write_integer(f.type, data, at, static_cast<std::uint64_t>(*raw), storage_mask(f));
        return std::nullopt;
    }

    // A row of a text type (is_text_type) at `at`.
    std::optional<DecodeError> text(const FieldSpec& f, const std::string& key, const Value& value, std::size_t at) {
        const auto* s = std::get_if<std::string>(&value);
        switch (f.type) {
            case BaseType::string:
                if (!s || s->size() > f.length) return bad(key, "needs text of at most " + std::to_string(f.length) + " characters").error;
                for (std::size_t i = 0; i < f.length; ++i) data[at + (i ^ 1)] = i < s->size() ? static_cast<std::uint8_t>((*s)[i]) : 0;
                return std::nullopt;
            case BaseType::serial: {
                std::uint64_t v = 0;
                if (!s || std::from_chars(s->data(), s->data() + s->size(), v).ec != std::errc{})
                    return bad(key, "needs a decimal serial").error;
                for (std::size_t r = 0; r < 4; ++r) {
                    data[at + 2 * r] = static_cast<std::uint8_t>(v >> (16 * r + 8));
                    data[at + 2 * r + 1] = static_cast<std::uint8_t>(v >> (16 * r));
                }
                return std::nullopt;
            }
            case BaseType::version: {
                if (!s) return bad(key, "needs a version text like 2204.15").error;
                const double v = std::strtod(s->c_str(), nullptr);
                write_integer(BaseType::u32ws, data, at, static_cast<std::uint64_t>(std::llround(v * 100)), ~std::uint64_t{0});
                return std::nullopt;
            }
            case BaseType::hhmm: {
                unsigned hour = 0, minute = 0;
                if (!s || s->size() != 5 || (*s)[2] != ':' || std::from_chars(s->data(), s->data() + 2, hour).ec != std::errc{} ||
                    std::from_chars(s->data() + 3, s->data() + 5, minute).ec != std::errc{} || hour > 24 || minute > 59)
                    return bad(key, "needs a time of day like 06:30").error;
                data[at] = static_cast<std::uint8_t>(hour);
                data[at + 1] = static_cast<std::uint8_t>(minute);
                return std::nullopt;
            }
            default: {  // bits
                auto bytes = s ? parse_hex(*s) : parse_hex("");
                if (!bytes || bytes->size() != f.length) return bad(key, "needs " + std::to_string(f.length) + " bytes of hex").error;
                std::copy(bytes->begin(), bytes->end(), data.begin() + static_cast<std::ptrdiff_t>(at));
                return std::nullopt;
            }
        }
    }
};

const Value* lookup(const ValueMap& values, const std::string& key) {
    auto it = values.find(key);
    return it == values.end() || is_absent(it->second) ? nullptr : &it->second;
}

// The records of one group, starting at byte `start`, as many as `count` allows.
struct GroupEncoder {
    const GroupSpec& group;
    const ValueMap& values;
    FieldEncoder& encoder;
    std::size_t start;
    std::size_t count;

    std::optional<DecodeError> write_record(std::size_t j, const Bindings& bindings) {
        const std::size_t step = j * group.stride;
        const std::size_t record = start + (group.byte_swapped ? (step ^ 1u) : step);
        for (const FieldSpec& f : group.fields) {
            const std::string key = expand(f.key, bindings);
            if (const Value* v = lookup(values, key))
                if (auto error = encoder.run(f, key, *v, record)) return error;
        }
        return std::nullopt;
    }

    std::optional<DecodeError> numbered(const Bindings& top) {
        for (std::size_t j = 0; j < count; ++j) {
            const std::string index = std::to_string(j + 1);
            Bindings bindings = top;
            bindings.bind(group.index, index);
            if (auto error = write_record(j, bindings)) return error;
        }
        return std::nullopt;
    }

    // Records named by a value inside them (firmware lists): the named ones present in `values`,
    // in table order.
    std::optional<DecodeError> named(const Bindings& top) {
        std::size_t written = 0;
        Bytes& data = encoder.data;
        for (const EnumOption& name : group.key_from->names) {
            if (written >= count) break;
            Bindings bindings = top;
            bindings.bind(group.key_from->placeholder, name.label);
            bool any = false;
            for (const FieldSpec& f : group.fields) any = any || lookup(values, expand(f.key, bindings));
            if (!any) continue;
            const std::size_t record = start + written * group.stride;
            if (record + group.key_from->offset + type_width(group.key_from->type, 0) <= data.size()) {
                write_integer(group.key_from->type, data, record + group.key_from->offset, static_cast<std::uint64_t>(name.code),
                              ~std::uint64_t{0});
            }
            if (auto error = write_record(written, bindings)) return error;
            ++written;
        }
        return std::nullopt;
    }
};

}  // namespace

Result<Bytes, DecodeError> encode(const BlockSchema& schema, const ValueMap& values, std::size_t registers, DecodeOptions options) {
    Bytes data(registers * 2, 0);
    FieldEncoder encoder{data};
    const std::string pack = std::to_string(options.pack);
    Bindings top;
    top.bind("n", pack);

    std::vector<std::int64_t> top_values(schema.fields.size(), 0);
    for (std::size_t i = 0; i < schema.fields.size(); ++i) {
        const FieldSpec& f = schema.fields[i];
        const std::string key = expand(f.key, top);
        if (const Value* v = lookup(values, key)) {
            if (auto error = encoder.run(f, key, *v, 0)) return fail(*error);
            if (auto n = as_number(*v)) top_values[i] = std::llround(*n);
        }
    }

    std::vector<std::size_t> counts(schema.groups.size(), 0), starts(schema.groups.size(), 0);
    for (std::size_t g = 0; g < schema.groups.size(); ++g) {
        const GroupSpec& group = schema.groups[g];
        double count = 0;  // as in decode(): an int64 sum of arbitrary values overflows
        for (std::size_t idx : group.count_from) count += static_cast<double>(top_values[idx]);
        counts[g] = static_cast<std::size_t>(std::clamp(count, 0.0, static_cast<double>(group.max)));
        starts[g] = group.start_after >= 0 ? starts[static_cast<std::size_t>(group.start_after)] +
                                                 counts[static_cast<std::size_t>(group.start_after)] *
                                                     schema.groups[static_cast<std::size_t>(group.start_after)].stride
                                           : group.start;
        GroupEncoder records{group, values, encoder, starts[g], counts[g]};
        if (auto error = group.key_from ? records.named(top) : records.numbered(top)) return fail(*error);
    }
    return data;
}

}  // namespace bluetti::schema
