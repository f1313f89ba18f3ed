// Device profiles (protocol.md §7): per model, how to reach it on the cloud (model code, slave,
// envelope), what to poll and how often, per-field overrides and which controls it exposes.
// Profiles are data (config/profiles/*.yaml, embedded at build time); this layer does no I/O
// beyond reading those files.
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
    std::vector<std::string> controls;  // control keys enabled by default (protocol.md §8)
    std::string source;

    const PollGroup* group(std::string_view name) const;
    bool has_block(std::uint16_t block) const;
};

struct ProfileError {
    std::string message;  // "file:line:column: message"
};

Result<Profile, ProfileError> parse_profile(std::string_view yaml_text, const std::string& file);

class ProfileSet {
public:
    static Result<ProfileSet, ProfileError> builtin();
    std::optional<ProfileError> add(Profile profile);

    // By the config's model name (exact) or a device record's model code (aliases, case-insensitive).
    const Profile* find(std::string_view model) const;
    // find(), else the GENERIC_V2 profile.
    const Profile& find_or_generic(std::string_view model) const;
    std::vector<const Profile*> all() const;

private:
    std::vector<Profile> profiles_;
};

inline constexpr std::string_view kGenericProfile = "GENERIC_V2";

}  // namespace bluetti::profile
