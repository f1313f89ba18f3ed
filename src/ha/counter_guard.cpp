// CounterGuard (counter_guard.hpp): Home Assistant reads any decrease of a total_increasing sensor
// as a meter reset and counts the whole total again (ha-discovery.md §9). A lower reading is held
// back once; only a second lower reading (a genuine reset) is published. The last published values
// are kept in a small JSON file {"<serial>/<key>": value} so a restart does not forget them.
#include "bluetti/ha/counter_guard.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "bluetti/log.hpp"

namespace bluetti::ha {

namespace {

// A confirming read may sit this far above the held-back one (one step of a 0.1 kWh counter,
// with room for rounding) and still confirm it.
constexpr double kConfirmTolerance = 0.05;

std::optional<double> numeric(const schema::Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v))
        if (std::isfinite(*d)) return *d;
    return std::nullopt;
}

// The published value in the field's own type: integers stay integers.
schema::Value as_field_value(const schema::Value& original, double published) {
    if (std::holds_alternative<std::int64_t>(original)) return static_cast<std::int64_t>(std::llround(published));
    return published;
}

bool write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

CounterGuard::CounterGuard(std::filesystem::path file) : file_(std::move(file)) {
    if (file_.empty()) return;
    std::error_code ec;
    if (!std::filesystem::exists(file_, ec)) return;
    std::ifstream in(file_);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
        log::get("ha")->warn("counter file {}: cannot read it; starting without stored counters", file_.string());
        return;
    }
    const auto doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
        log::get("ha")->warn("counter file {}: not a JSON object; starting without stored counters", file_.string());
        return;
    }
    for (const auto& [id, value] : doc.items()) {
        if (!value.is_number()) continue;
        const double v = value.get<double>();
        if (std::isfinite(v)) counters_[id].published = v;
    }
}

CounterGuard::Verdict CounterGuard::filter(const std::string& serial, schema::DecodedBlock& block) {
    Verdict verdict;
    for (schema::DecodedField& field : block.fields) {
        if (!field.spec || field.spec->state_class != "total_increasing") continue;
        const auto value = numeric(field.value);
        if (!value) continue;
        const std::string id = serial + "/" + field.key;
        auto it = counters_.find(id);
        if (it == counters_.end()) {  // first sight: publish as is
            counters_[id].published = *value;
            dirty_ = true;
            continue;
        }
        Counter& c = it->second;
        if (*value >= c.published) {
            if (*value != c.published) dirty_ = true;
            c.published = *value;
            c.pending_lower = false;
            continue;
        }
        if (c.pending_lower && *value <= c.pending_value + kConfirmTolerance) {
            log::get("ha")->warn("{}: {} went down from {} to {} on two reads in a row; accepting it as a counter reset", serial, field.key,
                                 c.published, *value);
            c.published = *value;
            c.pending_lower = false;
            dirty_ = true;
            ++verdict.accepted;
            continue;
        }
        log::get("ha")->info("{}: {} read {} below the published {}; holding it back until a second read confirms it", serial, field.key,
                             *value, c.published);
        c.pending_lower = true;
        c.pending_value = *value;
        field.value = as_field_value(field.value, c.published);
        ++verdict.held;
    }
    return verdict;
}

void CounterGuard::save() const {
    if (!dirty_) return;
    if (file_.empty()) {
        dirty_ = false;
        return;
    }
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& [id, c] : counters_) doc[id] = c.published;
    const std::string text = doc.dump(1) + "\n";

    std::error_code ec;
    if (file_.has_parent_path()) std::filesystem::create_directories(file_.parent_path(), ec);
    const std::string temp = file_.string() + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        log::get("ha")->warn("counter file {}: cannot write: {}", temp, std::strerror(errno));
        return;
    }
    ::fchmod(fd, 0600);  // an older temp file may have had other bits
    const bool ok = write_all(fd, text) && ::fsync(fd) == 0;
    const int saved_errno = errno;
    ::close(fd);
    if (!ok || std::rename(temp.c_str(), file_.c_str()) != 0) {
        log::get("ha")->warn("counter file {}: cannot write: {}", file_.string(), std::strerror(ok ? errno : saved_errno));
        ::unlink(temp.c_str());
        return;
    }
    dirty_ = false;
}

}  // namespace bluetti::ha
