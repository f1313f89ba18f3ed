// Fuzz entry point: an arbitrary sequence of events for one station's DeviceChannel — our reads,
// the clock moving, replies and pushes (well-framed from fuzz data, or raw payloads), other
// clients' reads on the request mirror — and the one promise that matters: every block the
// channel delivers (a read's answer or a push) passes its schema's plausibility ranges. A
// delivered value outside them aborts, and so does any crash, hang or leak.
//
// Input: a stream of (op, argument bytes). Ops, by op % 7:
//   0 read: a block of the AP300 profile's poll groups (next byte picks it), slave 0 or 51
//   1 time: the clock moves next-byte × 20 ms (timeouts, retries, grace periods fire)
//   2 reply: an FC 03 reply at next-byte's slave with the next n bytes as data (valid CRC)
//   3 push: an FC 16 push of a known block with the next n bytes as data (valid CRC)
//   4 raw: the next n bytes as a payload on the reply topic
//   5 mirror: another client's (or our own last) read on the request topic
//   6 exception: an exception to FC 03 at next-byte's slave
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"
#include "manual_scheduler.hpp"

namespace {

using namespace bluetti;

struct Input {
    const std::uint8_t* at;
    const std::uint8_t* end;
    bool empty() const { return at == end; }
    std::uint8_t byte() { return at == end ? 0 : *at++; }
    ByteSpan take(std::size_t n) {
        n = std::min<std::size_t>(n, static_cast<std::size_t>(end - at));
        ByteSpan out(at, n);
        at += n;
        return out;
    }
};

struct Shared {
    profile::ProfileSet profiles = *profile::ProfileSet::builtin();
    const profile::Profile* profile = profiles.find("AP300");
    schema::SchemaRegistry registry = *profile::apply_profile(*schema::SchemaRegistry::builtin(), *profile);
    std::vector<std::pair<std::uint16_t, std::uint16_t>> reads;  // (block, registers) of the poll groups
    Shared() {
        for (const auto& g : profile->groups)
            for (const auto& b : g.blocks)
                if (b.block != 21000) reads.push_back({b.block, b.registers});
    }
};

void require_plausible(const cloud::BlockData& d) {
    if (auto bad = schema::check_plausible(*d.decoded.schema, d.decoded)) {
        std::fprintf(stderr, "delivered an implausible value: %s\n", schema::to_string(*bad).c_str());
        std::abort();
    }
}

Bytes v2(std::uint16_t address, const Result<Bytes, codec::Error>& rtu) {
    return rtu ? codec::wrap(codec::Envelope::v2, address, *rtu) : Bytes{};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    static const Shared shared;
    test::ManualScheduler clock;
    cloud::ChannelOptions options;
    Bytes last_sent;
    cloud::DeviceChannel channel(clock, shared.registry, options, [&](const Bytes& p) {
        last_sent = p;
        return true;
    });
    channel.set_pack_slaves({0, 51});
    channel.set_push_handler(require_plausible);
    Input in{bytes, bytes + size};
    int steps = 0;
    while (!in.empty() && ++steps < 4096) {
        const std::uint8_t op = in.byte() % 7;
        if (op == 0) {
            const auto [block, registers] = shared.reads[in.byte() % shared.reads.size()];
            const std::uint8_t slave = in.byte() & 1 ? 51 : 0;
            channel.read_block(block, registers, slave, slave ? 2 : 1, [](auto r) {
                if (r) require_plausible(*r);
            });
        } else if (op == 1) {
            clock.advance(std::chrono::milliseconds(20 * in.byte()));
        } else if (op == 2) {
            const std::uint8_t slave = in.byte() & 1 ? 51 : 0;
            channel.on_payload(v2(0, codec::build_read_reply(slave, in.take(in.byte()))));
        } else if (op == 3) {
            const auto block = shared.reads[in.byte() % shared.reads.size()].first;
            channel.on_payload(v2(block, codec::build_write_multiple(0, block, in.take(in.byte()))));
        } else if (op == 4) {
            channel.on_payload(in.take(in.byte()));
        } else if (op == 5) {
            const std::uint8_t pick = in.byte();
            if (pick == 0) {
                channel.on_request_seen(last_sent);
            } else {
                const auto [block, registers] = shared.reads[pick % shared.reads.size()];
                const auto count = static_cast<std::uint16_t>(1 + in.byte() % registers);
                channel.on_request_seen(v2(block, codec::build_read_request(0, block, count)));
            }
        } else {
            const std::uint8_t slave = in.byte() & 1 ? 51 : 0;
            channel.on_payload(codec::wrap(codec::Envelope::v2, 0, codec::build_exception(slave, 0x03, in.byte() % 5)));
        }
    }
    return 0;
}
