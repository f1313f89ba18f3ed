// DeviceLocator on a manual clock: a real DeviceChannel whose sends are recorded, NODE_INFO replies
// built with the built-in schema. Where a device is looked for (docs/protocol.md §7.3), when the
// locator moves on, and how battery packs are learnt and numbered for the daemon and the SDK.
#include "bluetti/cloud/device_locator.hpp"

#include <doctest/doctest.h>

#include "bluetti/schema/codec.hpp"
#include "cloud/channel_fixture.hpp"
#include "cloud/node_info_data.hpp"
#include "log_capture.hpp"

using namespace bluetti;
using namespace bluetti::cloud;
using namespace std::chrono_literals;

namespace {

const std::string kSerial = "AP3002616113487436";

using test::Node;

// The FC 16 answer (in request format) of a device at `slave` whose NODE_INFO lists `nodes`.
Bytes node_info_reply(const schema::SchemaRegistry& schemas, std::uint8_t slave, const std::vector<Node>& nodes) {
    const schema::BlockSchema* node_info = schemas.find(kNodeInfoBlock);
    REQUIRE(node_info);
    return test::v2_reply(*codec::build_write_multiple(slave, kNodeInfoBlock, test::node_info_data(*node_info, nodes)));
}

struct Sent {
    codec::Envelope envelope;
    std::uint8_t slave;
    std::uint16_t address;
};
Sent parse_sent(const Bytes& payload) {
    auto unwrapped = codec::unwrap(payload);
    REQUIRE(unwrapped.ok());
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::request);
    REQUIRE(frame.ok());
    return {unwrapped->envelope, frame->slave, frame->address};
}

// An Apex 300 as its profile places it: slave 0 in V2, probe slaves 0 and 1, NODE_INFO polled.
LocatorOptions apex(std::optional<std::uint8_t> configured = std::nullopt) {
    LocatorOptions o;
    o.envelope = codec::Envelope::v2;
    o.slave = 0;
    o.probe_slaves = {0, 1};
    o.configured_slave = configured;
    o.has_packs = true;
    return o;
}

std::vector<Place> places(std::initializer_list<Place> list) {
    return list;
}

}  // namespace

TEST_CASE("locator: a configured slave is the only place to look, in the profile's envelope") {
    LocatorOptions o = apex(7);
    o.envelope = codec::Envelope::v1;
    CHECK(places_to_look(o) == places({{codec::Envelope::v1, 7}}));
}

TEST_CASE("locator: without a configured slave, the profile's slave, its probe slaves, then V1 at 1 and 0, each once") {
    CHECK(places_to_look(apex()) ==
          places({{codec::Envelope::v2, 0}, {codec::Envelope::v2, 1}, {codec::Envelope::v1, 1}, {codec::Envelope::v1, 0}}));
    LocatorOptions v1;
    v1.envelope = codec::Envelope::v1;
    v1.slave = 1;
    v1.probe_slaves = {1, 0, 0};
    CHECK(places_to_look(v1) == places({{codec::Envelope::v1, 1}, {codec::Envelope::v1, 0}}));
}

TEST_CASE("locator: the channel starts at the first place, with one pack at its slave") {
    test::Fixture f;
    LocatorOptions o = apex(5);
    o.envelope = codec::Envelope::v1;
    DeviceLocator locator(*f.channel, kSerial, o);
    CHECK(f.channel->options().envelope == codec::Envelope::v1);
    CHECK(locator.slave() == 5);
    CHECK(locator.pack_slaves() == std::vector<std::uint8_t>{5});
    CHECK_FALSE(locator.packs_known());
    locator.read_nodes([](auto) {});
    REQUIRE(f.sent.size() == 1);
    const Sent query = parse_sent(f.sent[0]);
    CHECK(query.envelope == codec::Envelope::v1);
    CHECK(query.slave == 5);
    CHECK(query.address == kNodeInfoBlock);
}

TEST_CASE("locator: a timed-out core poll moves a device that never answered to the next place, and is logged") {
    test::Fixture f;
    test::LogCapture log("cloud");
    DeviceLocator locator(*f.channel, kSerial, apex());
    CHECK(locator.core_poll_timed_out());
    CHECK(locator.place() == Place{codec::Envelope::v2, 1});
    CHECK(f.channel->options().envelope == codec::Envelope::v2);
    CHECK(locator.core_poll_timed_out());
    CHECK(locator.place() == Place{codec::Envelope::v1, 1});
    CHECK(f.channel->options().envelope == codec::Envelope::v1);
    CHECK(locator.pack_slaves() == std::vector<std::uint8_t>{1});
    CHECK(locator.core_poll_timed_out());
    CHECK(locator.place() == Place{codec::Envelope::v1, 0});
    CHECK_FALSE(locator.core_poll_timed_out());  // the last place: it stays
    CHECK(locator.place() == Place{codec::Envelope::v1, 0});
    const auto lines = log.at_level(spdlog::level::info);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == kSerial + ": no answer yet; trying slave 1 with the v2 envelope");
    CHECK(lines[1] == kSerial + ": no answer yet; trying slave 1 with the v1 envelope");
}

TEST_CASE("locator: a device that answered stays where it was found, and a configured slave never moves") {
    test::Fixture f;
    test::LogCapture log("bridge");
    LocatorOptions o = apex();
    o.log_area = "bridge";
    DeviceLocator locator(*f.channel, kSerial, o);
    REQUIRE(locator.core_poll_timed_out());
    CHECK_FALSE(locator.answered());
    locator.note_answer();
    locator.note_answer();  // logged once
    CHECK(locator.answered());
    CHECK_FALSE(locator.core_poll_timed_out());
    CHECK(locator.place() == Place{codec::Envelope::v2, 1});
    const auto lines = log.at_level(spdlog::level::info);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1] == kSerial + ": answering at slave 1 (v2 envelope)");

    test::Fixture g;
    DeviceLocator configured(*g.channel, kSerial, apex(1));
    CHECK_FALSE(configured.core_poll_timed_out());
    CHECK(configured.place() == Place{codec::Envelope::v2, 1});
}

TEST_CASE("locator: a NODE_INFO reply sets the pack slaves on the channel, and only added packs are signalled") {
    test::Fixture f;
    test::LogCapture log("cloud");
    DeviceLocator locator(*f.channel, kSerial, apex());
    int added = 0;
    locator.on_packs_added([&added] { ++added; });
    std::optional<Result<BlockData, ChannelError>> got;
    locator.read_nodes([&](auto r) {
        CHECK(locator.pack_slaves().size() == 3);  // learnt before the caller has the reply
        got.emplace(std::move(r));
    });
    REQUIRE(f.sent.size() == 1);
    f.channel->on_payload(node_info_reply(f.schemas, 0, {{0, 6}, {52, 4005}, {51, 4005}}));
    REQUIRE(got.has_value());
    REQUIRE_MESSAGE(got->ok(), got->error().message);
    CHECK(locator.pack_slaves() == std::vector<std::uint8_t>{0, 51, 52});
    CHECK(locator.packs_known());
    CHECK(added == 1);
    const auto lines = log.at_level(spdlog::level::info);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == kSerial + ": 3 battery pack(s) found");

    // The channel numbers a pushed pack block by the list: slave 51 is pack 2.
    const Bytes pack_data = test::hex(test::trimmed(test::read_data_file("apex300/pack_item_v2.hex")));
    f.channel->on_payload(test::v2_reply(*codec::build_write_multiple(51, 6100, pack_data)));
    REQUIRE(f.pushes.size() == 1);
    CHECK(f.pushes[0].pack == 2);

    locator.learn_nodes(**got);  // the same list again: nothing new
    CHECK(added == 1);
    CHECK(log.at_level(spdlog::level::info).size() == 1);

    locator.read_nodes([](auto) {});
    f.channel->on_payload(node_info_reply(f.schemas, 0, {{0, 6}, {51, 4005}}));  // a pack gone
    CHECK(locator.pack_slaves() == std::vector<std::uint8_t>{0, 51});
    CHECK(added == 1);
}

TEST_CASE("locator: moving on keeps the expansion packs NODE_INFO listed, pack 1 follows the slave") {
    test::Fixture f;
    DeviceLocator locator(*f.channel, kSerial, apex());
    locator.read_nodes([](auto) {});
    f.channel->on_payload(node_info_reply(f.schemas, 0, {{0, 6}, {51, 4005}}));
    REQUIRE(locator.pack_slaves() == std::vector<std::uint8_t>{0, 51});
    REQUIRE(locator.core_poll_timed_out());
    CHECK(locator.pack_slaves() == std::vector<std::uint8_t>{1, 51});
}

TEST_CASE("locator: the packs are read with NODE_INFO once, on the first need of a pack other than 1") {
    test::Fixture f;
    DeviceLocator locator(*f.channel, kSerial, apex());
    std::optional<Result<std::uint8_t, ChannelError>> own;
    locator.pack_slave(1, [&](auto r) { own.emplace(std::move(r)); });
    REQUIRE(own.has_value());
    CHECK(**own == 0);
    CHECK(f.sent.empty());  // pack 1 needs no NODE_INFO

    std::optional<Result<std::uint8_t, ChannelError>> second;
    locator.pack_slave(2, [&](auto r) { second.emplace(std::move(r)); });
    REQUIRE(f.sent.size() == 1);
    CHECK(parse_sent(f.sent[0]).address == kNodeInfoBlock);
    CHECK_FALSE(second.has_value());
    f.channel->on_payload(node_info_reply(f.schemas, 0, {{0, 6}, {51, 4005}}));
    REQUIRE(second.has_value());
    REQUIRE(second->ok());
    CHECK(**second == 51);

    second.reset();
    locator.pack_slave(2, [&](auto r) { second.emplace(std::move(r)); });
    REQUIRE(second.has_value());
    CHECK(**second == 51);
    CHECK(f.sent.size() == 1);  // known: not asked again
}

TEST_CASE("locator: a pack the device does not have is a bad_request, never its own pack") {
    test::Fixture f;
    DeviceLocator locator(*f.channel, kSerial, apex());
    locator.read_nodes([](auto) {});
    f.channel->on_payload(node_info_reply(f.schemas, 0, {{0, 6}, {51, 4005}}));
    for (int pack : {3, 0, -1}) {
        std::optional<Result<std::uint8_t, ChannelError>> got;
        locator.pack_slave(pack, [&](auto r) { got.emplace(std::move(r)); });
        REQUIRE(got.has_value());
        REQUIRE_FALSE(got->ok());
        CHECK(got->error().code == ChannelErrc::bad_request);
        CHECK(got->error().message == "no battery pack " + std::to_string(pack) + ": the device reports 2 pack(s)");
    }
    CHECK(f.sent.size() == 1);
}

TEST_CASE("locator: a profile without NODE_INFO has one pack, known without asking") {
    test::Fixture f;
    LocatorOptions o = apex();
    o.has_packs = false;
    DeviceLocator locator(*f.channel, kSerial, o);
    std::optional<Result<std::uint8_t, ChannelError>> got;
    locator.pack_slave(2, [&](auto r) { got.emplace(std::move(r)); });
    REQUIRE(got.has_value());
    REQUIRE_FALSE(got->ok());
    CHECK(got->error().message == "no battery pack 2: the device reports 1 pack(s)");
    CHECK(locator.packs_known());
    CHECK(f.sent.empty());
}

TEST_CASE("locator: NODE_INFO that fails is reported and asked again by the next need") {
    test::Fixture f;
    DeviceLocator locator(*f.channel, kSerial, apex());
    std::optional<Result<Ok, ChannelError>> got;
    locator.when_packs_known([&](auto r) { got.emplace(std::move(r)); });
    for (int i = 0; i < 10 && !got; ++i) f.clock.advance(5s);  // silence: every send times out
    REQUIRE(got.has_value());
    REQUIRE_FALSE(got->ok());
    CHECK(got->error().code == ChannelErrc::timeout);
    CHECK(got->error().message.rfind("the list of battery packs (NODE_INFO) could not be read: ", 0) == 0);
    CHECK_FALSE(locator.packs_known());
    const auto sends = f.sent.size();
    f.clock.advance(5s);  // past the grace after a timeout
    locator.when_packs_known([](auto) {});
    CHECK(f.sent.size() == sends + 1);
}

TEST_CASE("locator: a device that refuses NODE_INFO as unsupported has only its own pack") {
    test::Fixture f;
    // Exception 02 to the shortest read of block 21000 marks it unsupported at slave 0.
    std::optional<Result<BlockData, ChannelError>> read;
    f.channel->read_block(kNodeInfoBlock, 2, 0, 1, [&](auto r) { read.emplace(std::move(r)); });
    f.channel->on_payload(test::v2_reply(codec::build_exception(0, 0x03, 2)));
    REQUIRE(read.has_value());
    REQUIRE(f.channel->unsupported(kNodeInfoBlock, 0));
    const auto sends = f.sent.size();

    DeviceLocator locator(*f.channel, kSerial, apex());
    std::optional<Result<Ok, ChannelError>> got;
    locator.when_packs_known([&](auto r) { got.emplace(std::move(r)); });
    REQUIRE(got.has_value());
    CHECK(got->ok());
    CHECK(locator.packs_known());
    CHECK(locator.pack_slaves() == std::vector<std::uint8_t>{0});
    CHECK(f.sent.size() == sends);
}
