#include "bluetti/cloud/device_locator.hpp"

#include <algorithm>

#include "bluetti/cloud/pack_nodes.hpp"
#include "bluetti/log.hpp"

namespace bluetti::cloud {

std::vector<Place> places_to_look(const LocatorOptions& options) {
    if (options.configured_slave) return {Place{options.envelope, *options.configured_slave}};
    std::vector<Place> places;
    auto add = [&places](Place p) {
        if (std::find(places.begin(), places.end(), p) == places.end()) places.push_back(p);
    };
    add({options.envelope, options.slave});
    for (std::uint8_t s : options.probe_slaves) add({options.envelope, s});
    add({codec::Envelope::v1, 1});
    add({codec::Envelope::v1, 0});
    return places;
}

DeviceLocator::DeviceLocator(DeviceChannel& channel, std::string name, LocatorOptions options)
    : channel_(channel), name_(std::move(name)), options_(std::move(options)), places_(places_to_look(options_)) {
    channel_.set_envelope(place().envelope);
    set_packs({slave()});
}

void DeviceLocator::note_answer() {
    if (answered_) return;
    answered_ = true;
    log::get(options_.log_area)->info("{}: answering at slave {} ({} envelope)", name_, int(slave()), codec::to_string(place().envelope));
}

bool DeviceLocator::core_poll_timed_out() {
    if (answered_ || index_ + 1 >= places_.size()) return false;
    ++index_;
    channel_.set_envelope(place().envelope);
    auto slaves = pack_slaves_;
    slaves[0] = slave();  // the expansions stay where NODE_INFO put them
    set_packs(std::move(slaves));
    log::get(options_.log_area)
        ->info("{}: no answer yet; trying slave {} with the {} envelope", name_, int(slave()), codec::to_string(place().envelope));
    return true;
}

void DeviceLocator::set_packs(std::vector<std::uint8_t> slaves) {
    pack_slaves_ = std::move(slaves);
    channel_.set_pack_slaves(pack_slaves_);
}

void DeviceLocator::learn_nodes(const BlockData& node_info) {
    packs_known_ = true;
    auto slaves = pack_slaves_from_nodes(node_info.decoded, slave());
    if (slaves == pack_slaves_) return;
    const bool added = slaves.size() > pack_slaves_.size();
    set_packs(std::move(slaves));
    log::get(options_.log_area)->info("{}: {} battery pack(s) found", name_, pack_slaves_.size());
    if (added && packs_added_) packs_added_();
}

void DeviceLocator::read_nodes(DeviceChannel::Callback<BlockData> done) {
    channel_.query_nodes(slave(), [this, done = std::move(done)](Result<BlockData, ChannelError> r) {
        if (r) learn_nodes(*r);
        done(std::move(r));
    });
}

void DeviceLocator::when_packs_known(std::function<void(Result<Ok, ChannelError>)> then) {
    if (packs_known_) return then(Ok{});
    if (!options_.has_packs) {
        packs_known_ = true;
        set_packs({slave()});
        return then(Ok{});
    }
    channel_.query_nodes(slave(), [this, then = std::move(then)](Result<BlockData, ChannelError> r) {
        if (r) {
            learn_nodes(*r);
        } else if (r.error().code == ChannelErrc::unsupported) {
            packs_known_ = true;
            set_packs({slave()});
        } else {
            auto e = r.error();
            e.message = "the list of battery packs (NODE_INFO) could not be read: " + e.message;
            return then(fail(std::move(e)));
        }
        then(Ok{});
    });
}

void DeviceLocator::pack_slave(int pack, DeviceChannel::Callback<std::uint8_t> done) {
    if (pack == 1) return done(slave());
    // Another pack is read at its own slave; one the device does not have is an error, never a
    // read of the device's own pack under another pack's name.
    when_packs_known([this, pack, done = std::move(done)](Result<Ok, ChannelError> known) {
        if (!known) return done(fail(known.error()));
        if (pack < 1 || static_cast<std::size_t>(pack) > pack_slaves_.size()) {
            std::string message = "no battery pack ";
            message.append(std::to_string(pack)).append(": the device reports ");
            message.append(std::to_string(pack_slaves_.size())).append(" pack(s)");
            return done(fail(ChannelError{ChannelErrc::bad_request, 0, std::move(message)}));
        }
        done(pack_slaves_[static_cast<std::size_t>(pack) - 1]);
    });
}

}  // namespace bluetti::cloud
