// parse_profile(): one config/profiles/*.yaml file -> Profile, strictly validated.
#include <cmath>
#include "../util/duration.hpp"

#include "../schema/valid_range_yaml.hpp"
#include "../util/yaml_reader.hpp"
#include "bluetti/profile/profile.hpp"

namespace bluetti::profile {

namespace {

using util::YamlReader;

class ProfileParser {
public:
    explicit ProfileParser(const std::string& file) : yaml_(file) {}

    Profile parse(std::string_view text) {
        const YAML::Node root = yaml_.parse(text);
        yaml_.require_map(root, "a profile file");
        yaml_.check_keys(root, {"model", "name", "cloud_model", "aliases", "envelope", "slave", "probe_slaves", "max_power", "groups",
                                "overrides", "controls"});
        Profile p;
        p.source = yaml_.file();
        const YAML::Node model = yaml_.required(root, "model");
        p.model = yaml_.as_string(model);
        p.model_where = yaml_.where(model);
        p.display_name = yaml_.as_string(yaml_.required(root, "name"));
        p.cloud_model = yaml_.optional_string(root, "cloud_model").value_or("");
        if (const YAML::Node aliases = root["aliases"]) {
            yaml_.require_sequence(aliases, "aliases");
            for (const auto& a : aliases) {
                p.aliases.push_back(yaml_.as_string(a));
                p.aliases_where.push_back(yaml_.where(a));
            }
        }
        const YAML::Node envelope = yaml_.required(root, "envelope");
        const auto env = codec::envelope_from_string(yaml_.as_string(envelope));
        if (!env || *env == codec::Envelope::bare) yaml_.fail(envelope, "envelope must be v2 or v1");
        p.envelope = *env;
        p.slave = static_cast<std::uint8_t>(yaml_.as_integer(yaml_.required(root, "slave"), 0, 247));
        if (const YAML::Node probe = root["probe_slaves"]) {
            yaml_.require_sequence(probe, "probe_slaves");
            for (const auto& s : probe) p.probe_slaves.push_back(static_cast<std::uint8_t>(yaml_.as_integer(s, 0, 247)));
        }
        const YAML::Node groups = yaml_.required(root, "groups");
        yaml_.require_sequence(groups, "groups");
        for (const auto& g : groups) p.groups.push_back(group(g, p));
        const YAML::Node max_power = yaml_.required(root, "max_power");
        p.max_power = yaml_.as_number(max_power);
        if (!(p.max_power > 0) || !std::isfinite(p.max_power)) yaml_.fail(max_power, "max_power must be a positive number of watts");
        if (const YAML::Node overrides = root["overrides"]) {
            yaml_.require_map(overrides, "overrides");
            for (const auto& entry : overrides) p.overrides[yaml_.as_string(entry.first)] = override_row(entry.second);
        }
        if (const YAML::Node controls = root["controls"]) {
            yaml_.require_sequence(controls, "controls");
            for (const auto& c : controls) p.controls.push_back(yaml_.as_string(c));
        }
        return p;
    }

private:
    YamlReader yaml_;

    PollGroup group(const YAML::Node& node, const Profile& p) {
        yaml_.require_map(node, "a poll group");
        yaml_.check_keys(node, {"name", "interval", "blocks", "per_pack"});
        PollGroup g;
        const YAML::Node name = yaml_.required(node, "name");
        g.name = yaml_.as_string(name);
        if (p.group(g.name)) yaml_.fail(name, "poll group '" + g.name + "' is defined twice");
        const YAML::Node interval = yaml_.required(node, "interval");
        const auto d = util::parse_duration(yaml_.as_string(interval));
        if (!d || d->count() < 1000) yaml_.fail(interval, "interval must be a duration of at least 1s, like 10s, 2m or 1h");
        g.interval = *d;
        if (const YAML::Node per_pack = node["per_pack"]) g.per_pack = yaml_.as_bool(per_pack);
        const YAML::Node blocks = yaml_.required(node, "blocks");
        yaml_.require_sequence(blocks, "blocks");
        for (const auto& b : blocks) {
            yaml_.require_map(b, "a block read");
            yaml_.check_keys(b, {"block", "read"});
            BlockRead read;
            read.block = static_cast<std::uint16_t>(yaml_.as_integer(yaml_.required(b, "block"), 0, 65535));
            if (const YAML::Node r = b["read"]) read.registers = static_cast<std::uint16_t>(yaml_.as_integer(r, 1, 125));
            if (p.has_block(read.block)) yaml_.fail(b, "block " + std::to_string(read.block) + " is polled by two groups");
            g.blocks.push_back(read);
        }
        return g;
    }

    schema::FieldOverride override_row(const YAML::Node& node) {
        yaml_.require_map(node, "an override");
        yaml_.check_keys(node, {"scale", "type", "entity", "unit", "device_class", "valid", "valid_zero", "not_supported",
                                "not_applicable_from", "zero_absent_while", "omit", "move_to"});
        schema::FieldOverride o;
        if (const YAML::Node s = node["scale"]) {
            o.scale = yaml_.as_number(s);
            if (*o.scale == 0) yaml_.fail(s, "scale must not be 0");
        }
        if (const YAML::Node t = node["type"]) {
            o.type = schema::base_type_from_string(yaml_.as_string(t));
            if (!o.type || !schema::is_integer_type(*o.type) || schema::type_width(*o.type, 0) != 4) {
                yaml_.fail(t, "an override type must be a 32-bit integer type (u32ws, i32ws, u32be, i32be)");
            }
        }
        if (const YAML::Node e = node["entity"]) {
            o.entity = schema::entity_kind_from_string(yaml_.as_string(e));
            if (!o.entity) yaml_.fail(e, "entity must be sensor, off, diag, control or none");
        }
        if (const YAML::Node u = node["unit"]) o.unit = yaml_.as_string(u);
        if (const YAML::Node d = node["device_class"]) o.device_class = yaml_.as_string(d);
        if (const YAML::Node n = node["not_supported"]) o.not_supported = yaml_.as_bool(n);
        if (const YAML::Node n = node["not_applicable_from"]) o.not_applicable_from = yaml_.as_integer(n, 0, UINT32_MAX);
        if (const YAML::Node z = node["zero_absent_while"]) {
            o.zero_absent_while = yaml_.as_string(z);
            if (o.zero_absent_while->empty()) yaml_.fail(z, "zero_absent_while needs the key of a field");
        }
        if (const YAML::Node m = node["omit"]) o.omit = yaml_.as_bool(m);
        if (const YAML::Node m = node["move_to"]) {
            yaml_.require_map(m, "move_to");
            yaml_.check_keys(m, {"block", "offset"});
            schema::Placement to;
            to.block = static_cast<std::uint16_t>(yaml_.as_integer(yaml_.required(m, "block"), 0, 65535));
            to.offset = static_cast<std::uint16_t>(yaml_.as_integer(yaml_.required(m, "offset"), 0, 249));
            o.move_to = to;
        }
        o.valid = schema::detail::read_valid_range(yaml_, node);  // numeric rows only: checked where applied
        return o;
    }
};

}  // namespace

Result<Profile, ProfileError> parse_profile(std::string_view yaml_text, const std::string& file) {
    try {
        return ProfileParser(file).parse(yaml_text);
    } catch (const util::YamlError& e) {
        return fail(ProfileError{e.what()});
    } catch (const YAML::Exception& e) {
        return fail(ProfileError{file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg});
    }
}

}  // namespace bluetti::profile
