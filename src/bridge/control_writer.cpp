#include "control_writer.hpp"

#include "bluetti/log.hpp"
#include "bluetti/text.hpp"

namespace bluetti::bridge {

ControlWriter::ControlWriter(Scheduler& scheduler, std::string device, ControlWriterHooks hooks)
    : scheduler_(scheduler), device_(std::move(device)), hooks_(std::move(hooks)) {}

ControlWriter::~ControlWriter() {
    *alive_ = false;
    if (timer_) scheduler_.cancel(timer_);
}

void ControlWriter::set_controls(std::vector<profile::Control> controls) {
    controls_ = std::move(controls);
    for (auto it = pending_.begin(); it != pending_.end();) it = find(it->first) ? std::next(it) : pending_.erase(it);
}

const profile::Control* ControlWriter::find(std::string_view key) const {
    for (const auto& c : controls_)
        if (c.key == key) return &c;
    return nullptr;
}

std::optional<std::string> ControlWriter::command(std::string_view key, std::string_view payload) {
    auto refuse = [this](std::string why) {
        ++stats_.rejected;
        stats_.last_error = why;
        return std::optional<std::string>(std::move(why));
    };
    const profile::Control* control = find(key);
    if (!control) {
        const bool whitelisted = codec::find_writable(key) != nullptr;
        return refuse(text::echo(key) + (whitelisted ? " is not a control enabled for this device" : " is not a control"));
    }
    if (payload.size() > kMaxPayloadBytes)
        return refuse(control->key + ": a payload of " + std::to_string(payload.size()) + " bytes is refused unread (at most " +
                      std::to_string(kMaxPayloadBytes) + ")");
    auto value =
        profile::parse_control_value(*control, payload, hooks_.settings ? hooks_.settings() : std::map<std::string, std::int64_t>{});
    if (!value) return refuse(control->key + ": " + value.error());
    ++stats_.commands;
    pending_[control->key] = *value;  // a burst keeps only the latest value
    pump();
    return std::nullopt;
}

void ControlWriter::pump() {
    if (in_flight_ || pending_.empty()) return;
    const auto now = scheduler_.now();
    auto chosen = pending_.end();
    std::optional<Scheduler::Clock::time_point> earliest;
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        auto last = last_sent_.find(it->first);
        const auto ready_at = last == last_sent_.end() ? now : last->second + kMinInterval;
        if (ready_at <= now) {
            chosen = it;
            break;
        }
        if (!earliest || ready_at < *earliest) earliest = ready_at;
    }
    if (chosen == pending_.end()) {
        if (!timer_ && earliest) {
            timer_ = scheduler_.after(std::chrono::duration_cast<std::chrono::milliseconds>(*earliest - now) + std::chrono::milliseconds(1),
                                      [this] {
                                          timer_ = 0;
                                          pump();
                                      });
        }
        return;
    }
    const profile::Control control = *find(chosen->first);
    const std::uint16_t value = chosen->second;
    pending_.erase(chosen);
    last_sent_[control.key] = now;
    in_flight_ = true;
    log::get("bridge")->info("{}: writing {} = {} (register {})", device_, control.key, value, control.limits->reg);
    hooks_.write(control, value, [this, alive = alive_, control, value](Result<cloud::WriteConfirmation, cloud::ChannelError> r) {
        if (!*alive) return;
        if (r) {
            ++stats_.writes;
            log::get("bridge")->info("{}: {} = {} confirmed by the device in {} ms", device_, control.key, value, r->latency.count());
        } else {
            ++stats_.failures;
            stats_.last_error = control.key + " = " + std::to_string(value) + ": " + r.error().message;
            log::get("bridge")->warn("{}: write of {} = {} failed: {}", device_, control.key, value, r.error().message);
        }
        // Whatever happened, read the settings back: that read is the state Home Assistant gets.
        hooks_.reread(control, value, [this, alive] {
            if (!*alive) return;
            in_flight_ = false;
            pump();
        });
    });
}

}  // namespace bluetti::bridge
