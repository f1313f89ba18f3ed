#include "bluetti/schema/registry.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "bluetti/embedded.hpp"

namespace bluetti::schema {

Result<SchemaRegistry, LoadError> SchemaRegistry::builtin() {
    SchemaRegistry registry;
    for (const EmbeddedFile& file : embedded_schemas()) {
        auto schema = parse_schema(file.text, "config/" + std::string(file.name));
        if (!schema) return fail(schema.error());
        if (auto error = registry.add(std::move(*schema))) return fail(*error);
    }
    return registry;
}

std::optional<LoadError> SchemaRegistry::add(BlockSchema schema) {
    for (const auto& [block, other] : blocks_) {
        if (block == schema.block) continue;  // replaced below
        for (const Template* mine : schema.key_templates()) {
            for (const Template* theirs : other->key_templates()) {
                if (mine->text == theirs->text) {
                    return LoadError{schema.source + ": key '" + mine->text + "' of block " + std::to_string(schema.block) +
                                     " is already used by block " + std::to_string(block) + " (" + other->source + ")"};
                }
            }
        }
    }
    const std::uint16_t block = schema.block;
    blocks_[block] = std::make_shared<const BlockSchema>(std::move(schema));
    return std::nullopt;
}

std::optional<LoadError> SchemaRegistry::load_directory(const std::filesystem::path& dir) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.is_regular_file() && (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml")) {
            files.push_back(entry.path());
        }
    }
    if (ec) return LoadError{dir.string() + ": cannot read schema directory: " + ec.message()};
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        if (!in) return LoadError{path.string() + ": cannot read file"};
        auto schema = parse_schema(text.str(), path.string());
        if (!schema) return schema.error();
        if (auto error = add(std::move(*schema))) return error;
    }
    return std::nullopt;
}

namespace {

// Applies one override to a row; an error names what cannot be applied.
std::optional<std::string> apply(FieldSpec& f, const FieldOverride& o) {
    if (o.scale) {
        f.scale = *o.scale;
        if (!f.precision_explicit) f.precision = implied_precision(f);
    }
    if (o.type) f.type = *o.type;
    if (o.entity) {
        f.entity = *o.entity;
        f.enabled_by_default = f.entity != EntityKind::off;
        f.entity_category = f.entity == EntityKind::diag ? "diagnostic" : "";
    }
    if (o.unit) f.unit = *o.unit;
    if (o.device_class) f.device_class = *o.device_class;
    const bool integer = is_integer_type(f.type) && f.type != BaseType::bits16 && f.type != BaseType::bits32;
    if ((o.not_supported || o.not_applicable_from || o.zero_absent_while) && !integer)
        return "override of '" + f.key.text + "': sentinels are for integer rows only";
    if (o.not_supported) f.not_supported = true;
    if (o.not_applicable_from) f.not_applicable_from = o.not_applicable_from;
    if (o.zero_absent_while) f.zero_absent_while = *o.zero_absent_while;
    if (o.omit) {
        f.omitted = true;
        f.entity = EntityKind::none;
    }
    if (o.valid) {
        if (!f.is_numeric()) return "override of '" + f.key.text + "': valid is for numeric rows only";
        f.valid = o.valid;
    }
    return std::nullopt;
}

bool is_power(const FieldSpec& f) {
    return f.device_class == "power" || f.device_class == "apparent_power";
}

// Narrows a power row's range to [-limit, limit]; an error when nothing of its own range is left.
// A setting (entity: control, such as grid_charge_power_limit) is a number the user chose, not a
// flow: the write whitelist bounds it (up to 6000 W on every model), so the limit leaves it alone.
std::optional<std::string> limit_power(FieldSpec& f, double limit) {
    if (!is_power(f) || !f.is_numeric() || f.entity == EntityKind::control) return std::nullopt;
    ValidRange r = f.valid.value_or(ValidRange{-limit, limit, false});
    r.min = std::max(r.min, -limit);
    r.max = std::min(r.max, limit);
    if (r.min > r.max) {
        std::ostringstream text;
        text << "the valid range of '" << f.key.text << "' lies outside the power limit of ±" << limit << " W";
        return text.str();
    }
    f.valid = r;
    return std::nullopt;
}

// Calls `visit` on every row of a copy of `schema` (derived rows only `with_derived`: a profile
// override of a derived row's scale or type would mean nothing); the copy, or the first error.
template <class Visit>
Result<std::shared_ptr<const BlockSchema>, LoadError> edited(const BlockSchema& schema, bool with_derived, Visit visit) {
    auto copy = std::make_shared<BlockSchema>(schema);
    std::optional<std::string> error;
    auto run = [&](FieldSpec& f) {
        if (!error) error = visit(f);
    };
    for (auto& f : copy->fields) run(f);
    for (auto& g : copy->groups)
        for (auto& f : g.fields) run(f);
    if (with_derived)
        for (auto& d : copy->derived) run(d.field);
    if (error) return fail(LoadError{*error});
    return std::shared_ptr<const BlockSchema>(std::move(copy));
}

bool has_power_row(const BlockSchema& schema) {
    for (const auto& f : schema.fields)
        if (is_power(f)) return true;
    for (const auto& g : schema.groups)
        for (const auto& f : g.fields)
            if (is_power(f)) return true;
    for (const auto& d : schema.derived)
        if (is_power(d.field)) return true;
    return false;
}

bool has_key(const BlockSchema& schema, const std::map<std::string, FieldOverride>& overrides) {
    for (const Template* t : schema.key_templates())
        if (overrides.count(t->text)) return true;
    return false;
}

}  // namespace

Result<SchemaRegistry, LoadError> SchemaRegistry::with_overrides(const std::map<std::string, FieldOverride>& overrides) const {
    SchemaRegistry copy;
    std::set<std::string> used;
    for (const auto& [block, schema] : blocks_) {
        if (!has_key(*schema, overrides)) {
            copy.blocks_[block] = schema;  // unchanged blocks are shared
            continue;
        }
        auto changed = edited(*schema, false, [&](FieldSpec& f) -> std::optional<std::string> {
            auto it = overrides.find(f.key.text);
            if (it == overrides.end()) return std::nullopt;
            used.insert(it->first);
            return apply(f, it->second);
        });
        if (!changed) return fail(changed.error());
        copy.blocks_[block] = std::move(*changed);
    }
    for (const auto& [key, o] : overrides) {
        (void)o;
        if (!used.count(key)) return fail(LoadError{"override names unknown key '" + key + "'"});
    }
    for (const auto& [key, o] : overrides) {
        if (!o.move_to) continue;
        if (auto error = copy.move_row(key, *o.move_to)) return fail(*error);
    }
    return copy;
}

std::optional<LoadError> SchemaRegistry::move_row(const std::string& key, Placement to) {
    const auto target = blocks_.find(to.block);
    if (target == blocks_.end())
        return LoadError{"override of '" + key + "': move_to names block " + std::to_string(to.block) + ", which has no schema"};
    for (auto& [block, schema] : blocks_) {
        const auto& fields = schema->fields;
        const auto it = std::find_if(fields.begin(), fields.end(), [&](const FieldSpec& f) { return f.key.text == key; });
        if (it == fields.end()) continue;
        const auto index = static_cast<std::size_t>(it - fields.begin());
        auto source = std::make_shared<BlockSchema>(*schema);
        FieldSpec row = source->fields[index];
        source->fields.erase(source->fields.begin() + static_cast<std::ptrdiff_t>(index));
        // Groups count their records from rows of the block by index: keep those indexes right.
        for (auto& g : source->groups) {
            for (auto& from : g.count_from) {
                if (from == index) return LoadError{"override of '" + key + "': a group's count cannot move"};
                if (from > index) --from;
            }
        }
        schema = std::move(source);
        auto dest = std::make_shared<BlockSchema>(*blocks_.at(to.block));
        if (to.offset + type_width(row.type, row.length) > 2u * 125u)
            return LoadError{"override of '" + key + "': move_to offset " + std::to_string(to.offset) + " lies past any read of a block"};
        row.offset = to.offset;
        dest->fields.push_back(std::move(row));
        blocks_[to.block] = std::move(dest);
        return std::nullopt;
    }
    return LoadError{"override of '" + key + "': move_to is for a plain row of a block, not a row of a group"};
}

Result<SchemaRegistry, LoadError> SchemaRegistry::with_power_limit(double limit) const {
    if (!(limit > 0)) return fail(LoadError{"the power limit must be a positive number of watts"});
    SchemaRegistry copy;
    for (const auto& [block, schema] : blocks_) {
        if (!has_power_row(*schema)) {
            copy.blocks_[block] = schema;
            continue;
        }
        auto changed = edited(*schema, true, [&](FieldSpec& f) { return limit_power(f, limit); });
        if (!changed) return fail(LoadError{schema->source + ": " + changed.error().message});
        copy.blocks_[block] = std::move(*changed);
    }
    return copy;
}

const BlockSchema* SchemaRegistry::find(std::uint16_t block) const {
    auto it = blocks_.find(block);
    return it == blocks_.end() ? nullptr : it->second.get();
}

std::vector<const BlockSchema*> SchemaRegistry::all() const {
    std::vector<const BlockSchema*> out;
    for (const auto& [block, schema] : blocks_) out.push_back(schema.get());
    return out;
}

}  // namespace bluetti::schema
