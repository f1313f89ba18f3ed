// The reading half of load_config(): a YAML mapping walked key by key with every problem collected
// as "file:line:column: message", and secrets resolved from the value, a *_file, the environment or
// a systemd credential without their values ever reaching a message. Internal to config.cpp.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../util/bounded_file.hpp"
#include "../util/duration.hpp"
#include "config.hpp"

namespace bluetti::app::config_detail {

using namespace std::chrono_literals;

// Where a secret may come from besides the file itself (docs/configuration.md, "Secrets": value, *_file, environment, credential).
struct SecretSource {
    std::string_view key;         // "password"; "<key>_file" is the file variant
    std::string_view env;         // BLUETTI_PASSWORD
    std::string_view credential;  // $CREDENTIALS_DIRECTORY/<credential>
};
constexpr SecretSource kPassword{"password", "BLUETTI_PASSWORD", "bluetti-password"};
constexpr SecretSource kCertPassword{"certificate_password", "BLUETTI_CERT_PASSWORD", "bluetti-cert-password"};
constexpr SecretSource kMqttPassword{"mqtt_password", "BLUETTI_MQTT_PASSWORD", "bluetti-mqtt-password"};
constexpr SecretSource kHaPassword{"password", "BLUETTI_HA_PASSWORD", "ha-password"};

inline std::string join(const std::vector<std::string_view>& items) {
    std::string out;
    for (std::string_view s : items) out += (out.empty() ? "" : ", ") + std::string(s);
    return out;
}

inline bool contains(const std::vector<std::string_view>& items, std::string_view s) {
    return std::find(items.begin(), items.end(), s) != items.end();
}

// Reads a whole file the config names: a regular file of at most `max_bytes`, opened without
// blocking (a FIFO or /dev/zero is refused, never read), util/bounded_file.hpp.
inline Result<std::string, util::FileError> read_file(const std::string& path, std::size_t max_bytes = util::kMaxDataFileBytes) {
    return util::read_bounded_file(path, max_bytes);
}

inline std::string reason(const util::FileError& e) {
    return e.message;
}

inline std::string reason(int code) {
    return std::strerror(code);
}

inline std::string strip_one_newline(std::string text) {
    if (!text.empty() && text.back() == '\n') {
        text.pop_back();
        if (!text.empty() && text.back() == '\r') text.pop_back();
    }
    return text;
}

inline bool has_any(std::string_view text, std::string_view chars) {
    return text.find_first_of(chars) != std::string_view::npos ||
           std::any_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

// One key of a mapping: the key node for positions of empty values, which yaml-cpp marks at the next token.
struct Entry {
    YAML::Node key;
    YAML::Node value;
};

// A mapping's keys after the unknown/duplicate check, with the dotted path for messages.
struct Fields {
    std::string path;
    YAML::Mark mark;  // of the mapping's key (an entry of a list: the entry; the document: its start)
    std::vector<std::pair<std::string, Entry>> entries;

    const Entry* find(std::string_view key) const {
        for (const auto& [k, e] : entries)
            if (k == key) return &e;
        return nullptr;
    }
    bool has(std::string_view key) const { return find(key) != nullptr; }
    std::string name(std::string_view key) const { return path.empty() ? std::string(key) : path + "." + std::string(key); }
};

inline YAML::Mark mark_of(const Entry& e) {
    return e.value.IsNull() ? e.key.Mark() : e.value.Mark();
}

class Parser {
public:
    Parser(const std::string& file, const ConfigEnvironment& env) : file_(file), env_(env) {
        dir_ = std::filesystem::path(file).parent_path();
    }

    // 1-based; a node without a position (an empty document) is at 1:1.
    static std::pair<int, int> position(const YAML::Mark& mark) {
        return mark.is_null() ? std::pair(1, 1) : std::pair(mark.line + 1, mark.column + 1);
    }
    std::string where(const YAML::Mark& mark) const {
        const auto [line, column] = position(mark);
        return file_ + ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    void error(const YAML::Mark& mark, const std::string& message) { errors_.push_back({position(mark), where(mark) + ": " + message}); }
    void error(const Entry& e, const std::string& message) { error(mark_of(e), message); }

    std::string errors() {
        std::stable_sort(errors_.begin(), errors_.end(), [](const Error& a, const Error& b) { return a.position < b.position; });
        std::string out;
        for (const Error& e : errors_) out += (out.empty() ? "" : "\n") + e.text;
        return out;
    }
    bool failed() const { return !errors_.empty(); }

    // The mapping under `e` (empty when the value is empty); nullopt after an error.
    std::optional<Fields> fields(const Entry& e, const std::string& path, const std::vector<std::string_view>& allowed) {
        Fields out{path, e.key.Mark(), {}};
        if (e.value.IsNull()) return out;
        if (!e.value.IsMap()) {
            error(e, (path.empty() ? "the config" : path) + " must be a mapping of keys");
            return std::nullopt;
        }
        for (const auto& item : e.value) {
            const Entry entry{item.first, item.second};
            const std::string key = item.first.IsScalar() ? item.first.Scalar() : std::string();
            if (!item.first.IsScalar()) {
                error(item.first.Mark(), "keys must be plain words");
            } else if (!contains(allowed, key)) {
                error(item.first.Mark(), "unknown key '" + key + "' (expected one of: " + join(allowed) + ")");
            } else if (const Entry* first = out.find(key)) {
                error(item.first.Mark(),
                      "duplicate key '" + key + "' (first given on line " + std::to_string(first->key.Mark().line + 1) + ")");
            } else {
                out.entries.emplace_back(key, entry);
            }
        }
        return out;
    }
    std::optional<Fields> fields(const Fields& parent, std::string_view key, const std::vector<std::string_view>& allowed) {
        const Entry* e = parent.find(key);
        if (!e) return Fields{parent.name(key), parent.mark, {}};
        return fields(*e, parent.name(key), allowed);
    }

    std::optional<std::string> text(const Fields& f, std::string_view key) {
        const Entry* e = f.find(key);
        if (!e) return std::nullopt;
        if (!e->value.IsScalar()) {
            error(*e, f.name(key) + " must be a text value");
            return std::nullopt;
        }
        return e->value.Scalar();
    }
    void read(const Fields& f, std::string_view key, std::string& out) {
        if (auto v = text(f, key)) out = *v;
    }
    void read(const Fields& f, std::string_view key, bool& out) {
        const Entry* e = f.find(key);
        if (!e) return;
        const std::string s = e->value.IsScalar() ? e->value.Scalar() : std::string();
        if (s == "true" || s == "yes" || s == "on")
            out = true;
        else if (s == "false" || s == "no" || s == "off")
            out = false;
        else
            error(*e, f.name(key) + " must be true or false, got '" + s + "'");
    }
    void read(const Fields& f, std::string_view key, int& out, int min, int max) {
        const Entry* e = f.find(key);
        if (!e) return;
        const auto v = e->value.IsScalar() ? util::parse_integer(e->value.Scalar()) : std::nullopt;
        if (!v || *v < min || *v > max) {
            error(*e, f.name(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" +
                          (e->value.IsScalar() ? e->value.Scalar() : std::string()) + "'");
            return;
        }
        out = static_cast<int>(*v);
    }
    void read(const Fields& f, std::string_view key, Duration& out, Duration min, Duration max = Duration::max()) {
        const Entry* e = f.find(key);
        if (!e) return;
        if (auto d = duration(*e, f.name(key), min, max)) out = *d;
    }
    std::optional<Duration> duration(const Entry& e, const std::string& name, Duration min, Duration max) {
        const std::string s = e.value.IsScalar() ? e.value.Scalar() : std::string();
        const auto d = parse_config_duration(s);
        if (!d) {
            error(e, name + " must be a duration like 500ms, 10s, 2m or 1h, got '" + s + "'");
        } else if (*d < min || *d > max) {
            std::string range = min == 0ms ? "" : "at least " + util::format_duration(min);
            if (min == 1ms) range = "more than 0";
            if (max != Duration::max()) range += (range.empty() ? "at most " : " and at most ") + util::format_duration(max);
            error(e, name + " must be " + range + ", got '" + s + "'");
        } else {
            return d;
        }
        return std::nullopt;
    }
    std::vector<std::pair<std::string, YAML::Mark>> text_list(const Fields& f, std::string_view key) {
        std::vector<std::pair<std::string, YAML::Mark>> out;
        const Entry* e = f.find(key);
        if (!e || e->value.IsNull()) return out;
        if (!e->value.IsSequence()) {
            error(*e, f.name(key) + " must be a list");
            return out;
        }
        for (const auto& item : e->value) {
            if (!item.IsScalar() || item.Scalar().empty())
                error(item.IsNull() ? e->key.Mark() : item.Mark(), f.name(key) + " entries must be non-empty text");
            else
                out.emplace_back(item.Scalar(), item.Mark());
        }
        return out;
    }

    // A path key: relative paths are relative to the config file's directory.
    std::string path(const Fields& f, std::string_view key, bool must_be_readable) {
        auto v = text(f, key);
        if (!v) return {};
        if (v->empty()) {
            error(*f.find(key), f.name(key) + " must not be empty");
            return {};
        }
        const std::string p = resolve(*v);
        if (must_be_readable) {
            if (auto r = read_file(p); !r)
                error(*f.find(key), f.name(key) + " '" + p + "' " + (r.error().code ? "cannot be read: " : "") + reason(r.error()));
        }
        return p;
    }
    std::string resolve(const std::string& p) const {
        if (p.empty() || p.front() == '/' || dir_.empty()) return p;
        return (dir_ / p).string();
    }

    // The secret `s` of section `f`: the value, `<key>_file`, $env, then the systemd credential. nullopt
    // when none gives it (or after an error, then `reported` is set). A *_file that cannot be read falls
    // through to the environment and the credential, and is an error only when they do not give it either:
    // the packaged unit runs as a DynamicUser that cannot read /etc/bluetti-bridge/account.password and
    // gets it as the credential bluetti-password instead (systemd/bluetti-bridge.service).
    std::optional<std::string> secret(const Fields& f, const SecretSource& s, bool& reported) {
        const std::string file_key = std::string(s.key) + "_file";
        const Entry* value = f.find(s.key);
        const Entry* file = f.find(file_key);
        reported = true;  // each early return follows an error
        if (value && file) {
            error(*file, "give " + f.name(s.key) + " or " + f.name(file_key) + ", not both");
            return std::nullopt;
        }
        if (value) {
            auto v = text(f, s.key);
            if (v && v->empty()) error(*value, f.name(s.key) + " is empty");
            if (!v || v->empty()) return std::nullopt;
            reported = false;
            return v;
        }
        std::string p;
        util::FileError file_error;
        if (file) {
            p = path(f, file_key, false);
            if (p.empty()) return std::nullopt;
            auto r = read_file(p, util::kMaxSecretFileBytes);
            if (!r && r.error().code == 0) {  // a FIFO, a device, too large: never a secret, whatever else is given
                error(*file, f.name(file_key) + " '" + p + "' " + r.error().message);
                return std::nullopt;
            }
            if (r) {
                std::string v = strip_one_newline(std::move(r).value());
                if (v.empty()) error(*file, f.name(file_key) + " '" + p + "' is empty");
                if (v.empty()) return std::nullopt;
                reported = false;
                return v;
            }
            file_error = r.error();
        }
        auto v = from_outside(f, s, reported);
        if (!v && !reported && file) {
            error(*file, f.name(file_key) + " '" + p + "' cannot be read: " + reason(file_error));
            reported = true;
        }
        return v;
    }
    // $env, then $CREDENTIALS_DIRECTORY/<credential>; empty values count as not given. `failed` is set
    // when the credential exists but cannot be read.
    std::optional<std::string> from_outside(const Fields& f, const SecretSource& s, bool& failed) {
        failed = false;
        if (auto v = env_.get(std::string(s.env)); v && !v->empty()) return v;
        const auto dir = env_.get("CREDENTIALS_DIRECTORY");
        if (!dir || dir->empty()) return std::nullopt;
        const std::string cred = *dir + "/" + std::string(s.credential);
        auto r = read_file(cred, util::kMaxSecretFileBytes);
        if (!r && r.error().code != ENOENT) {
            error(f.mark, "systemd credential '" + cred + "' " + (r.error().code ? "cannot be read: " : "") + reason(r.error()));
            failed = true;
        }
        if (!r || strip_one_newline(*r).empty()) return std::nullopt;
        return strip_one_newline(std::move(r).value());
    }
    std::string where_to_give(const Fields& f, const SecretSource& s) const {
        return "give " + f.name(s.key) + " or " + f.name(std::string(s.key) + "_file") + ", set $" + std::string(s.env) +
               ", or provide the systemd credential '" + std::string(s.credential) + "'";
    }
    // A required secret: an error naming its sources when none gives it.
    std::string required_secret(const Fields& f, const SecretSource& s, const YAML::Mark& mark, const std::string& why) {
        bool reported = false;
        auto v = secret(f, s, reported);
        if (!v && !reported) error(mark, f.name(s.key) + " is missing (" + why + "): " + where_to_give(f, s));
        return v.value_or("");
    }

    std::optional<std::string> env(const std::string& name) const { return env_.get(name); }

private:
    struct Error {
        std::pair<int, int> position;  // line, column
        std::string text;
    };
    std::string file_;
    const ConfigEnvironment& env_;
    std::filesystem::path dir_;
    std::vector<Error> errors_;
};

}  // namespace bluetti::app::config_detail
