#include "online_commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "value_json.hpp"

namespace bluetti::app {

namespace {

using nlohmann::ordered_json;

std::optional<std::string> from_env(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
}

Result<std::string, std::string> prompt_secret(const std::string& what, const char* flag, const char* env) {
    if (!::isatty(STDIN_FILENO)) {
        return fail("no " + what + ": give " + flag + ", set " + env + ", or run in a terminal to be asked");
    }
    // Echo off before the prompt: whatever is typed once the prompt shows is never echoed.
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::cerr << what << ": " << std::flush;
    std::string line;
    std::getline(std::cin, line);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
    return line;
}

Result<std::string, std::string> secret(const std::optional<std::string>& flag_value, const char* flag, const char* env,
                                        const std::string& what) {
    if (flag_value) return *flag_value;
    if (auto v = from_env(env)) return *v;
    return prompt_secret(what, flag, env);
}

int fail_with(std::ostream& err, const std::string& command, const std::string& message, int code = 1) {
    err << "bluetti-cli " << command << ": " << message << "\n";
    return code;
}

ordered_json block_json(const cloud::BlockData& d) {
    ordered_json j;
    j["block"] = d.block;
    j["name"] = d.decoded.schema->name;
    j["slave"] = d.slave;
    if (d.decoded.schema->per_pack()) j["pack"] = d.pack;
    if (d.rssi) j["rssi"] = *d.rssi;
    ordered_json fields = ordered_json::object(), units = ordered_json::object();
    for (const auto& f : d.decoded.fields) {
        if (schema::is_absent(f.value)) continue;
        fields[f.key] = value_json(f.value);
        if (!f.spec->unit.empty()) units[f.key] = f.spec->unit;
    }
    j["fields"] = std::move(fields);
    j["units"] = std::move(units);
    return j;
}

void print_block(const cloud::BlockData& d, bool json, std::ostream& out) {
    if (json) {
        out << block_json(d).dump() << "\n";
        return;
    }
    out << "block " << d.block << " " << d.decoded.schema->name << " (slave " << int(d.slave) << ", " << d.decoded.data_length << " bytes, "
        << d.latency.count() << " ms)\n";
    for (const auto& f : d.decoded.fields) {
        if (schema::is_absent(f.value)) continue;
        out << "  " << std::left << std::setw(40) << f.key << value_json(f.value).dump();
        if (!f.spec->unit.empty()) out << " " << f.spec->unit;
        out << "\n";
    }
}

struct Connected {
    std::unique_ptr<Client> client;
    std::string error;
    int exit_code = 0;  // 2: the command line is incomplete (no password, no serial); 1: the connection failed
};

Connected connect(const GlobalOptions& g, bool need_device) {
    auto options = make_client_options(g, need_device);
    if (!options) return {nullptr, options.error(), 2};
    auto client = std::make_unique<Client>(std::move(*options));
    if (auto c = client->connect(); !c) return {nullptr, c.error(), 1};
    return {std::move(client), {}, 0};
}

}  // namespace

Result<ClientOptions, std::string> make_client_options(const GlobalOptions& g, bool need_device) {
    ClientOptions o;
    o.serial = g.sn;
    o.model = g.model;
    o.sub_sn = g.sub_sn;
    o.broker = g.broker;
    o.ca_file = g.ca_file;
    o.tls_insecure = g.tls_insecure;
    o.state_dir = g.state_dir;
    if (!g.api.empty()) o.api = g.api;
    o.retry.attempts = std::max(1, g.retries);
    o.retry.initial_delay = std::chrono::milliseconds(static_cast<long long>(g.retry_initial_delay * 1000));
    o.retry.max_delay = std::chrono::milliseconds(static_cast<long long>(g.retry_max_delay * 1000));
    o.request_timeout = std::chrono::milliseconds(static_cast<long long>(g.request_timeout * 1000));
    for (const auto& d : g.schema_dirs) o.schema_dirs.emplace_back(d);
    for (const auto& d : g.profile_dirs) o.profile_dirs.emplace_back(d);
    o.controls = g.controls;
    if (need_device && g.sn.empty()) return fail(std::string("--sn is required (the device's serial number)"));

    if (!g.cert.empty()) {
        std::ifstream in(g.cert, std::ios::binary);
        if (!in) return fail("cannot read certificate file " + g.cert);
        std::stringstream data;
        data << in.rdbuf();
        const std::string bytes = data.str();
        o.pkcs12.assign(bytes.begin(), bytes.end());
        auto password = secret(g.password, "--password", "BLUETTI_CERT_PASSWORD", "certificate password");
        if (!password) return fail(password.error());
        o.pkcs12_password = *password;
        if (g.mqtt_username.empty()) return fail(std::string("certificate mode needs --mqtt-username (tid:...)"));
        o.mqtt_username = g.mqtt_username;
        auto mqtt_password = secret(g.mqtt_password, "--mqtt-password", "BLUETTI_MQTT_PASSWORD", "MQTT password");
        if (!mqtt_password) return fail(mqtt_password.error());
        o.mqtt_password = *mqtt_password;
        if (need_device && (g.model.empty() || g.sub_sn.empty())) return fail(std::string("certificate mode needs --model and --sub-sn"));
        return o;
    }
    if (g.email.empty()) return fail(std::string("give --email (account login) or --cert (certificate mode)"));
    o.email = g.email;
    auto password = secret(g.password, "--password", "BLUETTI_PASSWORD", "account password");
    if (!password) return fail(password.error());
    o.password = *password;
    return o;
}

int run_login(const GlobalOptions& g, std::ostream& out, std::ostream& err) {
    auto options = make_client_options(g, false);
    if (!options) return fail_with(err, "login", options.error(), 2);
    EventLoop loop;
    cloud::HttpClient http(loop);
    cloud::AccountOptions a;
    a.api = options->api;
    a.email = options->email;
    a.password = options->password;
    a.ca_file = options->ca_file;
    a.insecure = options->tls_insecure;
    a.state_dir = options->state_dir;
    cloud::AccountClient account(http, a);
    std::optional<Result<cloud::AccountSession, cloud::AccountError>> result;
    account.open_session([&](auto r) { result.emplace(std::move(r)); });
    loop.run_until([&] { return result.has_value(); }, std::chrono::seconds(60));
    if (!result) return fail_with(err, "login", "no answer from " + a.api + " within 60 s");
    if (!*result)
        return fail_with(err, "login", result->error().message, result->error().code == cloud::AccountErrc::bad_credentials ? 3 : 1);
    const auto& s = **result;
    if (g.json) {
        ordered_json j{{"email", a.email},
                       {"uid", s.uid},
                       {"token_expires", s.token_expires},
                       {"devices", s.devices.size()},
                       {"certificate_bytes", s.pkcs12.size()},
                       {"server_offset_ms", s.server_offset_ms}};
        out << j.dump() << "\n";
    } else {
        out << "logged in as " << a.email << " (user " << s.uid << "); token valid until unix time " << s.token_expires << "; "
            << s.devices.size() << " device(s); certificate " << s.pkcs12.size() << " bytes; server clock offset " << s.server_offset_ms
            << " ms\n";
    }
    return 0;
}

int run_devices(const GlobalOptions& g, std::ostream& out, std::ostream& err) {
    auto options = make_client_options(g, false);
    if (!options) return fail_with(err, "devices", options.error(), 2);
    if (!options->pkcs12.empty())
        return fail_with(err, "devices", "listing devices needs an account login (--email), not a certificate", 2);
    EventLoop loop;
    cloud::HttpClient http(loop);
    cloud::AccountOptions a;
    a.api = options->api;
    a.email = options->email;
    a.password = options->password;
    a.ca_file = options->ca_file;
    a.insecure = options->tls_insecure;
    a.state_dir = options->state_dir;
    cloud::AccountClient account(http, a);
    std::optional<Result<cloud::AccountSession, cloud::AccountError>> result;
    account.open_session([&](auto r) { result.emplace(std::move(r)); });
    loop.run_until([&] { return result.has_value(); }, std::chrono::seconds(60));
    if (!result) return fail_with(err, "devices", "no answer within 60 s");
    if (!*result)
        return fail_with(err, "devices", result->error().message, result->error().code == cloud::AccountErrc::bad_credentials ? 3 : 1);
    auto profiles = profile::ProfileSet::builtin();
    ordered_json list = ordered_json::array();
    for (const auto& d : (*result)->devices) {
        const std::string profile = profiles->find_or_generic(d.model).model;
        if (g.json) {
            list.push_back(ordered_json{{"sn", d.sn},
                                        {"sub_sn", d.sub_sn},
                                        {"model", d.model},
                                        {"profile", profile},
                                        {"protocol", d.protocol_version},
                                        {"session_state", d.session_state}});
        } else {
            out << std::left << std::setw(22) << d.sn << std::setw(16) << d.sub_sn << std::setw(12) << d.model << std::setw(12) << profile
                << d.session_state << "\n";
        }
    }
    if (g.json) out << list.dump() << "\n";
    return 0;
}

namespace {
void print_failure(int block, const cloud::ChannelError& e, bool json, std::ostream& out) {
    if (json)
        out << ordered_json{{"block", block}, {"error", std::string(to_string(e.code))}, {"message", e.message}}.dump() << "\n";
    else
        out << "block " << block << ": " << to_string(e.code) << ": " << e.message << "\n";
}
}  // namespace

// Every block of the profile's groups, or the blocks asked for. A per-pack group is read once per
// battery pack, each at its own slave (NODE_INFO finds them): pack 2 prints pack 2's values.
int run_scan(const GlobalOptions& g, const std::vector<int>& blocks, std::ostream& out, std::ostream& err) {
    auto c = connect(g, true);
    if (!c.client) return fail_with(err, "scan", c.error, c.exit_code);
    int reads = 0, failures = 0;
    auto read_one = [&](int block) {
        ++reads;
        auto r = c.client->read_block(static_cast<std::uint16_t>(block));
        if (!r) {
            ++failures;
            return print_failure(block, r.error(), g.json, out);
        }
        print_block(*r, g.json, out);
    };
    if (!blocks.empty()) {
        for (int block : blocks) read_one(block);
    } else {
        for (const auto& group : c.client->profile().groups) {
            if (!group.per_pack) {
                for (const auto& b : group.blocks) read_one(b.block);
                continue;
            }
            ++reads;
            auto r = c.client->read_group(group.name);
            if (!r) {
                ++failures;
                print_failure(group.blocks.front().block, r.error(), g.json, out);
                continue;
            }
            for (const auto& d : *r) print_block(d, g.json, out);
        }
    }
    const auto& s = c.client->stats();
    if (!g.json)
        out << "requests " << s.requests << ", replies " << s.replies << ", timeouts " << s.timeouts << ", retries " << s.retries << "\n";
    return failures == reads ? 1 : 0;
}

int run_raw(const GlobalOptions& g, int block, int registers, int pack, std::ostream& out, std::ostream& err) {
    auto c = connect(g, true);
    if (!c.client) return fail_with(err, "raw", c.error, c.exit_code);
    auto r = c.client->read_block(static_cast<std::uint16_t>(block), static_cast<std::uint16_t>(registers), pack);
    if (!r) return fail_with(err, "raw", std::string(to_string(r.error().code)) + ": " + r.error().message, 1);
    if (g.json) {
        ordered_json j = block_json(*r);
        j["request_hex"] = to_hex(r->request);
        j["reply_hex"] = to_hex(r->reply);
        out << j.dump() << "\n";
    } else {
        out << "request  " << to_hex(r->request) << "\n"
            << "reply    " << to_hex(r->reply) << "\n";
        print_block(*r, false, out);
    }
    return 0;
}

int run_listen(const GlobalOptions& g, const std::string& group, double interval_s, int count, std::ostream& out, std::ostream& err) {
    auto c = connect(g, true);
    if (!c.client) return fail_with(err, "listen", c.error, c.exit_code);
    if (!c.client->profile().group(group)) {
        std::string known;
        for (const auto& g2 : c.client->profile().groups) known.append(known.empty() ? "" : ", ").append(g2.name);
        std::string message = "no poll group '";
        message.append(group).append("' in profile ").append(c.client->profile().model).append(" (groups: ").append(known).append(")");
        return fail_with(err, "listen", message, 2);
    }
    c.client->on_push([&](const cloud::BlockData& d) {
        if (g.json) {
            ordered_json j = block_json(d);
            j["pushed"] = true;
            out << j.dump() << "\n";
        } else {
            out << "push ";
            print_block(d, false, out);
        }
    });
    EventLoop& loop = c.client->loop();
    int done = 0;
    bool busy = false;
    std::function<void()> tick = [&] {
        busy = true;
        c.client->read_group(group, [&](auto r) {
            busy = false;
            if (r) {
                for (const auto& d : *r) print_block(d, g.json, out);
            } else {
                err << "bluetti-cli listen: " << r.error().message << "\n";
            }
            out.flush();
            if (++done < count || count <= 0) loop.after(std::chrono::milliseconds(static_cast<long long>(interval_s * 1000)), tick);
        });
    };
    tick();
    loop.run_until([&] { return count > 0 && done >= count && !busy; }, std::chrono::hours(24 * 365));
    return 0;
}

namespace {
std::optional<std::int64_t> setting_value(const cloud::BlockData& d, const profile::Control& c) {
    const auto* f = d.decoded.find(c.key);
    if (!f) return std::nullopt;
    if (const auto* b = std::get_if<bool>(&f->value)) return *b ? 1 : 0;
    if (const auto* i = std::get_if<std::int64_t>(&f->value)) return *i;
    if (const auto* label = std::get_if<std::string>(&f->value))
        for (const auto& o : c.field->options)
            if (o.label == *label) return o.code;
    return std::nullopt;
}
}  // namespace

int run_write(const GlobalOptions& g, const WriteRequest& w, std::ostream& out, std::ostream& err) {
    if (w.key.empty() == !w.reg.has_value()) return fail_with(err, "write", "give exactly one of --key and --register", 2);
    auto c = connect(g, true);
    if (!c.client) return fail_with(err, "write", c.error, c.exit_code);
    const auto& controls = c.client->controls();
    const profile::Control* control = nullptr;
    for (const auto& candidate : controls)
        if (candidate.key == w.key || (w.reg && candidate.limits->reg == *w.reg)) control = &candidate;
    if (!control) {
        std::string enabled;
        for (const auto& candidate : controls)
            enabled += (enabled.empty() ? "" : ", ") + candidate.key + " (" + std::to_string(candidate.limits->reg) + ")";
        const std::string what = w.reg ? "register " + std::to_string(*w.reg) : w.key;
        return fail_with(
            err, "write",
            what + " is not a control enabled for " + c.client->profile().model + "; enabled: " + (enabled.empty() ? "none" : enabled), 2);
    }
    // The current settings first: the limits depend on each other (docs/protocol.md §8).
    auto before = c.client->read_block(control->block->block);
    std::map<std::string, std::int64_t> settings;
    if (before)
        for (const auto& other : controls)
            if (auto v = setting_value(*before, other)) settings[other.key] = *v;
    auto value = profile::parse_control_value(*control, w.value, settings);
    if (!value) return fail_with(err, "write", control->key + ": " + value.error(), 2);

    auto written = c.client->write_register(control->limits->reg, *value);
    // Whatever the echo said, the re-read is the truth.
    auto after = c.client->read_block(control->block->block);
    // A value and a flag, not std::optional: g++ 12 reports a false maybe-uninitialized on it here.
    std::int64_t read_back = 0;
    bool have_read_back = false;
    if (after)
        if (auto v = setting_value(*after, *control)) read_back = *v, have_read_back = true;
    const std::string now_text = have_read_back ? std::to_string(read_back) : std::string("nothing");
    const bool agrees = have_read_back && read_back == *value;
    if (g.json) {
        ordered_json j{{"key", control->key}, {"register", control->limits->reg}, {"value", *value}, {"confirmed", written.ok()}};
        if (!written) j["error"] = written.error().message;
        if (have_read_back) j["read_back"] = read_back;
        out << j.dump() << "\n";
    } else if (written) {
        out << control->key << " (register " << control->limits->reg << ") = " << *value << ": confirmed in " << written->latency.count()
            << " ms; read back " << now_text << "\n";
    }
    if (!written) return fail_with(err, "write", control->key + " = " + std::to_string(*value) + " failed: " + written.error().message);
    if (!agrees) return fail_with(err, "write", "the device reports " + control->key + " = " + now_text + " after the write");
    return 0;
}

}  // namespace bluetti::app
