// One simulated power station: answers the Modbus requests the bridge sends over the cloud broker
// the way a real V2 device does (docs/protocol.md §3, §4), from a physical model (physics.hpp) and a
// settings register file (settings.hpp), with seeded fault injection.
//
// Pure logic, separate from I/O so it can be unit-tested without a broker: handle() takes an MQTT
// payload and returns what to publish (or nothing), pushes() the unsolicited frames. The time comes
// from a clock passed in (the wall clock in the program, any instant in the tests).
//
//   slave 0 (the profile's slave)  every block of §6 the model has; FC 06 writes; NODE_INFO (AP300)
//   slave 51 (AP300 only)          6100/6300 of the B300 expansion pack (pack 2)
//   any other slave                silence, like a real device
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/hex.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/result.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"
#include "sim/device_spec.hpp"
#include "sim/physics.hpp"
#include "sim/rng.hpp"
#include "sim/settings.hpp"

namespace bluetti::sim {

inline constexpr std::uint8_t kExpansionPackSlave = 51;
inline constexpr std::uint16_t kNodeInfoBlock = 21000;

// Fault injection, drawn per request from the device's seeded generator (percentages 0–100).
struct FaultConfig {
    double drop_pct = 0;                 // no answer (a write is not applied either)
    double exception_pct = 0;            // exception 04 "device failure" (a write is not applied)
    double bad_crc_pct = 0;              // the answer's CRC is inverted
    double short_reply_pct = 0;          // FC 03: fewer registers than asked, but at least min_len (valid)
    std::chrono::milliseconds delay{0};  // every answer is published this much later
    bool silent = false;                 // never answer (pushes stop too)
    int lose_echoes = 0;                 // the first N FC 06 writes are applied but their echo is lost
};

struct FaultDraw {
    bool drop = false;
    bool exception = false;
    bool bad_crc = false;
    bool short_reply = false;
};
// Always four draws in this order, so one fault's percentage does not shift the others' sequence.
FaultDraw draw_faults(Rng& rng, const FaultConfig& faults);

// What one request comes to.
struct Exchange {
    std::optional<Bytes> reply;          // payload for the reply topic; none = silence
    std::chrono::milliseconds delay{0};  // publish it after this long
    bool forbidden_write = false;        // a write the bridge must never send (§8)
    std::string summary;                 // one log line: request → answer
};

struct DeviceCounters {
    std::uint64_t requests = 0;
    std::uint64_t replies = 0;
    std::uint64_t unanswered = 0;
    std::uint64_t exceptions = 0;
    std::uint64_t writes = 0;            // FC 06 writes applied
    std::uint64_t forbidden_writes = 0;  // FC 06/16 to a register outside §8's whitelist
    std::uint64_t pushes = 0;
};

class SimDevice {
public:
    using Clock = std::function<TimePoint()>;

    // `schemas` are the built-in ones; the device applies its profile's overrides.
    static Result<std::unique_ptr<SimDevice>, std::string> create(const DeviceSpec& spec, const profile::ProfileSet& profiles,
                                                                  const schema::SchemaRegistry& schemas, Clock clock, std::uint64_t seed,
                                                                  FaultConfig faults = {});

    const DeviceIdentity& identity() const { return id_; }
    const profile::Profile& profile() const { return profile_; }
    const schema::SchemaRegistry& schemas() const { return schemas_; }
    std::uint8_t slave() const { return profile_.slave; }
    const SettingsFile& settings() const { return settings_; }
    const DeviceCounters& counters() const { return counters_; }

    bool serves_slave(std::uint8_t slave) const;
    // Pack number of a per-pack block read at `slave` (1 = main unit's own pack, 2 = slave 51).
    int pack_of_slave(std::uint8_t slave) const;
    // True when an FC 03 read of `block` at `slave` is answered with data.
    bool has_block(std::uint16_t block, std::uint8_t slave) const;
    // The block at `slave` whose registers include `reg`: a read may start inside a block, as the
    // vendor app's reads can (a Modbus register map has no notion of blocks).
    std::optional<std::uint16_t> block_containing(std::uint16_t reg, std::uint8_t slave) const;
    // Registers the device has in a block: a read of more gets this many (docs/protocol.md §4.5).
    std::uint16_t block_registers(std::uint16_t block) const;

    // The model's state at the clock's current time.
    Snapshot snapshot();
    // The decoded values the device means for a block now (tests: encode → decode gives them back).
    schema::ValueMap intended_values(std::uint16_t block, std::uint8_t slave);
    // block_registers(block) registers of data for those values.
    Result<Bytes, std::string> block_data(std::uint16_t block, std::uint8_t slave);

    // One request payload (V2 or V1 envelope) in, the answer out (same envelope as the request).
    Exchange handle(ByteSpan payload);
    // Unsolicited FC 16 pushes (request format, start = block) of blocks 100 and 1300.
    std::vector<Bytes> pushes();

private:
    Result<Bytes, std::string> encoded_block(std::uint16_t block, std::uint8_t slave);
    void mark_unimplemented(std::uint16_t block, Bytes& data) const;
    SimDevice(DeviceIdentity id, profile::Profile profile, schema::SchemaRegistry schemas, Clock clock, std::uint64_t seed,
              FaultConfig faults);

    DeviceIdentity id_;
    profile::Profile profile_;
    schema::SchemaRegistry schemas_;
    Clock clock_;
    FaultConfig faults_;
    int lost_echoes_ = 0;
    Rng rng_;
    PowerModel model_;
    SettingsFile settings_;
    DeviceCounters counters_;
    double pack_voltage_scale_ = 0.01;

    struct Answer {
        std::optional<Bytes> rtu;
        std::string text;
        bool exception = false;
    };
    Answer answer(ByteSpan rtu, const codec::Frame& frame, bool short_reply);
    Answer answer_read(const codec::Frame& frame, bool short_reply);
    std::size_t short_reply_registers(std::uint16_t block, std::size_t offset, std::size_t registers);
    Answer answer_write(ByteSpan rtu, const codec::Frame& frame);
    Answer answer_write_multiple(const codec::Frame& frame);
    Answer exception(std::uint8_t slave, std::uint8_t function, std::uint8_t code, std::string text);
    bool is_forbidden_write(const codec::Frame& frame) const;
    Bytes envelope(codec::Envelope envelope, const Bytes& rtu);
    Exchange unanswered(Exchange ex, std::string summary);
    Exchange deliver(Exchange ex, Answer answer, codec::Envelope kind, bool bad_crc);
};

}  // namespace bluetti::sim
