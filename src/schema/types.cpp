// Name tables of the schema layer (one table per enum, docs/style.md #18) and key templates.
#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "bluetti/schema/block_schema.hpp"
#include "bluetti/schema/value.hpp"

namespace bluetti::schema {

namespace {

struct TypeRow {
    BaseType type;
    std::string_view name;
    std::size_t width;  // 0 = `length`
    bool integer;
};

constexpr std::array<TypeRow, 18> kTypes{{
    {BaseType::u8, "u8", 1, true},
    {BaseType::i8, "i8", 1, true},
    {BaseType::u16, "u16", 2, true},
    {BaseType::i16, "i16", 2, true},
    {BaseType::u32ws, "u32ws", 4, true},
    {BaseType::i32ws, "i32ws", 4, true},
    {BaseType::u32be, "u32be", 4, true},
    {BaseType::i32be, "i32be", 4, true},
    {BaseType::boolean, "bool", 1, true},
    {BaseType::string, "string", 0, false},
    {BaseType::serial, "serial", 8, false},
    {BaseType::version, "version", 4, false},
    {BaseType::temp40, "temp40", 2, true},
    {BaseType::temp40u8, "temp40u8", 1, true},
    {BaseType::bits16, "bits16", 2, true},
    {BaseType::bits32, "bits32", 4, true},
    {BaseType::bits, "bits", 0, false},
    {BaseType::hhmm, "hhmm", 2, false},
}};

const TypeRow& row(BaseType type) {
    for (const auto& r : kTypes)
        if (r.type == type) return r;
    return kTypes[0];
}

constexpr std::array<std::pair<EntityKind, std::string_view>, 5> kEntityKinds{{
    {EntityKind::none, "none"},
    {EntityKind::sensor, "sensor"},
    {EntityKind::off, "off"},
    {EntityKind::diag, "diag"},
    {EntityKind::control, "control"},
}};

}  // namespace

std::string_view to_string(BaseType type) {
    return row(type).name;
}

std::optional<BaseType> base_type_from_string(std::string_view name) {
    for (const auto& r : kTypes)
        if (r.name == name) return r.type;
    return std::nullopt;
}

std::size_t type_width(BaseType type, std::size_t length) {
    const std::size_t w = row(type).width;
    return w ? w : length;
}

bool is_integer_type(BaseType type) {
    return row(type).integer;
}

std::string_view to_string(EntityKind kind) {
    for (const auto& [k, name] : kEntityKinds)
        if (k == kind) return name;
    return "none";
}

std::optional<EntityKind> entity_kind_from_string(std::string_view name) {
    for (const auto& [k, text] : kEntityKinds)
        if (text == name) return k;
    return std::nullopt;
}

int implied_precision(const FieldSpec& field) {
    double scale = field.scale;
    for (const Transform& t : field.transforms)
        if (t.op == Transform::Op::scale) scale *= t.a;
    scale = std::fabs(scale);
    for (int d = 0; d <= 6; ++d) {
        const double shifted = scale * std::pow(10.0, d);
        if (std::fabs(shifted - std::round(shifted)) < 1e-9 * std::max(1.0, shifted)) return d;
    }
    return 6;
}

bool FieldSpec::is_numeric() const {
    const bool bitmap = type == BaseType::bits16 || type == BaseType::bits32;
    return is_integer_type(type) && type != BaseType::boolean && !bitmap && !is_enum() && bit < 0;
}

std::string SourceMark::to_string() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

Template make_template(std::string text) {
    Template t;
    std::string current;
    bool in_hole = false;
    for (char c : text) {
        if (c == '{' && !in_hole) {
            t.pieces.push_back(std::move(current));
            current.clear();
            in_hole = true;
        } else if (c == '}' && in_hole) {
            t.pieces.push_back(std::move(current));
            current.clear();
            in_hole = false;
        } else {
            current.push_back(c);
        }
    }
    t.pieces.push_back(std::move(current));
    t.text = std::move(text);
    return t;
}

void expand_into(std::string& out, const Template& t, const Bindings& bindings) {
    out.clear();
    for (std::size_t i = 0; i < t.pieces.size(); ++i) {
        if (i % 2 == 0) {
            out += t.pieces[i];
            continue;
        }
        bool bound = false;
        for (std::size_t b = 0; b < bindings.size; ++b) {
            if (bindings.items[b].name == t.pieces[i]) {
                out += bindings.items[b].value;
                bound = true;
                break;
            }
        }
        if (!bound) out += "{" + t.pieces[i] + "}";
    }
}

std::string expand(const Template& t, const Bindings& bindings) {
    if (!t.has_holes()) return t.text;
    std::string out;
    expand_into(out, t, bindings);
    return out;
}

std::vector<const Template*> BlockSchema::key_templates() const {
    std::vector<const Template*> out;
    for (const auto& f : fields) out.push_back(&f.key);
    for (const auto& g : groups)
        for (const auto& f : g.fields) out.push_back(&f.key);
    for (const auto& d : derived) out.push_back(&d.field.key);
    return out;
}

bool BlockSchema::per_pack() const {
    for (const Template* t : key_templates())
        for (std::size_t i = 1; i < t->pieces.size(); i += 2)
            if (t->pieces[i] == "n") return true;
    return false;
}

const DecodedField* DecodedBlock::find(std::string_view key) const {
    for (const auto& f : fields)
        if (f.key == key) return &f;
    return nullptr;
}

std::size_t DecodedBlock::present_count() const {
    std::size_t n = 0;
    for (const auto& f : fields) n += !is_absent(f.value);
    return n;
}

}  // namespace bluetti::schema
