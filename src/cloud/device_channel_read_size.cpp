// DeviceChannel's read sizes (device_channel.hpp): the search for the largest read a device
// answers after it refused a longer one with exception 02, kept per (block, slave) for the session.
#include <algorithm>

#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"

namespace bluetti::cloud {

std::optional<std::uint16_t> DeviceChannel::reduced_read_size(std::uint16_t block, std::uint8_t slave) const {
    const auto it = read_sizes_.find({block, slave});
    if (it == read_sizes_.end() || it->second.answered == 0) return std::nullopt;
    return it->second.answered;
}

// The fewest registers a read of the block may ask for: its schema's shortest reply.
std::uint16_t DeviceChannel::minimum_registers(const schema::BlockSchema& schema) {
    return static_cast<std::uint16_t>(std::max(1, (schema.min_len + 1) / 2));
}

void DeviceChannel::set_read_size(Request& r, std::uint16_t count) {
    r.count = count;
    r.payload = codec::wrap(options_.envelope, r.block, *codec::build_read_request(r.slave, r.block, count));
    r.wire_count = count;
    r.wire_payload = r.payload;
}

// The size to read next: what the caller asked for, unless the device refused that size; then a
// bisection between the largest size answered (or the minimum) and the smallest refused.
std::uint16_t DeviceChannel::size_to_try(const Request& r) const {
    const auto it = read_sizes_.find({r.block, r.slave});
    if (it == read_sizes_.end() || r.requested < it->second.refused) return r.requested;
    const ReadSize& size = it->second;
    const auto low = std::max(size.answered, minimum_registers(*r.schema));
    if (size.refused - low <= 1) return low;
    return static_cast<std::uint16_t>(low + (size.refused - low) / 2);
}

// Sends the read in flight again at its new size, as a new read (no retry, no confirmation yet).
void DeviceChannel::restart_in_flight() {
    Request& r = *in_flight_;
    candidates_.clear();
    r.attempts = 1;
    r.confirmations = 0;
    if (timer_) scheduler_.cancel(timer_);
    timer_ = 0;
    transmit();
}

// Exception 02 (believed) to a read of `refused` registers: true when the read is shrunk and sent
// again, or the largest reply found while searching is delivered; false when the refusal is of the
// minimum size (the block is not there) or contradicts a size already answered.
bool DeviceChannel::refusal_shrinks(const Request& r, std::uint16_t refused) {
    if (refused <= minimum_registers(*r.schema)) return false;
    ReadSize& size = read_sizes_[{r.block, r.slave}];
    if (refused <= size.answered) return false;
    size.refused = size.refused ? std::min(size.refused, refused) : refused;
    const std::uint16_t next = size_to_try(r);
    if (best_so_far_ && next <= size.answered) {
        BlockData best = std::move(*best_so_far_);
        finish_block(std::move(best));
        return true;
    }
    set_read_size(*in_flight_, next);
    restart_in_flight();
    return true;
}

}  // namespace bluetti::cloud
