// parse_schema(): one YAML schema file -> BlockSchema, strictly validated (docs/schema-format.md).
#include <algorithm>
#include <set>

#include "../util/yaml_reader.hpp"
#include "bluetti/schema/registry.hpp"
#include "valid_range_yaml.hpp"

namespace bluetti::schema {

namespace {

using util::YamlReader;

constexpr std::size_t kMaxBlockBytes = 250;

class SchemaParser {
public:
    explicit SchemaParser(const std::string& file) : yaml_(file) {}

    BlockSchema parse(std::string_view text) {
        const YAML::Node root = yaml_.parse(text);
        yaml_.require_map(root, "a schema file");
        yaml_.check_keys(root, {"block", "name", "state_topic", "read", "min_len", "fields", "groups", "derived"});
        BlockSchema s;
        s.source = yaml_.file();
        s.block = static_cast<std::uint16_t>(yaml_.as_integer(yaml_.required(root, "block"), 0, 65535));
        s.name = yaml_.as_string(yaml_.required(root, "name"));
        const YAML::Node topic = yaml_.required(root, "state_topic");
        s.state_topic = yaml_.as_string(topic);
        if (s.state_topic.empty() || s.state_topic.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
            yaml_.fail(topic, "state_topic '" + s.state_topic + "' must be lower snake_case [a-z0-9_]");
        }
        s.read = static_cast<std::uint16_t>(yaml_.as_integer(yaml_.required(root, "read"), 0, 125));
        const YAML::Node min_len = yaml_.required(root, "min_len");
        s.min_len = static_cast<std::uint16_t>(yaml_.as_integer(min_len, 0, kMaxBlockBytes));
        if (s.read > 0 && s.min_len > s.read * 2) {
            yaml_.fail(min_len, "min_len " + std::to_string(s.min_len) + " is more than the " + std::to_string(s.read * 2) + " bytes read");
        }

        const YAML::Node fields = yaml_.required(root, "fields");
        yaml_.require_sequence(fields, "fields");
        for (const auto& node : fields) s.fields.push_back(field(node, {"n"}, 0, false));

        if (const YAML::Node groups = root["groups"]) {
            yaml_.require_sequence(groups, "groups");
            for (const auto& node : groups) s.groups.push_back(group(node, s));
        }
        if (const YAML::Node derived = root["derived"]) {
            yaml_.require_sequence(derived, "derived");
            for (const auto& node : derived) s.derived.push_back(derived_row(node, s));
        }
        check_unique_keys(s);
        return s;
    }

private:
    YamlReader yaml_;
    std::vector<YAML::Node> key_nodes_;  // parallel to BlockSchema::key_templates(), for errors

    Template key_template(const YAML::Node& node, const std::vector<std::string>& holes) {
        std::string text = yaml_.as_string(node);
        Template t = make_template(text);
        for (std::size_t i = 0; i < t.pieces.size(); ++i) {
            if (i % 2 == 1) {
                if (std::find(holes.begin(), holes.end(), t.pieces[i]) == holes.end()) {
                    yaml_.fail(node, "key '" + text + "' uses placeholder {" + t.pieces[i] + "}, which is not defined here");
                }
            } else if (t.pieces[i].find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
                yaml_.fail(node, "key '" + text + "' must be lower snake_case [a-z0-9_] with {placeholders}");
            }
        }
        if (text.empty()) yaml_.fail(node, "key must not be empty");
        return t;
    }

    static std::string sentence_case(const std::string& key) {
        std::string name = key;
        std::replace(name.begin(), name.end(), '_', ' ');
        if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = static_cast<char>(name[0] - 'a' + 'A');
        return name;
    }

    Transform transform(const YAML::Node& node) {
        const std::string text = yaml_.as_string(node);
        const auto colon = text.find(':');
        const std::string op = text.substr(0, colon);
        const std::string args = colon == std::string::npos ? "" : text.substr(colon + 1);
        auto number = [&](const std::string& a) {
            const auto v = util::parse_number(a);
            if (!v) yaml_.fail(node, "transform '" + text + "': '" + a + "' is not a number");
            return *v;
        };
        if (op == "abs" && args.empty()) return {Transform::Op::abs};
        if (op == "scale") return {Transform::Op::scale, number(args)};
        if (op == "minus") return {Transform::Op::minus, number(args)};
        if (op == "bitmask" || op == "shift") {
            const auto v = op == "bitmask" ? util::parse_integer_or_hex(args) : util::parse_integer(args);
            if (!v || *v < 0 || (op == "shift" && *v > 31)) yaml_.fail(node, "transform '" + text + "' needs a non-negative integer");
            return {op == "bitmask" ? Transform::Op::bitmask : Transform::Op::shift, static_cast<double>(*v)};
        }
        if (op == "clamp") {
            const auto second = args.find(':');
            if (second == std::string::npos) yaml_.fail(node, "transform '" + text + "' must be clamp:MIN:MAX");
            const double lo = number(args.substr(0, second)), hi = number(args.substr(second + 1));
            if (lo > hi) yaml_.fail(node, "transform '" + text + "': MIN is above MAX");
            return {Transform::Op::clamp, lo, hi};
        }
        yaml_.fail(node, "unknown transform '" + text + "' (abs, scale:X, minus:X, bitmask:X, shift:X, clamp:MIN:MAX)");
    }

    BaseType base_type(const YAML::Node& node) {
        const auto type = base_type_from_string(yaml_.as_string(node));
        if (!type) {
            yaml_.fail(node, "unknown type '" + node.Scalar() +
                                 "' (u8 i8 u16 i16 u32ws i32ws u32be i32be bool string serial version temp40 temp40u8 bits16 bits32 bits)");
        }
        return *type;
    }

    std::vector<EnumOption> options(const YAML::Node& node) {
        yaml_.require_map(node, "options");
        std::vector<EnumOption> out;
        for (const auto& entry : node) {
            const std::string label = yaml_.as_string(entry.second);
            if (label.empty()) yaml_.fail(entry.second, "option label must not be empty");
            out.push_back({yaml_.as_integer(entry.first, INT32_MIN, UINT32_MAX), label});
        }
        if (out.empty()) yaml_.fail(node, "options must not be empty");
        return out;
    }

    void semantics(const YAML::Node& node, FieldSpec& f) {
        f.unit = yaml_.optional_string(node, "unit").value_or("");
        f.device_class = yaml_.optional_string(node, "device_class").value_or("");
        f.state_class = yaml_.optional_string(node, "state_class").value_or("");
        if (const YAML::Node e = node["entity"]) {
            const auto kind = entity_kind_from_string(yaml_.as_string(e));
            if (!kind) yaml_.fail(e, "entity must be sensor, off, diag, control or none");
            f.entity = *kind;
        }
        f.enabled_by_default = f.entity != EntityKind::off;
        f.entity_category = f.entity == EntityKind::diag ? "diagnostic" : "";
        if (const YAML::Node c = node["entity_category"]) {
            f.entity_category = yaml_.as_string(c);
            if (f.entity_category != "diagnostic" && f.entity_category != "config" && !f.entity_category.empty()) {
                yaml_.fail(c, "entity_category must be diagnostic or config");
            }
        }
        if (const YAML::Node e = node["enabled_by_default"]) f.enabled_by_default = yaml_.as_bool(e);
        if (const YAML::Node p = node["precision"]) {
            f.precision = static_cast<int>(yaml_.as_integer(p, 0, 6));
            f.precision_explicit = true;
        }
    }

    FieldSpec field(const YAML::Node& node, const std::vector<std::string>& holes, std::size_t stride, bool byte_swapped) {
        yaml_.require_map(node, "a field row");
        yaml_.check_keys(
            node, {"key", "name", "offset", "type", "length", "transforms", "scale", "precision", "options", "bit", "absent_if", "unit",
                   "device_class", "state_class", "entity", "entity_category", "enabled_by_default", "valid", "valid_zero"});
        FieldSpec f;
        const YAML::Mark mark = node.Mark();
        f.mark = {yaml_.file(), mark.line + 1, mark.column + 1};
        const YAML::Node key_node = yaml_.required(node, "key");
        f.key = key_template(key_node, holes);
        key_nodes_.push_back(key_node);
        f.name = make_template(yaml_.optional_string(node, "name").value_or(sentence_case(f.key.text)));
        const YAML::Node type_node = yaml_.required(node, "type");
        f.type = base_type(type_node);
        if (const YAML::Node len = node["length"]) {
            if (f.type != BaseType::string && f.type != BaseType::bits) yaml_.fail(len, "length is only for string and bits");
            f.length = static_cast<std::uint16_t>(yaml_.as_integer(len, 1, kMaxBlockBytes));
            if (f.type == BaseType::string && f.length % 2) yaml_.fail(len, "a string covers whole registers: length must be even");
        } else if (f.type == BaseType::string || f.type == BaseType::bits) {
            yaml_.fail(type_node, "type " + std::string(to_string(f.type)) + " needs a length");
        }
        const YAML::Node offset = yaml_.required(node, "offset");
        f.offset = static_cast<std::uint16_t>(yaml_.as_integer(offset, 0, kMaxBlockBytes - 1));
        const std::size_t width = type_width(f.type, f.length);
        if (f.offset + width > kMaxBlockBytes) yaml_.fail(offset, "field ends past the largest block (250 bytes)");
        if (stride > 0 && !byte_swapped && f.offset + width > stride) {
            yaml_.fail(offset, "field ends past its record (stride " + std::to_string(stride) + ")");
        }

        const bool integer = is_integer_type(f.type);
        if (const YAML::Node list = node["transforms"]) {
            yaml_.require_sequence(list, "transforms");
            if (!integer) yaml_.fail(list, "transforms apply to integer types only");
            for (const auto& t : list) {
                f.transforms.push_back(transform(t));
            }
        }
        if (const YAML::Node scale = node["scale"]) {
            if (!integer) yaml_.fail(scale, "scale applies to integer types only");
            f.scale = yaml_.as_number(scale);
            if (f.scale == 0) yaml_.fail(scale, "scale must not be 0");
        }
        if (const YAML::Node o = node["options"]) {
            if (!integer) yaml_.fail(o, "options apply to integer types only");
            f.options = options(o);
        }
        if (const YAML::Node b = node["bit"]) {
            if (!integer) yaml_.fail(b, "bit applies to integer types only");
            f.bit = static_cast<int>(yaml_.as_integer(b, 0, static_cast<std::int64_t>(width * 8 - 1)));
        }
        if (const YAML::Node a = node["absent_if"]) {
            yaml_.require_sequence(a, "absent_if");
            for (const auto& v : a) f.absent_if.push_back(yaml_.as_integer(v, INT32_MIN, UINT32_MAX));
        }
        semantics(node, f);
        if (!f.precision_explicit) f.precision = implied_precision(f);
        f.valid = detail::read_valid_range(yaml_, node);
        if (f.valid && !f.is_numeric()) {
            yaml_.fail(node["valid"], "valid is for numeric rows only (not string, serial, version, bits, enum or bool)");
        }
        return f;
    }

    std::size_t top_field_index(const BlockSchema& s, const YAML::Node& node) {
        const std::string key = yaml_.as_string(node);
        for (std::size_t i = 0; i < s.fields.size(); ++i) {
            if (s.fields[i].key.text == key) {
                if (!is_integer_type(s.fields[i].type)) yaml_.fail(node, "count field '" + key + "' is not an integer");
                return i;
            }
        }
        yaml_.fail(node, "count refers to '" + key + "', which is not a field of this block");
    }

    GroupSpec group(const YAML::Node& node, const BlockSchema& s) {
        yaml_.require_map(node, "a group");
        yaml_.check_keys(node, {"id", "index", "count", "max", "start", "start_after", "stride", "byte_swapped", "key_from", "fields"});
        GroupSpec g;
        g.id = yaml_.as_string(yaml_.required(node, "id"));
        for (const GroupSpec& other : s.groups)
            if (other.id == g.id) yaml_.fail(node["id"], "group id '" + g.id + "' is used twice");
        std::vector<std::string> holes{"n"};
        if (const YAML::Node index = node["index"]) {
            g.index = yaml_.as_string(index);
            holes.push_back(g.index);
        }
        const YAML::Node count = yaml_.required(node, "count");
        if (count.IsSequence()) {
            for (const auto& c : count) g.count_from.push_back(top_field_index(s, c));
        } else {
            g.count_from.push_back(top_field_index(s, count));
        }
        g.max = static_cast<std::uint16_t>(yaml_.as_integer(yaml_.required(node, "max"), 1, kMaxBlockBytes));
        g.stride = static_cast<std::uint16_t>(yaml_.as_integer(yaml_.required(node, "stride"), 1, kMaxBlockBytes));
        if (const YAML::Node bs = node["byte_swapped"]) g.byte_swapped = yaml_.as_bool(bs);
        const YAML::Node start = node["start"], after = node["start_after"];
        if (start && after) yaml_.fail(after, "give start or start_after, not both");
        if (start) {
            g.start = static_cast<std::uint16_t>(yaml_.as_integer(start, 0, kMaxBlockBytes - 1));
        } else if (after) {
            const std::string id = yaml_.as_string(after);
            for (std::size_t i = 0; i < s.groups.size(); ++i)
                if (s.groups[i].id == id) g.start_after = static_cast<int>(i);
            if (g.start_after < 0) yaml_.fail(after, "start_after names '" + id + "', which is not an earlier group");
        } else {
            yaml_.fail(node, "a group needs start or start_after");
        }
        if (const YAML::Node kf = node["key_from"]) {
            yaml_.require_map(kf, "key_from");
            yaml_.check_keys(kf, {"offset", "type", "names", "default", "placeholder"});
            KeyFrom k;
            k.offset = static_cast<std::uint16_t>(yaml_.as_integer(yaml_.required(kf, "offset"), 0, g.stride - 1));
            k.type = base_type(yaml_.required(kf, "type"));
            if (!is_integer_type(k.type)) yaml_.fail(kf["type"], "key_from needs an integer type");
            if (const YAML::Node names = kf["names"]) k.names = options(names);
            k.fallback = make_template(yaml_.as_string(yaml_.required(kf, "default")));
            k.placeholder = yaml_.as_string(yaml_.required(kf, "placeholder"));
            holes.push_back(k.placeholder);
            g.key_from = std::move(k);
        }
        if (g.index.empty() && !g.key_from) yaml_.fail(node, "a group needs index or key_from to tell its records apart");
        const YAML::Node fields = yaml_.required(node, "fields");
        yaml_.require_sequence(fields, "fields");
        for (const auto& f : fields) g.fields.push_back(field(f, holes, g.stride, g.byte_swapped));
        return g;
    }

    DerivedSpec derived_row(const YAML::Node& node, const BlockSchema& s) {
        yaml_.require_map(node, "a derived row");
        yaml_.check_keys(node, {"key", "name", "op", "of", "precision", "unit", "device_class", "state_class", "entity", "entity_category",
                                "enabled_by_default", "valid", "valid_zero"});
        DerivedSpec d;
        const YAML::Node op = yaml_.required(node, "op");
        const std::string op_text = yaml_.as_string(op);
        if (op_text == "min")
            d.op = DerivedSpec::Op::min;
        else if (op_text == "max")
            d.op = DerivedSpec::Op::max;
        else if (op_text == "spread")
            d.op = DerivedSpec::Op::spread;
        else
            yaml_.fail(op, "op must be min, max or spread");

        const YAML::Node of = yaml_.required(node, "of");
        const std::string of_key = yaml_.as_string(of);
        bool found = false;
        for (std::size_t g = 0; g < s.groups.size() && !found; ++g) {
            for (std::size_t f = 0; f < s.groups[g].fields.size(); ++f) {
                if (s.groups[g].fields[f].key.text == of_key) {
                    d.group = g;
                    d.of = f;
                    found = true;
                    break;
                }
            }
        }
        if (!found) yaml_.fail(of, "of names '" + of_key + "', which is not a group field of this block");

        FieldSpec& f = d.field;
        const YAML::Mark mark = node.Mark();
        f.mark = {yaml_.file(), mark.line + 1, mark.column + 1};
        const YAML::Node key_node = yaml_.required(node, "key");
        f.key = key_template(key_node, {"n"});
        key_nodes_.push_back(key_node);
        f.name = make_template(yaml_.optional_string(node, "name").value_or(sentence_case(f.key.text)));
        f.type = BaseType::u16;
        semantics(node, f);
        if (!f.precision_explicit) f.precision = s.groups[d.group].fields[d.of].precision;
        f.valid = detail::read_valid_range(yaml_, node);  // a derived value is always a number
        return d;
    }

    void check_unique_keys(const BlockSchema& s) {
        std::set<std::string> seen;
        const auto keys = s.key_templates();
        for (std::size_t i = 0; i < keys.size(); ++i) {
            if (!seen.insert(keys[i]->text).second) yaml_.fail(key_nodes_[i], "key '" + keys[i]->text + "' is defined twice in this block");
        }
    }
};

}  // namespace

Result<BlockSchema, LoadError> parse_schema(std::string_view yaml_text, const std::string& file) {
    try {
        return SchemaParser(file).parse(yaml_text);
    } catch (const util::YamlError& e) {
        return fail(LoadError{e.what()});
    } catch (const YAML::Exception& e) {
        return fail(LoadError{file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg});
    }
}

}  // namespace bluetti::schema
