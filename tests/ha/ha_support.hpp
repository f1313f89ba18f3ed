// Helpers of the Home Assistant payload tests: a profile's schema registry, the keys a station of
// that profile presents (every row of every block it polls, filled through encode() -> decode()),
// and decoded golden vectors.
#pragma once

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "schema/sample_value.hpp"
#include "support.hpp"

namespace bluetti::test {

inline const profile::ProfileSet& profiles() {
    static const profile::ProfileSet set = *profile::ProfileSet::builtin();
    return set;
}

// The built-in schemas with a profile's overrides. Kept alive for the whole run: decoded blocks
// and entity rows point into it.
inline const schema::SchemaRegistry& registry_for(const std::string& model) {
    static std::map<std::string, std::unique_ptr<schema::SchemaRegistry>> cache;
    auto& slot = cache[model];
    if (!slot) {
        const profile::Profile* p = profiles().find(model);
        REQUIRE_MESSAGE(p != nullptr, "no profile " << model);
        auto r = schema::SchemaRegistry::builtin()->with_overrides(p->overrides);
        REQUIRE_MESSAGE(r.ok(), r.error().message);
        slot = std::make_unique<schema::SchemaRegistry>(std::move(*r));
    }
    return *slot;
}

// The control keys a profile enables by default (what a station of it may write).
inline std::set<std::string> controls_for(const std::string& model) {
    const profile::Profile* p = profiles().find(model);
    return p ? std::set<std::string>(p->controls.begin(), p->controls.end()) : std::set<std::string>{};
}

// Every field of `s` decoded from sample data: groups filled to their maximum, key_from groups with
// every named record.
inline schema::DecodedBlock sample_block(const schema::BlockSchema& s, int pack) {
    using namespace schema;
    Bindings top;
    const std::string pack_text = std::to_string(pack);
    top.bind("n", pack_text);
    ValueMap values;
    for (const FieldSpec& f : s.fields) values[expand(f.key, top)] = sample_value(f);
    for (const GroupSpec& g : s.groups) {
        const std::int64_t records = g.key_from ? static_cast<std::int64_t>(g.key_from->names.size()) : g.max;
        for (std::size_t i = 0; i < g.count_from.size(); ++i)
            values[expand(s.fields[g.count_from[i]].key, top)] = i == 0 ? records : std::int64_t{0};
        for (std::int64_t r = 1; r <= records; ++r) {
            const std::string index = std::to_string(r);
            Bindings b = top;
            b.bind(g.index, index);
            if (g.key_from) b.bind(g.key_from->placeholder, g.key_from->names[static_cast<std::size_t>(r - 1)].label);
            for (const FieldSpec& f : g.fields) values[expand(f.key, b)] = sample_value(f);
        }
    }
    auto data = encode(s, values, codec::kMaxReadRegisters, {pack});
    REQUIRE_MESSAGE(data.ok(), data.error().message);
    auto decoded = decode(s, *data, {pack});
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
    return std::move(*decoded);
}

// The keys a station of `model` presents: every block of its poll groups, packs 1 and 2 for the
// per-pack blocks.
inline std::set<std::string> station_keys(const std::string& model) {
    const profile::Profile* p = profiles().find(model);
    REQUIRE(p != nullptr);
    const schema::SchemaRegistry& registry = registry_for(model);
    std::set<std::string> keys;
    for (const auto& group : p->groups) {
        for (const auto& read : group.blocks) {
            const schema::BlockSchema* s = registry.find(read.block);
            REQUIRE_MESSAGE(s != nullptr, "no schema for block " << read.block);
            for (int pack = 1; pack <= (group.per_pack ? 2 : 1); ++pack) {
                const schema::DecodedBlock block = sample_block(*s, pack);
                for (const auto& f : block.fields)
                    if (!schema::is_absent(f.value)) keys.insert(f.key);
            }
        }
    }
    return keys;
}

// A golden vector's reply decoded with its profile's schemas.
inline schema::DecodedBlock golden_block(const std::string& id) {
    for (const auto& v : golden_vectors()) {
        if (v["id"] != id) continue;
        const Bytes payload = hex(v["frames"].back().get<std::string>());
        auto unwrapped = codec::unwrap(payload);
        REQUIRE(unwrapped.ok());
        auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
        REQUIRE(frame.ok());
        const schema::SchemaRegistry& registry = registry_for(v["profile"].get<std::string>());
        const schema::BlockSchema* s = registry.find(v["block"].get<std::uint16_t>());
        REQUIRE(s != nullptr);
        auto decoded = schema::decode(*s, frame->data, {v.value("pack", 1)});
        REQUIRE(decoded.ok());
        return std::move(*decoded);
    }
    FAIL("no golden vector " << id);
    return {};
}

}  // namespace bluetti::test
