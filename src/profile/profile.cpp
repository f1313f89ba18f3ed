#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

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

std::optional<ProfileError> ProfileSet::clash(const Profile& profile, std::size_t except) const {
    const std::string& model_at = profile.model_where.empty() ? profile.source : profile.model_where;
    const auto alias_at = [&](std::size_t a) { return a < profile.aliases_where.size() ? profile.aliases_where[a] : model_at; };
    for (std::size_t i = 0; i < profiles_.size(); ++i) {
        if (i == except) continue;
        const Profile& other = profiles_[i];
        if (iequals(other.model, profile.model)) {
            return ProfileError{model_at + ": profile " + profile.model + " is defined twice (also in " + other.source + ")"};
        }
        for (std::size_t a = 0; a < profile.aliases.size(); ++a)
            for (const auto& theirs : other.aliases)
                if (iequals(profile.aliases[a], theirs))
                    return ProfileError{alias_at(a) + ": alias '" + profile.aliases[a] + "' is already used by profile " + other.model};
    }
    return std::nullopt;
}

bool ProfileSet::from_directory(const Profile& profile) const {
    return std::any_of(from_directories_.begin(), from_directories_.end(), [&](const std::string& m) { return iequals(m, profile.model); });
}

std::optional<ProfileError> ProfileSet::add(Profile profile) {
    if (auto error = clash(profile, profiles_.size())) return error;
    profiles_.push_back(std::move(profile));
    return std::nullopt;
}

std::optional<ProfileError> ProfileSet::load_directory(const std::filesystem::path& dir, std::vector<std::string>* replaced) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.is_regular_file() && (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml")) {
            files.push_back(entry.path());
        }
    }
    if (ec) return ProfileError{dir.string() + ": cannot read profile directory: " + ec.message()};
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        if (!in) return ProfileError{path.string() + ": cannot read file"};
        auto profile = parse_profile(text.str(), path.string());
        if (!profile) return profile.error();
        const std::string model = profile->model;
        const auto same = std::find_if(profiles_.begin(), profiles_.end(), [&](const Profile& p) { return iequals(p.model, model); });
        if (same != profiles_.end() && !from_directory(*same)) {  // a built-in one: replaced
            const auto index = static_cast<std::size_t>(same - profiles_.begin());
            if (auto error = clash(*profile, index)) return error;
            profiles_[index] = std::move(*profile);
            if (replaced) replaced->push_back(model);
        } else if (auto error = add(std::move(*profile))) {
            return error;
        }
        from_directories_.push_back(model);
    }
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
