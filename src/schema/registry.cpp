#include "bluetti/schema/registry.hpp"

#include <algorithm>
#include <fstream>
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
void apply(FieldSpec& f, const FieldOverride& o) {
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
}
}  // namespace

Result<SchemaRegistry, LoadError> SchemaRegistry::with_overrides(const std::map<std::string, FieldOverride>& overrides) const {
    SchemaRegistry copy;
    std::map<std::string, bool> used;
    for (const auto& [block, schema] : blocks_) {
        std::shared_ptr<BlockSchema> changed;
        auto visit = [&](FieldSpec& f) {
            auto it = overrides.find(f.key.text);
            if (it == overrides.end()) return;
            apply(f, it->second);
            used[it->first] = true;
        };
        for (const auto& [key, o] : overrides) {
            (void)o;
            for (const Template* t : schema->key_templates()) {
                if (t->text == key && !changed) changed = std::make_shared<BlockSchema>(*schema);
            }
        }
        if (changed) {
            for (auto& f : changed->fields) visit(f);
            for (auto& g : changed->groups)
                for (auto& f : g.fields) visit(f);
            copy.blocks_[block] = changed;
        } else {
            copy.blocks_[block] = schema;
        }
    }
    for (const auto& [key, o] : overrides) {
        (void)o;
        if (!used.count(key)) return fail(LoadError{"override names unknown key '" + key + "'"});
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
