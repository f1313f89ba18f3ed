// Loading block schemas from YAML and keeping them per instance (no global mutable state).
//
// The built-in schemas are the files of config/schemas embedded at build time; a user adds or
// replaces blocks from directories at run time. Every error names its place as
// `file:line:column: message`.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/result.hpp"
#include "bluetti/schema/block_schema.hpp"

namespace bluetti::schema {

struct LoadError {
    std::string message;  // "file:line:column: message"
};

// Parses one schema file's text; `file` names it in errors and in BlockSchema::source.
Result<BlockSchema, LoadError> parse_schema(std::string_view yaml_text, const std::string& file);

class SchemaRegistry {
public:
    // The schemas embedded into the library.
    static Result<SchemaRegistry, LoadError> builtin();

    // Adds a schema, replacing one with the same block id. Refused when one of its keys is already
    // used by another block (keys are unique per device across blocks).
    std::optional<LoadError> add(BlockSchema schema);

    // Loads every *.yaml file of `dir` (sorted by name) with add().
    std::optional<LoadError> load_directory(const std::filesystem::path& dir);

    // A copy whose fields carry a profile's overrides; unknown keys are an error, and so is a
    // `valid` override on a row that is not numeric.
    Result<SchemaRegistry, LoadError> with_overrides(const std::map<std::string, FieldOverride>& overrides) const;

    // A copy in which the plausible range of every power and apparent-power row is intersected with
    // [-limit, limit] W (a row without a range gets exactly that); settings (entity: control) are
    // not flows and keep theirs. A profile passes twice its max_power (profile.hpp). An empty
    // intersection is an error naming the key.
    Result<SchemaRegistry, LoadError> with_power_limit(double limit) const;

    const BlockSchema* find(std::uint16_t block) const;
    std::vector<const BlockSchema*> all() const;  // ascending block id

private:
    // Moves the plain row `key` to `to` (FieldOverride::move_to).
    std::optional<LoadError> move_row(const std::string& key, Placement to);

    std::map<std::uint16_t, std::shared_ptr<const BlockSchema>> blocks_;
};

}  // namespace bluetti::schema
