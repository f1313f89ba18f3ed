// Block schemas: one register block described as rows of data on a closed set of base types
// (docs/style.md #4). Loaded from YAML (loader.hpp), applied by decode()/encode() (decode.hpp).
// Nothing here knows about MQTT or Home Assistant; the semantic columns (unit, device class, …)
// are carried for the layers above.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bluetti::schema {

enum class BaseType : std::uint8_t {
    u8,
    i8,
    u16,
    i16,
    u32ws,
    i32ws,  // word-swapped: low register first
    u32be,
    i32be,     // plain big-endian (profile overrides only)
    boolean,   // one byte, non-zero = true
    string,    // `length` bytes, byte-swapped per register, NUL-trimmed
    serial,    // 4 registers, least significant first, decimal string
    version,   // u32ws / 100 as "x.yy"
    temp40,    // u16 raw - 40 °C, raw 0 = absent
    temp40u8,  // u8 raw - 40 °C, raw 0 = absent
    bits16,    // u16 bitmap as an integer
    bits32,    // u32ws bitmap as an integer
    bits,      // `length` raw bytes as lower-case hex
    hhmm,      // u16: hour in the high byte, minute in the low byte, as "HH:MM"
};

std::string_view to_string(BaseType type);
std::optional<BaseType> base_type_from_string(std::string_view name);
// Bytes a value of this type occupies (`length` for string and bits).
std::size_t type_width(BaseType type, std::size_t length);
bool is_integer_type(BaseType type);

struct Transform {
    enum class Op : std::uint8_t { abs, scale, minus, bitmask, shift, clamp };
    Op op;
    double a = 0;
    double b = 0;
};

// How the field becomes a Home Assistant entity (docs/protocol.md §6.1 "entity" column).
enum class EntityKind : std::uint8_t { none, sensor, off, diag, control };
std::string_view to_string(EntityKind kind);
std::optional<EntityKind> entity_kind_from_string(std::string_view name);

// A key or name with placeholders: "battery_pack{n}_cell{i}_voltage".
struct Template {
    std::string text;                 // as written
    std::vector<std::string> pieces;  // literal, hole, literal, hole, …, literal (odd count)
    bool has_holes() const { return pieces.size() > 1; }
};
Template make_template(std::string text);

// Values for a template's holes. Small and linear: a key has at most three holes.
struct Bindings {
    struct Binding {
        std::string_view name;
        std::string_view value;
    };
    Binding items[4];
    std::size_t size = 0;
    void bind(std::string_view name, std::string_view value) { items[size++] = {name, value}; }
};
std::string expand(const Template& t, const Bindings& bindings);
void expand_into(std::string& out, const Template& t, const Bindings& bindings);

struct EnumOption {
    std::int64_t code;
    std::string label;
};

// Where a row came from, for error messages.
struct SourceMark {
    std::string file;
    int line = 0;
    int column = 0;
    std::string to_string() const;
};

// The values of a numeric row a real device can report, in the published unit (after transforms
// and scale). A decoded value outside it marks the whole frame as implausible: most likely the
// answer to another client's read of another block (plausibility.hpp). It never changes decoding.
struct ValidRange {
    double min = 0;
    double max = 0;
    bool zero = false;  // 0 is plausible too: a device that is not running reports 0 (no grid: 0 Hz)

    bool contains(double v) const { return (v >= min && v <= max) || (zero && v == 0); }
};

struct FieldSpec {
    Template key;
    Template name;  // display name; may hold the same placeholders as the key
    std::uint16_t offset = 0;
    BaseType type = BaseType::u16;
    std::uint16_t length = 0;  // string and bits only
    std::vector<Transform> transforms;
    double scale = 1.0;
    int precision = 0;                // decimals published; 0 = integer
    bool precision_explicit = false;  // written in the schema, not derived from the scale
    std::vector<EnumOption> options;
    int bit = -1;
    std::vector<std::int64_t> absent_if;
    // Model-specific sentinels, set by a profile override (docs/schema-format.md, "Sentinels"):
    // the register(s) of the row read 0x0194 where the model does not implement it ("not
    // supported"); a raw value at or above `not_applicable_from` means "does not apply now";
    // a 0 while the field `zero_absent_while` is present and non-zero is no reading. Each makes
    // the value absent, never a number.
    bool not_supported = false;
    std::optional<std::int64_t> not_applicable_from;
    std::string zero_absent_while;
    bool omitted = false;  // the row means nothing on this model: always absent, never an entity
    std::string unit;
    std::string device_class;
    std::string state_class;
    EntityKind entity = EntityKind::none;
    std::string entity_category;  // "", "diagnostic" or "config"
    bool enabled_by_default = true;
    std::optional<ValidRange> valid;  // none: every value is plausible
    SourceMark mark;

    bool is_enum() const { return !options.empty(); }
    // True when the row decodes to a number (not text, a bitmap, an enum label or a boolean): the
    // rows a ValidRange may be given to.
    bool is_numeric() const;
};

// Decimals implied by the row's scale transforms and scale: 0.1 -> 1, 0.01 -> 2, 1 -> 0.
int implied_precision(const FieldSpec& field);

struct KeyFrom {
    std::uint16_t offset = 0;
    BaseType type = BaseType::u16;
    std::vector<EnumOption> names;
    Template fallback;        // "module{value}"
    std::string placeholder;  // "module"
};

struct GroupSpec {
    std::string id;
    std::string index;                    // placeholder name for the 1-based record number
    std::vector<std::size_t> count_from;  // indexes into BlockSchema::fields, summed
    std::uint16_t max = 0;
    std::uint16_t start = 0;
    int start_after = -1;  // index of an earlier group, or -1
    std::uint16_t stride = 0;
    bool byte_swapped = false;
    std::optional<KeyFrom> key_from;
    std::vector<FieldSpec> fields;
};

struct DerivedSpec {
    enum class Op : std::uint8_t { min, max, spread };
    Op op;
    FieldSpec field;        // key, name, semantics and precision of the result
    std::size_t group = 0;  // the group whose field is aggregated
    std::size_t of = 0;     // index into that group's fields
};

struct BlockSchema {
    std::uint16_t block = 0;
    std::string name;
    std::string state_topic;
    std::uint16_t read = 0;     // registers read by default; 0 = never read with FC 03
    std::uint16_t min_len = 0;  // shortest reply accepted, in bytes
    std::vector<FieldSpec> fields;
    std::vector<GroupSpec> groups;
    std::vector<DerivedSpec> derived;
    std::string source;  // file it was loaded from

    // Every key template of the block, in decode order.
    std::vector<const Template*> key_templates() const;
    // True when some key holds the pack placeholder {n} (read per pack).
    bool per_pack() const;
};

// Where a model keeps a value that other models keep elsewhere: the block and the byte offset in it.
struct Placement {
    std::uint16_t block = 0;
    std::uint16_t offset = 0;
};

// Field overrides a device profile applies to a schema (docs/protocol.md §5.7): a scale, a type, an
// entity kind, a unit, a device class or a plausible range for one key, the model's sentinels
// (FieldSpec), and where the model keeps the value. A range replaces the row's range and its
// `zero` flag together.
struct FieldOverride {
    std::optional<double> scale;
    std::optional<BaseType> type;
    std::optional<EntityKind> entity;
    std::optional<std::string> unit;
    std::optional<ValidRange> valid;
    std::optional<std::string> device_class{};
    bool not_supported = false;
    std::optional<std::int64_t> not_applicable_from{};
    std::optional<std::string> zero_absent_while{};
    bool omit = false;
    // The row moves to this block and offset (a plain row, not one of a group): its key, entity and
    // unique_id stay, its state topic becomes the new block's.
    std::optional<Placement> move_to{};
};

}  // namespace bluetti::schema
