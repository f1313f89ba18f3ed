#include <algorithm>
#include <cctype>

#include "bluetti/embedded.hpp"
#include "bluetti/profile/profile.hpp"

namespace bluetti::profile {

const PollGroup* Profile::group(std::string_view name) const {
    for (const auto& g : groups)
        if (g.name == name) return &g;
    return nullptr;
}

bool Profile::has_block(std::uint16_t block) const {
    for (const auto& g : groups)
        for (const auto& b : g.blocks)
            if (b.block == block) return true;
    return false;
}

Result<schema::SchemaRegistry, schema::LoadError> apply_profile(const schema::SchemaRegistry& base, const Profile& profile) {
    auto overridden = base.with_overrides(profile.overrides);
    if (!overridden) return overridden;
    return overridden->with_power_limit(profile.power_limit());
}

namespace {
bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}
}  // namespace

Result<ProfileSet, ProfileError> ProfileSet::builtin() {
    ProfileSet set;
    for (const EmbeddedFile& file : embedded_profiles()) {
        auto profile = parse_profile(file.text, "config/" + std::string(file.name));
        if (!profile) return fail(profile.error());
        if (auto error = set.add(std::move(*profile))) return fail(*error);
    }
    if (!set.find(kGenericProfile)) return fail(ProfileError{"built-in profiles lack " + std::string(kGenericProfile)});
    return set;
}

std::optional<ProfileError> ProfileSet::add(Profile profile) {
    for (const Profile& other : profiles_) {
        if (iequals(other.model, profile.model)) return ProfileError{profile.source + ": profile " + profile.model + " is defined twice"};
        for (const auto& alias : profile.aliases)
            for (const auto& theirs : other.aliases)
                if (iequals(alias, theirs))
                    return ProfileError{profile.source + ": alias '" + alias + "' is already used by profile " + other.model};
    }
    profiles_.push_back(std::move(profile));
    return std::nullopt;
}

const Profile* ProfileSet::find(std::string_view model) const {
    for (const Profile& p : profiles_)
        if (p.model == model) return &p;
    for (const Profile& p : profiles_)
        for (const auto& alias : p.aliases)
            if (iequals(alias, model)) return &p;
    return nullptr;
}

const Profile& ProfileSet::find_or_generic(std::string_view model) const {
    if (const Profile* p = find(model)) return *p;
    return *find(kGenericProfile);
}

std::vector<const Profile*> ProfileSet::all() const {
    std::vector<const Profile*> out;
    for (const Profile& p : profiles_) out.push_back(&p);
    return out;
}

}  // namespace bluetti::profile
