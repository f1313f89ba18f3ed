// The other cloud client of --app-reads: the vendor app (or a second account) reading the same
// stations through the cloud while the bridge does. Its FC 03 reads go to each device's request
// topic, so the device's answers appear on the reply topic the bridge listens to without the bridge
// having asked; an FC 03 reply carries no register address, so these are the frames the bridge
// must not take for answers to its own requests.
//
// choose_app_read() is the pure part (which read, from a seeded generator, unit-tested);
// AppClient is the I/O: its own mqtt::Session with its own client id on the simulator's EventLoop and
// one timer per device. It never answers and never subscribes: the devices answer these reads
// through the simulator's own session, with its delay and faults, like any other request.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bluetti/event_loop.hpp"
#include "bluetti/hex.hpp"
#include "bluetti/mqtt/session.hpp"
#include "sim/device.hpp"
#include "sim/rng.hpp"

namespace bluetti::sim {

// How long the client waits before each read of a device, uniformly in [min, max].
struct AppReadPeriod {
    std::chrono::milliseconds min{0};
    std::chrono::milliseconds max{0};
};

// --app-reads: "MIN_MS:MAX_MS", or "N" for N:N; 1 <= MIN <= MAX <= 3 600 000 (a wait of 0 would
// publish on every pass of the event loop).
Result<AppReadPeriod, std::string> parse_app_read_period(std::string_view text);

// A block the device answers with data, and the read size the profile polls it with.
struct AppBlock {
    std::uint16_t block = 0;
    std::uint8_t slave = 0;
    std::uint16_t read = 0;  // registers
};

// The profile's poll groups' blocks with a read size (not NODE_INFO, which is a query), those of a
// per-pack group also at the expansion pack's slave, each only where the device has the block.
std::vector<AppBlock> app_blocks(const SimDevice& device);

enum class AppReadKind : std::uint8_t {
    full,     // the block's whole read size from its start
    partial,  // from the block's start, fewer registers
    inside,   // starting inside the block, ending within its read size
};

struct AppRead {
    AppReadKind kind = AppReadKind::full;
    AppBlock block;
    std::uint16_t start = 0;
    std::uint16_t count = 0;
};

// One read: a block of app_blocks() and a kind with equal chances, then the start and count the
// kind allows; none when the device answers no block. Always within [block, block + read).
std::optional<AppRead> choose_app_read(Rng& rng, const SimDevice& device);

// The request as the bridge would send it: an FC 03 frame in the device's envelope.
Result<Bytes, std::string> app_read_payload(const SimDevice& device, const AppRead& read);

class AppClient {
public:
    // `options` are the simulator's broker options with a client id of the app's own.
    AppClient(EventLoop& loop, mqtt::Options options, std::vector<SimDevice*> devices, AppReadPeriod period, std::uint64_t seed);

    // Connects (retrying every second until it works) and starts every device's timer.
    void start();
    void stop();
    std::uint64_t reads_sent() const { return reads_sent_; }

private:
    struct Target {
        SimDevice* device;
        Rng rng;  // one per device, so its reads do not depend on the other devices' timing
    };

    EventLoop& loop_;
    mqtt::Options options_;
    AppReadPeriod period_;
    std::vector<Target> targets_;
    mqtt::Session session_;
    std::uint64_t reads_sent_ = 0;
    bool reconnect_pending_ = false;
    bool stopping_ = false;

    void connect();
    void schedule_reconnect(const std::string& why);
    void wait_then_read(std::size_t target);
    void send_read(Target& target);
};

}  // namespace bluetti::sim
