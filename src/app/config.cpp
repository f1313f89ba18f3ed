// load_config(): the daemon's YAML file -> Config, validated key by key. Every problem is collected
// (not only the first) as "file:line:column: message" and the list comes back sorted by position.
// The generic reading (positions, types, secrets from a *_file, the environment or a systemd
// credential, never shown in a message) is config_reader.hpp. Docs: docs/configuration.md.
#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

#include "../util/duration.hpp"
#include "../util/yaml_reader.hpp"
#include "bluetti/cloud/cloud_link.hpp"
#include "bluetti/codec/write_whitelist.hpp"
#include "bluetti/host_port.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/text.hpp"
#include "config_reader.hpp"

namespace bluetti::app {

namespace {

using namespace config_detail;

const std::vector<std::string_view> kPollGroups = {"core", "detail", "battery", "settings", "cells", "info", "topology"};
const std::vector<std::string_view> kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
const std::vector<std::pair<std::string_view, ha::DiscoveryMode>> kDiscoveryModes = {
    {"device", ha::DiscoveryMode::device}, {"entity", ha::DiscoveryMode::entity}, {"none", ha::DiscoveryMode::none}};
constexpr std::string_view kDefaultStateDir = "/var/lib/bluetti-bridge";

struct BrokerUrl {
    bool tls = false;
    HostPort address;
};
std::optional<BrokerUrl> parse_broker_url(std::string_view url) {
    BrokerUrl out;
    if (url.starts_with("mqtts://")) {
        out.tls = true;
        url.remove_prefix(8);
    } else if (url.starts_with("mqtt://")) {
        url.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    auto address = parse_host_port(url, out.tls ? 8883 : 1883);
    if (!address) return std::nullopt;
    out.address = *address;
    return out;
}

// Text used as (part of) an MQTT topic or id: `forbidden` characters and whitespace rejected.
void check_topic_text(Parser& p, const Fields& f, std::string_view key, const std::string& value, std::string_view forbidden,
                      bool may_be_empty) {
    const Entry* e = f.find(key);
    if (!e) return;
    std::string shown;
    for (char c : forbidden) shown += std::string(shown.empty() ? "" : ", ") + c;
    if (value.empty() && !may_be_empty)
        p.error(*e, f.name(key) + " must not be empty");
    else if (has_any(value, forbidden))
        p.error(*e, f.name(key) + " must not contain " + shown + " or spaces, got '" + value + "'");
}

void check_topic_template(Parser& p, const Fields& f, std::string_view key, const std::string& pattern) {
    const Entry* e = f.find(key);
    if (!e) return;
    if (pattern.empty()) return p.error(*e, f.name(key) + " must not be empty");
    auto expanded = cloud::expand_topic(pattern, "MODEL", "SUBSN", "SN");
    if (!expanded) p.error(*e, f.name(key) + ": " + expanded.error());
}

void parse_retry(Parser& p, const Fields& cloud, RetryConfig& r) {
    const auto f = p.fields(cloud, "retry", {"attempts", "initial_delay", "factor", "max_delay"});
    if (!f) return;
    p.read(*f, "attempts", r.attempts, 1, 20);
    p.read(*f, "initial_delay", r.initial_delay, 0ms);
    p.read(*f, "max_delay", r.max_delay, 1ms);
    if (const Entry* e = f->find("factor")) {
        const auto v = e->value.IsScalar() ? util::parse_number(e->value.Scalar()) : std::nullopt;
        if (!v || !(*v >= 1.0) || *v > 100.0)
            p.error(*e,
                    f->name("factor") + " must be a number from 1 to 100, got '" + (e->value.IsScalar() ? e->value.Scalar() : "") + "'");
        else
            r.factor = *v;
    }
    if (const Entry* e = f->find("max_delay"); e && r.max_delay < r.initial_delay)
        p.error(*e, f->name("max_delay") + " (" + util::format_duration(r.max_delay) + ") must not be less than initial_delay (" +
                        util::format_duration(r.initial_delay) + ")");
}

void parse_cloud(Parser& p, const Fields& root, CloudConfig& c) {
    const Entry* section = root.find("cloud");
    if (!section) return p.error(root.mark, "missing section 'cloud' (e-mail login or certificate mode)");
    const auto f = p.fields(*section, "cloud",
                            {"email", "password", "password_file", "certificate", "certificate_password", "certificate_password_file",
                             "mqtt_username", "mqtt_password", "mqtt_password_file", "api", "broker", "ca_file", "tls_insecure",
                             "tls_security_level", "request_timeout", "retry", "topics", "reconnect_delay", "client_id"});
    if (!f) return;
    p.read(*f, "email", c.email);
    p.read(*f, "api", c.api);
    if (const Entry* e = f->find("api");
        e && !((c.api.starts_with("https://") || c.api.starts_with("http://")) && c.api.find("://") + 3 < c.api.size()))
        p.error(*e, "cloud.api must be an https:// (or http://) URL, got '" + c.api + "'");
    p.read(*f, "broker", c.broker);
    if (const Entry* e = f->find("broker"); e && !parse_host_port(c.broker, 0))
        p.error(*e, "cloud.broker must be host:port, like iot.bluettipower.com:18760, got '" + c.broker + "'");
    c.ca_file = p.path(*f, "ca_file", true);
    p.read(*f, "tls_insecure", c.tls_insecure);
    // The login body is only as safe as the transport: its passOpen is the password under AES-ECB
    // with a key derived from the hash sent beside it.
    if (const Entry* e = f->find("api"); e && c.api.starts_with("http://") && !c.tls_insecure)
        p.error(*e, "cloud.api '" + c.api +
                        "' is plain http://: the login would reveal the password to the network; use https:// "
                        "(or set cloud.tls_insecure: true for a test gateway)");
    p.read(*f, "tls_security_level", c.tls_security_level, 0, 5);
    p.read(*f, "request_timeout", c.request_timeout, 1ms);
    p.read(*f, "reconnect_delay", c.reconnect_delay, 1s, 10min);
    p.read(*f, "client_id", c.client_id);
    check_topic_text(p, *f, "client_id", c.client_id, "+#/", true);
    parse_retry(p, *f, c.retry);
    if (const auto topics = p.fields(*f, "topics", {"request", "response"})) {
        p.read(*topics, "request", c.request_topic);
        p.read(*topics, "response", c.response_topic);
        check_topic_template(p, *topics, "request", c.request_topic);
        check_topic_template(p, *topics, "response", c.response_topic);
    }

    const Entry* email = f->find("email");
    const Entry* certificate = f->find("certificate");
    if (email && c.email.find('@') == std::string::npos) p.error(*email, "cloud.email must be an e-mail address, got '" + c.email + "'");
    if (email && certificate)
        return p.error(*certificate, "give either cloud.email (e-mail login) or cloud.certificate (certificate mode), not both");
    if (!email && !certificate)
        return p.error(f->mark,
                       "cloud needs email (e-mail login, with a password) or certificate (certificate mode, with "
                       "certificate_password, mqtt_username and mqtt_password)");
    if (email) {
        for (std::string_view key :
             {"certificate_password", "certificate_password_file", "mqtt_username", "mqtt_password", "mqtt_password_file"})
            if (const Entry* e = f->find(key))
                p.error(e->key.Mark(), f->name(key) + " is only used in certificate mode (with cloud.certificate)");
        c.password = p.required_secret(*f, kPassword, mark_of(*email), "e-mail login");
        return;
    }
    for (std::string_view key : {"password", "password_file"})
        if (const Entry* e = f->find(key)) p.error(e->key.Mark(), f->name(key) + " is only used with e-mail login (with cloud.email)");
    c.certificate = p.path(*f, "certificate", true);
    if (c.certificate.empty()) c.certificate = "-";  // keeps certificate_mode() true after an error
    const YAML::Mark at = mark_of(*certificate);
    c.certificate_password = p.required_secret(*f, kCertPassword, at, "certificate mode");
    p.read(*f, "mqtt_username", c.mqtt_username);
    if (c.mqtt_username.empty())
        p.error(f->has("mqtt_username") ? mark_of(*f->find("mqtt_username")) : at, "cloud.mqtt_username is missing (certificate mode)");
    c.mqtt_password = p.required_secret(*f, kMqttPassword, at, "certificate mode");
}

void parse_homeassistant(Parser& p, const Fields& root, HomeAssistantConfig& h) {
    const auto f = p.fields(root, "homeassistant",
                            {"broker", "username", "password", "password_file", "ca_file", "cert_file", "key_file", "client_id",
                             "base_topic", "discovery_prefix", "discovery", "status_topic", "state_delay"});
    if (!f) return;
    p.read(*f, "broker", h.broker);
    const auto url = parse_broker_url(h.broker);
    if (!url) p.error(*f->find("broker"), "homeassistant.broker must be mqtt://host[:port] or mqtts://host[:port], got '" + h.broker + "'");
    p.read(*f, "username", h.username);
    h.ca_file = p.path(*f, "ca_file", true);
    h.cert_file = p.path(*f, "cert_file", true);
    h.key_file = p.path(*f, "key_file", true);
    for (std::string_view key : {"ca_file", "cert_file", "key_file"})
        if (const Entry* e = f->find(key); e && url && !url->tls) p.error(*e, f->name(key) + " needs an mqtts:// broker");
    if (f->has("cert_file") != f->has("key_file"))
        p.error(*f->find(f->has("cert_file") ? "cert_file" : "key_file"), "homeassistant.cert_file and homeassistant.key_file go together");
    p.read(*f, "client_id", h.client_id);
    check_topic_text(p, *f, "client_id", h.client_id, "+#/", false);
    p.read(*f, "base_topic", h.base_topic);
    check_topic_text(p, *f, "base_topic", h.base_topic, "+#", false);
    p.read(*f, "discovery_prefix", h.discovery_prefix);
    check_topic_text(p, *f, "discovery_prefix", h.discovery_prefix, "+#", false);
    p.read(*f, "status_topic", h.status_topic);
    check_topic_text(p, *f, "status_topic", h.status_topic, "+#", false);
    if (auto mode = p.text(*f, "discovery")) {
        const auto it = std::find_if(kDiscoveryModes.begin(), kDiscoveryModes.end(), [&](const auto& m) { return m.first == *mode; });
        if (it != kDiscoveryModes.end()) h.discovery = it->second;
        if (it == kDiscoveryModes.end())
            p.error(*f->find("discovery"), "homeassistant.discovery must be one of: device, entity, none, got '" + *mode + "'");
    }
    p.read(*f, "state_delay", h.state_delay, 0ms, 10min);

    // The password matters only with a user name; then it is optional (brokers may take a name alone).
    bool reported = false;
    if (h.username.empty()) {
        for (std::string_view key : {"password", "password_file"})
            if (const Entry* e = f->find(key)) p.error(e->key.Mark(), f->name(key) + " needs homeassistant.username");
    } else if (auto v = p.secret(*f, kHaPassword, reported)) {
        h.password = *v;
    }
}

bool id_safe(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

void parse_device(Parser& p, const Entry& item, const std::string& name, const profile::ProfileSet* profiles, DeviceConfig& d) {
    const auto f = p.fields(item, name, {"serial", "model", "name", "sub_sn", "slave", "poll", "exclude", "controls"});
    if (!f) return;
    if (!f->has("serial")) p.error(f->mark, name + " needs a serial");
    p.read(*f, "serial", d.serial);
    // Normalised once (docs/home-assistant.md §2.3): trimmed, upper case.
    const auto first = d.serial.find_first_not_of(" \t");
    d.serial = first == std::string::npos ? "" : d.serial.substr(first, d.serial.find_last_not_of(" \t") - first + 1);
    std::transform(d.serial.begin(), d.serial.end(), d.serial.begin(),
                   [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
    if (const Entry* e = f->find("serial"); e && d.serial.empty())
        p.error(*e, name + ".serial must not be empty");
    else if (e && !id_safe(d.serial))
        p.error(*e, name + ".serial must contain only letters, digits, - and _, got '" + d.serial + "'");
    if (auto model = p.text(*f, "model")) {
        const profile::Profile* known = profiles ? profiles->find(*model) : nullptr;
        if (known)
            d.model = known->model;
        else if (profiles) {
            std::string names;
            for (const auto* pr : profiles->all()) names += (names.empty() ? "" : ", ") + pr->model;
            p.error(*f->find("model"), "unknown model '" + *model + "' (known: " + names + ")");
        }
    }
    p.read(*f, "name", d.name);
    p.read(*f, "sub_sn", d.sub_sn);
    if (const Entry* e = f->find("sub_sn"); e && (d.sub_sn.empty() || has_any(d.sub_sn, "+#/")))
        p.error(*e, name + ".sub_sn must be non-empty without +, #, / or spaces");
    if (f->has("slave")) {
        int slave = 0;
        p.read(*f, "slave", slave, 0, 247);
        d.slave = slave;
    }
    if (const auto poll = p.fields(*f, "poll", kPollGroups)) {
        for (const auto& [group, e] : poll->entries)
            if (auto interval = p.duration(e, poll->name(group), 1s, Duration::max())) d.poll[group] = *interval;
    }
    for (auto& [key, mark] : p.text_list(*f, "exclude")) d.exclude.push_back(std::move(key));
    // `controls`: true (the profile's controls), false (none), or the list of control keys to enable.
    const Entry* controls = f->find("controls");
    if (controls && controls->value.IsSequence()) {
        d.control_keys.emplace();
        for (auto& [key, mark] : p.text_list(*f, "controls")) {
            if (!codec::find_writable(key)) {
                std::string known;
                for (const auto& w : codec::writable_registers()) known += (known.empty() ? "" : ", ") + std::string(w.key);
                p.error(mark, "unknown control '" + key + "' (writable: " + known + ")");
            }
            d.control_keys->push_back(std::move(key));
        }
    } else if (controls) {
        const std::string v = controls->value.IsScalar() ? controls->value.Scalar() : std::string();
        if (v == "true" || v == "yes" || v == "on" || v == "false" || v == "no" || v == "off")
            p.read(*f, "controls", d.controls);
        else
            p.error(*controls, f->name("controls") + " must be true, false or a list of control keys, got '" + v + "'");
    }
}

// `profiles`: the built-in ones and those of profile_dirs, which a device's model may name.
void parse_devices(Parser& p, const Fields& root, Config& c, const Result<profile::ProfileSet, profile::ProfileError>& profiles) {
    const Entry* e = root.find("devices");
    if (!e || e->value.IsNull()) return;
    if (!e->value.IsSequence()) return p.error(*e, "devices must be a list");
    if (!profiles) p.error(*e, "cannot load the built-in profiles: " + profiles.error().message);
    std::map<std::string, int> seen;  // serial -> line
    int index = 0;
    for (const auto& item : e->value) {
        const Entry entry{item.IsNull() ? e->key : item, item};
        const std::string name = "devices[" + std::to_string(index++) + "]";
        DeviceConfig d;
        d.where = p.where(mark_of(entry));
        parse_device(p, entry, name, profiles ? &profiles.value() : nullptr, d);
        if (!d.serial.empty()) {
            const int line = mark_of(entry).line + 1;
            if (auto [it, fresh] = seen.emplace(d.serial, line); !fresh)
                p.error(mark_of(entry), "serial '" + d.serial + "' is listed twice (first on line " + std::to_string(it->second) + ")");
        }
        if (c.cloud.certificate_mode() && (d.model.empty() || d.sub_sn.empty()))
            p.error(mark_of(entry), "certificate mode needs model and sub_sn for every device (" + name + " lacks " +
                                        (d.model.empty() && d.sub_sn.empty() ? "both"
                                         : d.model.empty()                   ? "model"
                                                                             : "sub_sn") +
                                        ")");
        c.devices.push_back(std::move(d));
    }
}

struct Directory {
    std::string path;  // resolved against the config file's directory
    YAML::Mark mark;
    bool usable = false;  // an existing directory
};

// The list of directories under `key` (schema_dirs, profile_dirs); each must be one.
std::vector<Directory> directories(Parser& p, const Fields& root, std::string_view key) {
    std::vector<Directory> out;
    for (const auto& [given, mark] : p.text_list(root, key)) {
        Directory d{p.resolve(given), mark};
        struct stat st {};
        if (::stat(d.path.c_str(), &st) != 0)
            p.error(mark, std::string(key) + " entry '" + d.path + "' cannot be read: " + reason(errno));
        else if (!S_ISDIR(st.st_mode))
            p.error(mark, std::string(key) + " entry '" + d.path + "' is not a directory");
        else
            d.usable = true;
        out.push_back(std::move(d));
    }
    return out;
}

// The built-in profiles, then those of `dirs`: a profile file's error stands at its directory's
// entry, with the file's own position.
Result<profile::ProfileSet, profile::ProfileError> known_profiles(Parser& p, const std::vector<Directory>& dirs) {
    auto profiles = profile::ProfileSet::builtin();
    if (!profiles) return profiles;
    for (const Directory& d : dirs) {
        if (!d.usable) continue;
        if (auto error = profiles->load_directory(d.path)) p.error(d.mark, "profile_dirs entry '" + d.path + "': " + error->message);
    }
    return profiles;
}

void parse_root(Parser& p, const YAML::Node& doc, Config& c) {
    const Entry whole{doc, doc};
    const auto root = p.fields(
        whole, "", {"cloud", "homeassistant", "devices", "schema_dirs", "profile_dirs", "log", "state_dir", "state_save_interval"});
    if (!root) return;
    parse_cloud(p, *root, c.cloud);
    parse_homeassistant(p, *root, c.homeassistant);
    const std::vector<Directory> profile_dirs = directories(p, *root, "profile_dirs");
    for (const Directory& d : profile_dirs) c.profile_dirs.push_back(d.path);
    parse_devices(p, *root, c, known_profiles(p, profile_dirs));
    if (c.cloud.certificate_mode() && c.devices.empty() && root->has("cloud"))
        p.error(root->has("devices") ? mark_of(*root->find("devices")) : root->mark,
                "certificate mode needs a devices: list with serial, model and sub_sn for each device");
    for (const Directory& d : directories(p, *root, "schema_dirs")) c.schema_dirs.push_back(d.path);
    if (const auto log = p.fields(*root, "log", {"level"})) {
        p.read(*log, "level", c.log.level);
        if (log->has("level") && !contains(kLogLevels, c.log.level))
            p.error(*log->find("level"), "log.level must be one of: " + join(kLogLevels) + ", got '" + c.log.level + "'");
    }
    // systemd's StateDirectory= may list several directories separated by ':'; the first is ours.
    const std::string from_env = p.env("STATE_DIRECTORY").value_or("");
    c.state_dir = from_env.empty() ? std::string(kDefaultStateDir) : from_env.substr(0, from_env.find(':'));
    if (!from_env.empty()) c.state_dir_where = "$STATE_DIRECTORY";
    if (root->has("state_dir")) {
        c.state_dir = p.path(*root, "state_dir", false);
        c.state_dir_where = p.where(mark_of(*root->find("state_dir")));  // checked by check_state_dir (state_dir.hpp)
    }
    p.read(*root, "state_save_interval", c.state_save_interval, 1s, 24h);
}

// Every text of the config may reach a log line or a JSON document (a device's name is Home
// Assistant's device name, and nlohmann::json refuses invalid UTF-8): a file that is not UTF-8 is
// refused at its first bad byte. The column counts bytes, like yaml-cpp's marks.
std::optional<std::string> invalid_utf8_position(std::string_view text, const std::string& path) {
    const std::size_t at = text::invalid_utf8_at(text);
    if (at == std::string_view::npos) return std::nullopt;
    const std::string_view before = text.substr(0, at);
    const std::size_t line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column = line_start == std::string_view::npos ? at + 1 : at - line_start;
    return path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": the config is not valid UTF-8 (byte " +
           text::echo(text.substr(at, 1)) + "); save it as UTF-8";
}

}  // namespace

std::optional<std::string> ConfigEnvironment::get(const std::string& name) const {
    if (!variables.empty()) {
        const auto it = variables.find(name);
        if (it == variables.end()) return std::nullopt;
        return it->second;
    }
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
}

bool HomeAssistantConfig::tls() const {
    const auto url = parse_broker_url(broker);
    return url ? url->tls : broker.starts_with("mqtts://");
}

std::string HomeAssistantConfig::host() const {
    const auto url = parse_broker_url(broker);
    return url ? url->address.host : std::string();
}

int HomeAssistantConfig::port() const {
    const auto url = parse_broker_url(broker);
    return url ? url->address.port : (tls() ? 8883 : 1883);
}

std::optional<Duration> parse_config_duration(const std::string& text) {
    return util::parse_duration(text);
}

Result<Config, std::string> load_config(const std::string& path, const ConfigEnvironment& env) {
    auto text = read_file(path);
    if (!text) return fail(path + ": cannot read: " + reason(text.error()));
    return parse_config(*text, path, env);
}

Result<Config, std::string> parse_config(std::string_view text, const std::string& path, const ConfigEnvironment& env) {
    if (auto bad = invalid_utf8_position(text, path)) return fail(*bad);
    Config config;
    config.file = path;
    Parser parser(path, env);
    YAML::Node doc;
    try {
        doc = util::YamlReader(path).parse(text);
    } catch (const util::YamlError& e) {
        return fail(std::string(e.what()));
    } catch (const YAML::Exception& e) {
        return fail(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    if (!doc || doc.IsNull()) return fail(path + ":1:1: the config is empty; it needs at least a cloud: section");
    parse_root(parser, doc, config);
    if (parser.failed()) return fail(parser.errors());
    return config;
}

}  // namespace bluetti::app
