// The DeviceChannel unit tests' fixture: a channel on a manual clock whose sends are recorded,
// and the real frames they feed it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bluetti/cloud/device_channel.hpp"
#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "manual_scheduler.hpp"
#include "support.hpp"

namespace bluetti::test {

using namespace std::chrono_literals;

// G1's reply (block 1300, 16 registers, slave 1) and G11's push of block 1300 at slave 0.
inline const char* kG1Reply = "01F80F00000000C0000001032001F400000000000000000000000000000000000000000000000104AC090000345174";
inline const char* kG11Push =
    "01F80F00000000B9000000100514001F3E01F3000000000021000000000000000000000000000000000001035209080025035E000000000000000000000000000000"
    "000000000000000000000000002B07";

inline Bytes v2_reply(const Bytes& rtu) {
    return codec::wrap(codec::Envelope::v2, 0, rtu);
}

// The FC 03 reply `payload` with its last register left out: the answer to a confirmation read,
// which asks for one register fewer than the reply it confirms.
inline Bytes one_register_less(const Bytes& payload) {
    auto unwrapped = codec::unwrap(payload);
    REQUIRE(unwrapped.ok());
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
    REQUIRE(frame.ok());
    const Bytes data(frame->data.begin(), frame->data.end() - 2);
    return v2_reply(*codec::build_read_reply(frame->slave, data));
}

struct Fixture {
    ManualScheduler clock;
    schema::SchemaRegistry schemas = *schema::SchemaRegistry::builtin();
    std::vector<Bytes> sent;
    bool link_up = true;
    cloud::ChannelOptions options;
    std::unique_ptr<cloud::DeviceChannel> channel;
    std::vector<cloud::BlockData> pushes;
    std::vector<std::string> anomalies;

    // `confirm_new_shapes`: off by default, so the matching rules are seen one reply at a time;
    // the first-reply confirmation has its own cases.
    explicit Fixture(bool confirm_new_shapes = false) {
        options.retry = cloud::RetryPolicy{3, 1000ms, 2.0, 10000ms};
        options.request_timeout = 5000ms;
        options.stray_grace = 2000ms;
        // 2013/2206/2233 are listed on purpose: a wrong device set must still not reach the wire.
        options.writable = {2011, 2023, 2013, 2206, 2233};
        options.confirm_new_shapes = confirm_new_shapes;
        channel = std::make_unique<cloud::DeviceChannel>(clock, schemas, options, [this](const Bytes& p) {
            if (!link_up) return false;
            sent.push_back(p);
            return true;
        });
        channel->set_push_handler([this](const cloud::BlockData& d) { pushes.push_back(d); });
        channel->set_anomaly_handler([this](const std::string& a) { anomalies.push_back(a); });
    }
};

}  // namespace bluetti::test
