// Fuzz entry point: the command path of one station, from an MQTT topic and payload to a frame on
// the cloud or a refusal — parse_command_topic, ControlWriter (size cap, control lookup,
// parse_control_value, rate limit), DeviceChannel::write_register and the codec's FC 06 builder —
// with the device answering (or not) in between. What must hold, whatever the input:
//   - every frame sent is an FC 06 of a register of a control the input enabled, with a value
//     inside that control's whitelist range (never another register, never another value);
//   - every refusal and the writer's last error are valid UTF-8, bounded, and dump as JSON;
//   - every log line is valid UTF-8 and bounded (all areas log at trace into a checking sink);
//   - nothing throws (an exception escaping is a crash here, as it would be in the daemon).
//
// Input: a text header, then binary records.
//   line 1: the profile's model (unknown models get GENERIC_V2, as in the daemon)
//   line 2: the enabled control keys, comma-separated; empty = the profile's defaults
//   records, by op % 4:
//     0 command: topic length (1 byte), topic, payload length (2 bytes, little-endian), payload
//     1 the device echoes the last frame sent (the write is confirmed)
//     2 the clock moves next-byte × 20 ms (rate limit, timeouts and retries)
//     3 the device answers the last frame with an exception (next byte: its code)
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/codec/write_whitelist.hpp"
#include "bluetti/ha/local_session.hpp"
#include "bluetti/profile/controls.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/text.hpp"
#include "bridge/control_writer.hpp"
#include "manual_scheduler.hpp"

namespace {

using namespace bluetti;

constexpr std::string_view kBase = "bluetti";
constexpr std::string_view kSerial = "FUZZ1";
// A refusal names the control, echoes at most text::kEchoBytes of the payload (escaped: up to 4
// bytes each) and may list a select's options: far below this.
constexpr std::size_t kMaxMessage = 1024;

[[noreturn]] void violated(const std::string& what) {
    std::fprintf(stderr, "command path invariant violated: %s\n", what.c_str());
    std::abort();
}

// Valid UTF-8 (what nlohmann::json::dump needs) and bounded.
void require_safe_text(std::string_view text, const char* what) {
    if (!text::valid_utf8(text)) violated(std::string(what) + " is not valid UTF-8");
    if (text.size() > kMaxMessage) violated(std::string(what) + " is " + std::to_string(text.size()) + " bytes long");
}

// And the real thing for what goes into the diagnostics JSON: a dump that throws crashes here.
void require_dumps(const std::string& text, const char* what) {
    require_safe_text(text, what);
    nlohmann::json j;
    j["last_write_error"] = text;
    (void)j.dump();
}

// Every line any area logs, formatted as the daemon would, held to the same rule as a refusal.
class CheckingSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        require_safe_text(std::string_view(msg.payload.data(), msg.payload.size()), "a log line");
    }
    void flush_() override {}
};

// Registered before anything logs: log::get() then finds these and never makes its own.
bool register_checking_loggers() {
    const auto sink = std::make_shared<CheckingSink>();
    for (const char* area : {"cloud", "local", "decode", "ha", "config", "bridge", "app"}) {
        auto logger = std::make_shared<spdlog::logger>(area, sink);
        logger->set_level(spdlog::level::trace);
        spdlog::register_logger(logger);
    }
    return true;
}

struct Shared {
    bool loggers = register_checking_loggers();  // first member: before the loading below
    profile::ProfileSet profiles = *profile::ProfileSet::builtin();
    std::shared_ptr<const schema::SchemaRegistry> base = std::make_shared<schema::SchemaRegistry>(*schema::SchemaRegistry::builtin());
    std::map<std::string, std::shared_ptr<const schema::SchemaRegistry>> by_model;

    // resolve_controls scans every schema row per key: done once per profile and key list.
    std::map<std::pair<std::string, std::vector<std::string>>, std::vector<profile::Control>> resolved;
    std::vector<profile::Control> controls(const profile::Profile& p, const schema::SchemaRegistry& s,
                                           const std::vector<std::string>& keys) {
        if (resolved.size() > 4096) resolved.clear();  // fuzzed key lists: bounded, not a leak
        auto [it, fresh] = resolved.try_emplace({p.model, keys});
        if (fresh) it->second = profile::resolve_controls(s, keys);
        return it->second;
    }

    const schema::SchemaRegistry& schemas(const profile::Profile& p) {
        auto& s = by_model[p.model];
        if (!s) s = std::make_shared<schema::SchemaRegistry>(*profile::apply_profile(*base, p));
        return *s;
    }
};

struct Input {
    const std::uint8_t* at;
    const std::uint8_t* end;
    bool empty() const { return at == end; }
    std::uint8_t byte() { return at == end ? 0 : *at++; }
    std::string_view take(std::size_t n) {
        n = std::min<std::size_t>(n, static_cast<std::size_t>(end - at));
        std::string_view out(reinterpret_cast<const char*>(at), n);
        at += n;
        return out;
    }
    std::string_view line() {
        const std::uint8_t* start = at;
        while (at != end && *at != '\n') ++at;
        std::string_view out(reinterpret_cast<const char*>(start), static_cast<std::size_t>(at - start));
        if (at != end) ++at;
        return out;
    }
};

std::vector<std::string> split_keys(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        if (comma != 0) out.emplace_back(text.substr(0, comma));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

// The frame must be an FC 06 of an enabled register, its value inside the register's range.
void check_frame(const Bytes& payload, const std::set<std::uint16_t>& enabled) {
    auto unwrapped = codec::unwrap(payload);
    if (!unwrapped) violated("sent a payload that is no frame: " + to_hex(payload));
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::request);
    if (!frame || frame->kind != codec::FrameKind::write_single) violated("sent something other than an FC 06: " + to_hex(payload));
    if (!enabled.count(frame->address)) violated("wrote register " + std::to_string(frame->address) + ", not an enabled control");
    const auto* limits = codec::find_writable(frame->address);
    if (!limits || frame->value < limits->min || frame->value > limits->max)
        violated("wrote " + std::to_string(frame->value) + " to register " + std::to_string(frame->address) + ", outside its range");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    static Shared shared;
    Input in{bytes, bytes + size};
    const profile::Profile& profile = shared.profiles.find_or_generic(in.line());
    const schema::SchemaRegistry& schemas = shared.schemas(profile);
    const std::vector<std::string> keys = [&] {
        auto listed = split_keys(in.line());
        return listed.empty() ? profile.controls : listed;
    }();
    // What the input enabled, from the whitelist alone: the oracle does not ask the code under test.
    std::set<std::uint16_t> enabled;
    for (const auto& k : keys)
        if (const auto* w = codec::find_writable(k)) enabled.insert(w->reg);

    test::ManualScheduler clock;
    Bytes last_sent;
    cloud::DeviceChannel channel(clock, schemas, cloud::ChannelOptions{}, [&](const Bytes& p) {
        check_frame(p, enabled);
        last_sent = p;
        return true;
    });
    auto controls = shared.controls(profile, schemas, keys);
    channel.set_writable(profile::control_registers(controls));

    bridge::ControlWriterHooks hooks;
    hooks.write = [&](const profile::Control& c, std::uint16_t value, cloud::DeviceChannel::Callback<cloud::WriteConfirmation> done) {
        channel.write_register(profile.slave, c.limits->reg, value, std::move(done));
    };
    hooks.reread = [](const profile::Control&, std::uint16_t, std::function<void()> done) { done(); };
    bridge::ControlWriter writer(clock, std::string(kSerial), std::move(hooks));
    writer.set_controls(std::move(controls));

    std::string checked_error;
    int steps = 0;
    while (!in.empty() && ++steps < 256) {
        const std::uint8_t op = in.byte() % 4;
        if (op == 0) {
            const std::string_view topic = in.take(in.byte());
            const std::size_t length = in.byte() | static_cast<std::size_t>(in.byte()) << 8;
            const std::string_view payload = in.take(length);
            const auto command = ha::parse_command_topic(kBase, topic);
            if (!command || command->serial != kSerial) continue;  // not this station's: the daemon ignores it
            if (auto refused = writer.command(command->key, payload)) require_dumps(*refused, "a refusal");
        } else if (op == 1) {
            if (auto u = codec::unwrap(last_sent)) channel.on_payload(codec::wrap(codec::Envelope::v2, 0, u->rtu));
        } else if (op == 2) {
            clock.advance(std::chrono::milliseconds(20 * in.byte()));
        } else {
            const std::uint8_t code = in.byte();
            if (auto u = codec::unwrap(last_sent); u && !u->rtu.empty())
                channel.on_payload(codec::wrap(codec::Envelope::v2, 0, codec::build_exception(u->rtu[0], 0x06, code)));
        }
        if (writer.stats().last_error != checked_error) {
            checked_error = writer.stats().last_error;
            require_dumps(checked_error, "the last write error");
        }
    }
    return 0;
}
