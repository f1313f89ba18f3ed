// A station's entities from its schema rows (discovery.hpp, station_entities): each present key
// back to the row that produced it, and that row as a sensor or binary sensor (discovery_controls.cpp
// makes control rows writable). Sorted as the blocks list their rows, so a config never reorders.
#include <algorithm>
#include <cstdint>
#include <tuple>

#include "bluetti/natural_order.hpp"
#include "discovery_parts.hpp"

namespace bluetti::ha::detail {

using schema::BaseType;
using schema::BlockSchema;
using schema::EntityKind;
using schema::FieldSpec;
using schema::GroupSpec;
using schema::Template;

namespace {

std::vector<Row> all_rows(const schema::SchemaRegistry& registry) {
    std::vector<Row> rows;
    for (const BlockSchema* b : registry.all()) {
        std::size_t n = 0;
        for (const FieldSpec& f : b->fields) rows.push_back({b, &f, nullptr, n++});
        for (const GroupSpec& g : b->groups)
            for (const FieldSpec& f : g.fields) rows.push_back({b, &f, &g, n++});
        for (const auto& d : b->derived) rows.push_back({b, &d.field, nullptr, n++});
    }
    // Rows without placeholders first: an exact key beats a pattern.
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return !a.field->key.has_holes() && b.field->key.has_holes(); });
    return rows;
}

using Holes = std::vector<std::pair<std::string, std::string>>;

// Binds the placeholders of `t` (from piece `piece` on) so that it expands to `key`. A placeholder
// matches a non-empty run of [a-z0-9]; a key_from placeholder also matches one of its names
// ("dc_hub" holds an underscore).
bool match(const Template& t, std::size_t piece, std::string_view key, const GroupSpec* group, Holes& holes) {
    const std::string& literal = t.pieces[piece];
    if (key.substr(0, literal.size()) != literal) return false;
    key.remove_prefix(literal.size());
    if (piece + 1 == t.pieces.size()) return key.empty();
    const std::string& hole = t.pieces[piece + 1];
    auto attempt = [&](std::size_t length) {
        holes.emplace_back(hole, std::string(key.substr(0, length)));
        if (match(t, piece + 2, key.substr(length), group, holes)) return true;
        holes.pop_back();
        return false;
    };
    if (group && group->key_from && group->key_from->placeholder == hole) {
        for (const auto& name : group->key_from->names)
            if (key.substr(0, name.label.size()) == name.label && attempt(name.label.size())) return true;
    }
    std::size_t run = 0;
    while (run < key.size() && ((key[run] >= 'a' && key[run] <= 'z') || (key[run] >= '0' && key[run] <= '9'))) ++run;
    for (std::size_t length = 1; length <= run; ++length)
        if (attempt(length)) return true;
    return false;
}

std::string expand_name(const Template& name, const Holes& holes) {
    schema::Bindings b;
    for (const auto& [hole, value] : holes)
        if (b.size < std::size(b.items)) b.bind(hole, value);
    return schema::expand(name, b);
}

// Distinct option labels in code order (a writable select's are its control's, profile::Control).
json option_labels(const FieldSpec& f) {
    json labels = json::array();
    for (const auto& o : f.options)
        if (std::find(labels.begin(), labels.end(), json(o.label)) == labels.end()) labels.push_back(o.label);
    return labels;
}

struct Sorted {
    std::uint16_t block;
    std::size_t ordinal;
    Entity entity;
};

// The entity of every present key that has a row and is not left out, unsorted.
std::vector<Sorted> row_entities(const Context& ctx, const EntityInput& input) {
    std::vector<Sorted> found;
    const std::vector<Row> rows = all_rows(*input.schemas);
    for (const std::string& key : input.present_keys) {
        if (input.exclude.count(key) || is_diagnostic_key(key)) continue;
        Holes holes;
        const Row* row = nullptr;
        for (const Row& r : rows) {
            holes.clear();
            if (match(r.field->key, 0, key, r.group, holes)) {
                row = &r;
                break;
            }
        }
        if (!row) continue;
        const FieldSpec& f = *row->field;
        if (f.entity == EntityKind::none || input.exclude.count(f.key.text)) continue;
        if (f.entity == EntityKind::control && !input.controls) continue;
        const std::string name = entity_name(expand_name(f.name, holes), ctx.device_name, key);
        const std::string topic = state_topic(ctx.options, ctx.station.serial, row->block->state_topic);
        json c = f.entity == EntityKind::control ? control_component(ctx, *row, key, name, topic)
                                                 : read_only_component(ctx, *row, key, name, topic);
        std::string platform = c["platform"].get<std::string>();
        found.push_back({row->block->block, row->ordinal, Entity{key, std::move(platform), std::move(c)}});
    }
    return found;
}

}  // namespace

bool is_numeric(const FieldSpec& f) {
    return !f.is_enum() && f.bit < 0 && f.type != BaseType::boolean && schema::is_integer_type(f.type);
}

bool is_bool(const FieldSpec& f) {
    return f.type == BaseType::boolean || f.bit >= 0;
}

// A read-only row: sensor (numeric, enum or text) or binary sensor.
json read_only_component(const Context& ctx, const Row& row, const std::string& key, const std::string& name, const std::string& topic) {
    const FieldSpec& f = *row.field;
    json c = component_head(is_bool(f) ? "binary_sensor" : "sensor", ctx.id_prefix, ctx.device_slug, key, name);
    // A sensor is never `config` (HA refuses it, §3): a setting shown read-only here (the device may
    // not be written through) is something to look up, not a primary value, so it is diagnostic.
    const ControlRole* role = f.entity == EntityKind::control ? control_role(key) : nullptr;
    const bool setting = f.entity == EntityKind::control && (f.entity_category == "config" || (role && role->config));
    if (f.entity_category == "diagnostic" || setting) c["entity_category"] = "diagnostic";
    if (!f.enabled_by_default) c["enabled_by_default"] = false;
    c["state_topic"] = topic;
    c["value_template"] = value_template(key);
    if (is_bool(f)) {
        if (is_binary_sensor_class(f.device_class)) c["device_class"] = f.device_class;
        c["payload_on"] = "ON";
        c["payload_off"] = "OFF";
        return c;
    }
    if (f.is_enum()) {  // enum: the labels, no unit, no state class (§6)
        c["device_class"] = "enum";
        c["options"] = option_labels(f);
        return c;
    }
    if (f.device_class == "timestamp" || f.device_class == "date") {
        c["device_class"] = f.device_class;
        return c;
    }
    if (!is_numeric(f)) return c;  // text (string, serial, version, bits): no unit or classes
    Semantics s = numeric_semantics(f);
    default_state_class(s);
    put_semantics(c, s);
    if (s.device_class == "energy")
        c["suggested_display_precision"] = 1;  // 0.1 kWh resolution (§9)
    else if (is_numeric(f) && f.precision > 0)
        c["suggested_display_precision"] = f.precision;
    return c;
}

}  // namespace bluetti::ha::detail

namespace bluetti::ha {

std::vector<Entity> station_entities(const DiscoveryOptions& options, const StationInfo& station, const EntityInput& input) {
    using namespace detail;
    std::string device_slug = slug(station_name(station));
    if (device_slug.empty()) device_slug = slug("bluetti_" + station.serial);
    const std::set<std::string> writable = input.controls ? input.writable_controls : std::set<std::string>{};
    const Context ctx{options, station, station_name(station), device_slug, "bluetti_" + station.serial + "_", &writable};
    std::vector<Sorted> found;
    if (input.schemas) found = row_entities(ctx, input);
    std::sort(found.begin(), found.end(), [](const Sorted& a, const Sorted& b) {
        if (a.block != b.block || a.ordinal != b.ordinal) return std::tie(a.block, a.ordinal) < std::tie(b.block, b.ordinal);
        return natural_less(a.entity.key, b.entity.key);  // cell2 before cell10
    });
    std::vector<Entity> out;
    out.reserve(found.size() + 16);
    for (auto& s : found) out.push_back(std::move(s.entity));
    append_diagnostics(ctx, !writable.empty(), out);
    return out;
}

}  // namespace bluetti::ha
