// A station's control rows (docs/protocol.md §8) as Home Assistant switches, selects and numbers, with
// the range, step and options of their profile::Control: the whitelist is the profile layer's
// business, so nothing here knows a register.
#include <optional>

#include "bluetti/profile/controls.hpp"
#include "discovery_parts.hpp"

namespace bluetti::ha::detail {

using schema::FieldSpec;

// A control row (docs/protocol.md §8): switch, select or number, commanded on <base>/<serial>/set/<key>.
// A control the device may not be written through (not whitelisted, or not enabled by its profile
// or its `controls:` list) is shown read-only.
json control_component(const Context& ctx, const Row& row, const std::string& key, const std::string& name, const std::string& topic) {
    const FieldSpec& f = *row.field;
    std::optional<profile::Control> control;
    if (ctx.writable_controls && ctx.writable_controls->count(key)) control = profile::describe_control(key, row.block, f);
    const bool usable = control && (!f.is_enum() || control->options.size() >= 2);
    if (!usable) return read_only_component(ctx, row, key, name, topic);

    const ControlRole* role = control_role(key);
    const std::string platform = control->kind == profile::Control::Kind::switch_  ? "switch"
                                 : control->kind == profile::Control::Kind::select ? "select"
                                                                                   : "number";
    json c = component_head(platform, ctx.id_prefix, ctx.device_slug, key, name);
    if (!f.entity_category.empty())
        c["entity_category"] = f.entity_category;
    else if (role && role->config)
        c["entity_category"] = "config";
    if (!f.enabled_by_default) c["enabled_by_default"] = false;
    if (platform == "switch") c["device_class"] = role && role->outlet ? "outlet" : "switch";
    c["state_topic"] = topic;
    c["value_template"] = value_template(key);
    c["command_topic"] = ctx.options.base + "/" + ctx.station.serial + "/set/" + key;
    if (platform == "switch") {
        c["payload_on"] = "ON";
        c["payload_off"] = "OFF";
    } else if (platform == "select") {
        c["options"] = control->options;
    } else {
        c["min"] = control->min;
        c["max"] = control->max;
        c["step"] = control->step;
        c["mode"] = "box";
        const Semantics s = numeric_semantics(f);
        if (!s.device_class.empty()) c["device_class"] = s.device_class;
        if (!f.unit.empty()) c["unit_of_measurement"] = f.unit;
    }
    return c;
}

}  // namespace bluetti::ha::detail
