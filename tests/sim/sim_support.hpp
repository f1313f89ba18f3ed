// Helpers of the simulator's unit tests: a clock the test moves, devices built from the built-in
// profiles and schemas, request frames built byte by byte (so a test can build the frames the
// codec's own builders refuse, such as writes to 2013), and value comparison within rounding.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <ctime>
#include <initializer_list>
#include <memory>

#include "bluetti/codec/crc.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/registry.hpp"
#include "sim/device.hpp"

namespace bluetti::sim::testing {

// A time the test sets; devices read it through SimDevice::Clock.
struct TestClock {
    TimePoint now;
    SimDevice::Clock clock() {
        return [this] { return now; };
    }
    void advance(std::chrono::seconds s) { now += s; }
};

// A local wall-clock time (the PV curve follows local solar time).
inline TimePoint local_time(int year, int month, int day, int hour, int minute = 0) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_isdst = -1;
    return std::chrono::system_clock::from_time_t(std::mktime(&tm));
}

inline const profile::ProfileSet& profiles() {
    static const auto set = profile::ProfileSet::builtin();
    REQUIRE(set.ok());
    return *set;
}

inline const schema::SchemaRegistry& schemas() {
    static const auto registry = schema::SchemaRegistry::builtin();
    REQUIRE(registry.ok());
    return *registry;
}

inline std::unique_ptr<SimDevice> make_device(const std::string& model, TestClock& clock, FaultConfig faults = {},
                                              std::string sn = "SIM0000000001", std::uint64_t seed = 7) {
    auto device = SimDevice::create(DeviceSpec{model, std::move(sn), ""}, profiles(), schemas(), clock.clock(), seed, faults);
    REQUIRE_MESSAGE(device.ok(), (device.ok() ? "" : device.error()));
    return std::move(*device);
}

// An RTU frame from its bytes before the CRC.
inline Bytes rtu(std::initializer_list<std::uint8_t> head) {
    Bytes frame(head);
    codec::append_crc(frame);
    return frame;
}

inline Bytes read_frame(std::uint8_t slave, std::uint16_t start, std::uint16_t count) {
    return rtu({slave, 0x03, static_cast<std::uint8_t>(start >> 8), static_cast<std::uint8_t>(start), static_cast<std::uint8_t>(count >> 8),
                static_cast<std::uint8_t>(count)});
}

inline Bytes write_frame(std::uint8_t slave, std::uint16_t reg, std::uint16_t value) {
    return rtu({slave, 0x06, static_cast<std::uint8_t>(reg >> 8), static_cast<std::uint8_t>(reg), static_cast<std::uint8_t>(value >> 8),
                static_cast<std::uint8_t>(value)});
}

inline Bytes v2(std::uint16_t reg, const Bytes& frame) {
    return codec::wrap(codec::Envelope::v2, reg, frame);
}

// A reply payload with its RTU frame (CRC checked) parsed as a device's answer. It owns the bytes
// its spans point into, so it can outlive the Exchange it came from; it can be moved, not copied.
struct Reply {
    Bytes payload;
    codec::Unwrapped unwrapped{};
    codec::Frame frame{};
    Reply() = default;
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    Reply(Reply&&) = default;  // a moved vector keeps its buffer: the spans stay valid
};
inline Reply parse_reply(const Exchange& ex) {
    REQUIRE_MESSAGE(ex.reply.has_value(), ex.summary);
    Reply r;
    r.payload = *ex.reply;
    auto unwrapped = codec::unwrap(r.payload);
    REQUIRE_MESSAGE(unwrapped.ok(), (unwrapped.ok() ? "" : unwrapped.error().message));
    r.unwrapped = *unwrapped;
    auto frame = codec::parse_frame(r.unwrapped.rtu, codec::Direction::response);
    REQUIRE_MESSAGE(frame.ok(), (frame.ok() ? "" : frame.error().message));
    r.frame = *frame;
    return r;
}

inline std::optional<double> number_of(const schema::Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) return *d;
    return std::nullopt;
}

// Equal, or for numbers equal within half a unit of the published precision.
inline bool same_within_rounding(const schema::Value& decoded, const schema::Value& intended, int precision) {
    const auto a = number_of(decoded), b = number_of(intended);
    if (a && b) return std::fabs(*a - *b) <= 0.5 * std::pow(10.0, -precision) + 1e-9;
    return decoded == intended;
}

}  // namespace bluetti::sim::testing
