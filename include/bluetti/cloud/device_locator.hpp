// DeviceLocator: where one power station answers on its DeviceChannel, and where its battery packs
// are, for every user of the channel (the daemon's Station, the SDK's Client), so both look for a
// device and number its packs the same way.
//
// Where: the places to look are tried in order (docs/protocol.md §7.3) — the configured slave
// only, else the profile's slave and probe slaves in its envelope, then the V1 envelope at slaves
// 1 and 0. The locator moves on only when its user says a core poll timed out and the device has
// never answered; once it answered, it stays where it was found.
//
// Packs: pack 1 is the device's own slave, packs 2… the expansion packs a NODE_INFO reply lists
// (cloud/pack_nodes.hpp). A user that polls NODE_INFO learns them from its replies; one that needs
// pack N before any poll (the SDK) asks when_packs_known(), which reads NODE_INFO once.
//
// It never polls on its own, keeps no timer and knows no profile: its user passes plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/result.hpp"

namespace bluetti::cloud {

inline constexpr std::uint16_t kNodeInfoBlock = 21000;

// One place a device may answer at.
struct Place {
    codec::Envelope envelope = codec::Envelope::v2;
    std::uint8_t slave = 0;
    bool operator==(const Place&) const = default;
};

struct LocatorOptions {
    codec::Envelope envelope = codec::Envelope::v2;  // the profile's
    std::uint8_t slave = 0;                          // the profile's
    std::vector<std::uint8_t> probe_slaves;          // the profile's, tried in order after `slave`
    std::optional<std::uint8_t> configured_slave;    // the user's `slave:`: the only place asked
    bool has_packs = false;                          // the profile polls NODE_INFO: expansion packs may exist
    // The logger its lines go to: the daemon keeps them under "bridge", where its users know them.
    std::string log_area = "cloud";
};

// The places to look, in order, each once: the configured slave alone (in the profile's envelope),
// else the profile's slave, its probe slaves, then the V1 envelope at slaves 1 and 0.
std::vector<Place> places_to_look(const LocatorOptions& options);

class DeviceLocator {
public:
    // Puts `channel` at the first place, with one pack. `name` (the serial) starts its log lines.
    DeviceLocator(DeviceChannel& channel, std::string name, LocatorOptions options);
    DeviceLocator(const DeviceLocator&) = delete;
    DeviceLocator& operator=(const DeviceLocator&) = delete;

    DeviceChannel& channel() { return channel_; }
    const Place& place() const { return places_[index_]; }
    std::uint8_t slave() const { return place().slave; }
    const std::vector<Place>& places() const { return places_; }

    // Whether the device has ever answered where the channel looks.
    bool answered() const { return answered_; }
    // Data came from the device: it is where the channel looks (logged the first time).
    void note_answer();
    // A core poll timed out. A device that never answered is then looked for at the next place,
    // if there is one; returns whether it moved.
    bool core_poll_timed_out();

    // Slaves in pack order: pack 1 = own slave, then the expansions NODE_INFO listed.
    const std::vector<std::uint8_t>& pack_slaves() const { return pack_slaves_; }
    // Whether NODE_INFO has answered (or the device has no packs to ask about).
    bool packs_known() const { return packs_known_; }
    // Takes the packs a NODE_INFO reply lists; the listener hears of packs that were not there.
    void learn_nodes(const BlockData& node_info);
    // Called when NODE_INFO lists a battery pack the device did not have.
    void on_packs_added(std::function<void()> handler) { packs_added_ = std::move(handler); }
    // NODE_INFO at the device's own slave; a reply is learnt before `done` has it.
    void read_nodes(DeviceChannel::Callback<BlockData> done);
    // Runs `then` once the packs are known, reading NODE_INFO if they are not yet. A device whose
    // profile polls no NODE_INFO, or that answers it as unsupported, has only its own pack; any
    // other failure is reported, and the next call asks again.
    void when_packs_known(std::function<void(Result<Ok, ChannelError>)> then);
    // The slave of battery pack `pack` (1 = the device's own, at once; others after
    // when_packs_known()); a pack the device does not have is a bad_request error.
    void pack_slave(int pack, DeviceChannel::Callback<std::uint8_t> done);

private:
    DeviceChannel& channel_;
    std::string name_;
    LocatorOptions options_;
    std::vector<Place> places_;
    std::size_t index_ = 0;
    bool answered_ = false;
    std::vector<std::uint8_t> pack_slaves_;
    bool packs_known_ = false;
    std::function<void()> packs_added_;

    void set_packs(std::vector<std::uint8_t> slaves);
};

}  // namespace bluetti::cloud
