#include "profile_dirs.hpp"

#include "bluetti/log.hpp"

namespace bluetti::app {

std::optional<profile::ProfileError> load_profile_dirs(profile::ProfileSet& profiles, const std::vector<std::string>& dirs) {
    for (const auto& dir : dirs) {
        std::vector<std::string> replaced;
        auto error = profiles.load_directory(dir, &replaced);
        for (const auto& model : replaced) {
            const profile::Profile* p = profiles.find(model);
            log::get("config")->info("profile {} from {} replaces the built-in one", model, p ? p->source : dir);
        }
        if (error) return error;
    }
    return std::nullopt;
}

}  // namespace bluetti::app
