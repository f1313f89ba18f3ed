// CounterStore (counter_guard.hpp): the counters file of all devices, so a restart forgets neither
// a counter's published value nor when it was last read:
//   {"<serial>/<key>": {"value": 168.7, "at_unix_ms": 1718000000000}, …}
// An older file holds plain numbers {"<serial>/<key>": 168.7}; it is still read.
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../util/state_file.hpp"
#include "bluetti/ha/counter_guard.hpp"
#include "bluetti/log.hpp"

namespace bluetti::ha {

namespace {

using Clock = CounterGuard::Clock;

std::optional<std::string> read_text(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return std::nullopt;
    return text.str();
}

// The file's modification time. An old-format file has no read times, but each value in it was
// the latest reading when the file was written, so the time since the write is a lower bound of
// the time since that reading: a safe bound (never looser than the truth), unlike allowing any
// first rise. A real rise it is too tight for is accepted after 3 reads, with a warning.
std::optional<Clock::time_point> modified_at(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return std::nullopt;
    return Clock::from_time_t(st.st_mtime);
}

struct Stored {
    double value = 0;
    std::optional<Clock::time_point> at;
};

// One entry of the file: a number (old format) or {"value": …, "at_unix_ms": …}.
std::optional<Stored> parse_entry(const nlohmann::json& entry, std::optional<Clock::time_point> file_time) {
    const nlohmann::json* value = &entry;
    Stored s{0, file_time};
    if (entry.is_object()) {
        const auto v = entry.find("value");
        if (v == entry.end()) return std::nullopt;
        value = &*v;
        const auto at = entry.find("at_unix_ms");
        if (at != entry.end() && at->is_number_integer() && at->get<std::int64_t>() >= 0)
            s.at = Clock::time_point(std::chrono::milliseconds(at->get<std::int64_t>()));
    }
    if (!value->is_number()) return std::nullopt;
    s.value = value->get<double>();
    if (!std::isfinite(s.value)) return std::nullopt;
    return s;
}

}  // namespace

CounterStore::CounterStore(std::filesystem::path file) : file_(std::move(file)) {
    if (!file_.empty()) load();
}

void CounterStore::load() {
    std::error_code ec;
    if (!std::filesystem::exists(file_, ec)) return;
    const auto text = read_text(file_);
    if (!text) {
        log::get("ha")->warn("counter file {}: cannot read it; starting without stored counters", file_.string());
        return;
    }
    const auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
        log::get("ha")->warn("counter file {}: not a JSON object; starting without stored counters", file_.string());
        return;
    }
    const auto file_time = modified_at(file_);
    for (const auto& [id, entry] : doc.items()) {
        const auto slash = id.find('/');
        if (slash == std::string::npos) continue;  // no device's: never written by the bridge
        if (const auto s = parse_entry(entry, file_time))
            devices_[id.substr(0, slash)].values.counters[id.substr(slash + 1)] = CounterGuard::Counter{s->value, s->at, {}, true};
    }
}

void CounterStore::restore_published(const std::string& serial, const std::string& key, double value) {
    Device& d = devices_[serial];
    if (d.guard)
        d.guard->restore_published(key, value);
    else if (d.values.restore(key, value))
        dirty_ = true;
}

void CounterStore::save() const {
    if (!dirty_) return;
    if (file_.empty()) {
        dirty_ = false;
        return;
    }
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& [serial, d] : devices_) {
        for (const auto& [key, c] : d.guard ? d.guard->values_.counters : d.values.counters) {
            nlohmann::json entry{{"value", c.published}};
            if (c.at) entry["at_unix_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(c.at->time_since_epoch()).count();
            std::string id = serial;
            id += '/';
            id += key;
            doc[id] = std::move(entry);
        }
    }
    const std::string text = doc.dump(1) + "\n";

    if (file_.has_parent_path()) {
        if (auto made = util::make_state_dir(file_.parent_path()); !made) {
            if (write_failures_.failed())
                log::get("ha")->warn("counter file: {} (tried again at every save, logged once an hour)", made.error());
            return;
        }
    }
    if (auto written = util::write_state_file(file_, text); !written) {
        if (write_failures_.failed())
            log::get("ha")->warn("counter file: {} (tried again at every save, logged once an hour)", written.error());
        return;
    }
    if (write_failures_.succeeded()) log::get("ha")->info("counter file {}: written again", file_.string());
    dirty_ = false;
}

}  // namespace bluetti::ha
