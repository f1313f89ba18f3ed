#include "config_command.hpp"

#include <ostream>

#include "state_dir.hpp"

namespace bluetti::app {

int run_check_config(const std::string& file, std::ostream& out, std::ostream& err) {
    auto config = load_config(file);
    if (!config) {
        err << config.error() << "\n";
        return 2;
    }
    const auto& c = *config;
    // A state directory the file or systemd names is checked here, without creating anything. The
    // built-in default is left to the daemon's start: the packaged service gets it from systemd's
    // StateDirectory= for its own user, which the user running --check-config may not be.
    if (!c.state_dir_where.empty()) {
        if (auto problem = check_state_dir(c, false)) {
            err << *problem << "\n";
            return 2;
        }
    }
    out << file << ": configuration OK (" << (c.cloud.certificate_mode() ? "certificate mode" : "account " + c.cloud.email) << ", "
        << (c.devices.empty() ? std::string("every device on the account") : std::to_string(c.devices.size()) + " device(s)") << ")\n";
    return 0;
}

namespace {
void fill(std::string& target, const std::string& value) {
    if (target.empty()) target = value;
}
double seconds(Duration d) {
    return static_cast<double>(d.count()) / 1000.0;
}
}  // namespace

void apply_config(const Config& config, GlobalOptions& g) {
    const auto& cloud = config.cloud;
    if (cloud.certificate_mode()) {
        fill(g.cert, cloud.certificate);
        if (!g.password && !cloud.certificate_password.empty()) g.password = cloud.certificate_password;
        fill(g.mqtt_username, cloud.mqtt_username);
        if (!g.mqtt_password && !cloud.mqtt_password.empty()) g.mqtt_password = cloud.mqtt_password;
    } else {
        fill(g.email, cloud.email);
        if (!g.password && !cloud.password.empty()) g.password = cloud.password;
    }
    fill(g.api, cloud.api);
    fill(g.broker, cloud.broker);
    fill(g.ca_file, cloud.ca_file);
    g.tls_insecure = g.tls_insecure || cloud.tls_insecure;
    fill(g.state_dir, config.state_dir);
    g.retries = cloud.retry.attempts;
    g.retry_initial_delay = seconds(cloud.retry.initial_delay);
    g.retry_max_delay = seconds(cloud.retry.max_delay);
    g.request_timeout = seconds(cloud.request_timeout);
    g.schema_dirs.insert(g.schema_dirs.end(), config.schema_dirs.begin(), config.schema_dirs.end());
    g.profile_dirs.insert(g.profile_dirs.end(), config.profile_dirs.begin(), config.profile_dirs.end());

    const DeviceConfig* device = nullptr;
    for (const auto& d : config.devices)
        if (d.serial == g.sn || (!g.sn.empty() && d.sub_sn == g.sn)) device = &d;
    if (!device && g.sn.empty() && config.devices.size() == 1) device = &config.devices.front();
    if (device) {
        fill(g.sn, device->serial);
        fill(g.model, device->model);
        fill(g.sub_sn, device->sub_sn);
        if (!g.controls) {
            if (!device->controls)
                g.controls = std::vector<std::string>{};
            else if (device->control_keys)
                g.controls = device->control_keys;
        }
    }
}

}  // namespace bluetti::app
