// Device profiles (docs/protocol.md §7): per model, how to reach it on the cloud (model code, slave,
// envelope), what to poll and how often, per-field overrides and which controls it exposes.
// Profiles are data (config/profiles/*.yaml, embedded at build time, more from the directories of
// `profile_dirs`); this layer does no I/O beyond reading those files.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/result.hpp"
#include "bluetti/schema/block_schema.hpp"
#include "bluetti/schema/registry.hpp"

namespace bluetti::profile {

struct BlockRead {
    std::uint16_t block = 0;
    std::uint16_t registers = 0;  // 0 = the schema's `read`; NODE_INFO is a query, not a read
};

struct PollGroup {
    std::string name;  // core, detail, battery, settings, cells, info, topology
    std::chrono::milliseconds interval{0};
    std::vector<BlockRead> blocks;
    bool per_pack = false;  // read once per battery pack, at the pack's slave address
};

struct Profile {
    std::string model;                 // the config's `model` (EL100V2 …)
    std::string display_name;          // marketing name (Elite 100 V2), Home Assistant's device model
    std::string cloud_model;           // topic model code; empty = take it from the device list
    std::vector<std::string> aliases;  // device-record model codes and names that select this profile
    codec::Envelope envelope = codec::Envelope::v2;
    std::uint8_t slave = 0;
    std::vector<std::uint8_t> probe_slaves;  // tried in order when `slave` does not answer
    std::vector<PollGroup> groups;
    std::map<std::string, schema::FieldOverride> overrides;
    std::vector<std::string> controls;  // control keys enabled by default (docs/protocol.md §8)
    // The model's rated maximum of any power flow (AC output, AC input, solar input, battery), in
    // W: the largest. Bounds every power value (power_limit()) and, times elapsed time, how fast
    // an energy counter can grow.
    double max_power = 0;
    std::string source;
    // "file:line:column" of `model` and of each alias, for the errors of ProfileSet::add.
    std::string model_where;
    std::vector<std::string> aliases_where;

    const PollGroup* group(std::string_view name) const;
    bool has_block(std::uint16_t block) const;
    // The largest plausible magnitude of a measured power or apparent power: twice max_power. The
    // margin covers surge (a motor start draws about twice the rated power for a moment) and the
    // grid feeding the loads and charging the battery at once.
    double power_limit() const { return 2 * max_power; }
};

// The schemas as a device of this profile decodes and checks them: `base` with the profile's
// overrides, then its power limit (SchemaRegistry::with_power_limit).
Result<schema::SchemaRegistry, schema::LoadError> apply_profile(const schema::SchemaRegistry& base, const Profile& profile);

struct ProfileError {
    std::string message;  // "file:line:column: message"
};

Result<Profile, ProfileError> parse_profile(std::string_view yaml_text, const std::string& file);

class ProfileSet {
public:
    static Result<ProfileSet, ProfileError> builtin();
    // Refused when its model or one of its aliases is already another profile's.
    std::optional<ProfileError> add(Profile profile);

    // Loads every *.yaml and *.yml file of `dir` (sorted by name), in the format of the built-in
    // profiles, after them. A profile with the model of a built-in one replaces it, and its model is
    // appended to `replaced` (when given) for the caller to log; any other clash of a model or an
    // alias is an error, as in add(). Errors name file:line:column.
    std::optional<ProfileError> load_directory(const std::filesystem::path& dir, std::vector<std::string>* replaced = nullptr);

    // By the config's model name (exact) or a device record's model code (aliases, case-insensitive).
    const Profile* find(std::string_view model) const;
    // find(), else the GENERIC_V2 profile.
    const Profile& find_or_generic(std::string_view model) const;
    std::vector<const Profile*> all() const;

private:
    std::vector<Profile> profiles_;
    std::vector<std::string> from_directories_;  // models loaded by load_directory

    // Why `profile` cannot join the set, ignoring profiles_[except] (the one it replaces).
    std::optional<ProfileError> clash(const Profile& profile, std::size_t except) const;
    bool from_directory(const Profile& profile) const;
};

inline constexpr std::string_view kGenericProfile = "GENERIC_V2";

}  // namespace bluetti::profile
