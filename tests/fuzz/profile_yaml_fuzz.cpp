// Fuzz entry point: arbitrary text -> parse_profile; a profile that parses is added to the built-in
// set, and its overrides and power limit are applied to the built-in schemas, which then decode
// fixed byte patterns and check them for plausibility.
// Nothing here may crash, hang, leak or hit undefined behaviour.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"

namespace {
constexpr std::size_t kBlockBytes = 250;

struct Fixture {
    bluetti::schema::SchemaRegistry registry = *bluetti::schema::SchemaRegistry::builtin();
    bluetti::profile::ProfileSet profiles = *bluetti::profile::ProfileSet::builtin();
    std::array<bluetti::Bytes, 3> patterns;
    Fixture() {
        for (auto& p : patterns) p.resize(kBlockBytes);
        for (std::size_t i = 0; i < kBlockBytes; ++i) {
            patterns[0][i] = 0xFF;
            patterns[1][i] = static_cast<std::uint8_t>(i);
            patterns[2][i] = static_cast<std::uint8_t>(i % 2 ? 0x80 : 0x03);
        }
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    static const Fixture fixture;
    const std::string_view text(reinterpret_cast<const char*>(bytes), size);
    auto profile = bluetti::profile::parse_profile(text, "fuzz.yaml");
    if (!profile) return 0;
    for (const auto& group : profile->groups) (void)profile->group(group.name);
    for (const auto& group : profile->groups)
        for (const auto& read : group.blocks) (void)profile->has_block(read.block);

    bluetti::profile::ProfileSet profiles = fixture.profiles;
    if (!profiles.add(*profile)) {
        (void)profiles.find(profile->model);
        for (const auto& alias : profile->aliases) (void)profiles.find_or_generic(alias);
    }

    auto registry = bluetti::profile::apply_profile(fixture.registry, *profile);
    if (!registry) return 0;
    for (const auto* schema : registry->all()) {
        for (const auto& pattern : fixture.patterns) {
            auto decoded = bluetti::schema::decode(*schema, pattern, {2});
            if (!decoded) continue;
            (void)decoded->present_count();
            if (auto finding = bluetti::schema::check_plausible(*schema, *decoded)) (void)bluetti::schema::to_string(*finding);
        }
    }
    return 0;
}
