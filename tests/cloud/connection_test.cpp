// cloud::Connection without a network: what open() says about a certificate or a broker address
// it cannot use, before any socket exists. The flows with a broker and the REST stand-in are in
// the system tests (cloud, secrets, sdk, service).
#include <doctest/doctest.h>

#include "bluetti/cloud/connection.hpp"

using namespace bluetti;
using namespace bluetti::cloud;

namespace {
std::optional<Result<Ok, ConnectionError>> open_once(ConnectionOptions options) {
    EventLoop loop;
    Connection connection(loop, std::move(options));
    std::optional<Result<Ok, ConnectionError>> got;
    connection.open([&](Result<Ok, ConnectionError> r) { got.emplace(std::move(r)); });
    return got;  // certificate mode answers at once, without running the loop
}
}  // namespace

TEST_CASE("connection: an unusable PKCS#12 in certificate mode is a certificate error, at once") {
    ConnectionOptions o;
    o.pkcs12 = Bytes{0x30, 0x03, 0x02, 0x01, 0x03};  // DER, but no PKCS#12
    o.pkcs12_password = "secret";
    o.broker = "127.0.0.1:18760";
    auto got = open_once(o);
    REQUIRE(got.has_value());
    REQUIRE_FALSE(got->ok());
    CHECK(got->error().code == ConnectionErrc::certificate);
    CHECK_FALSE(got->error().message.empty());
}

TEST_CASE("connection: a broker that is no host:port is refused before the certificate is read") {
    ConnectionOptions o;
    o.pkcs12 = Bytes{0x30, 0x03, 0x02, 0x01, 0x03};
    o.broker = "mqtt://127.0.0.1:18760";
    auto got = open_once(o);
    REQUIRE(got.has_value());
    REQUIRE_FALSE(got->ok());
    CHECK(got->error().code == ConnectionErrc::broker);
    CHECK(got->error().message.find("mqtt://127.0.0.1:18760") != std::string::npos);
}

TEST_CASE("connection: devices need open() first, and a topic pattern with an unknown placeholder is refused") {
    EventLoop loop;
    ConnectionOptions o;
    o.request_topic = "SUB/{model}/{nope}";
    Connection connection(loop, o);
    const auto schemas = *schema::SchemaRegistry::builtin();
    DeviceRecord d;
    d.sn = "AP3002616113487436";
    d.sub_sn = "2616113487436";
    auto added = connection.add_device(d, "AP300", schemas, ChannelOptions{}, LocatorOptions{});
    REQUIRE_FALSE(added.ok());
    CHECK(added.error().find("nope") != std::string::npos);
    CHECK(connection.response_topic(d.sn).empty());
    CHECK_FALSE(connection.up());
    connection.start();  // no TLS context yet: nothing starts
    CHECK(connection.link_status().state == CloudLink::State::stopped);
}

TEST_CASE("connection: each device gets a locator beside its channel, which puts the channel at the first place to look") {
    EventLoop loop;
    Connection connection(loop, ConnectionOptions{});
    const auto schemas = *schema::SchemaRegistry::builtin();
    DeviceRecord d;
    d.sn = "AP3002616113487436";
    d.sub_sn = "2616113487436";
    LocatorOptions where;
    where.envelope = codec::Envelope::v1;
    where.slave = 1;
    where.configured_slave = 3;
    auto added = connection.add_device(d, "AP300", schemas, ChannelOptions{}, where);
    REQUIRE(added.ok());
    REQUIRE(added->channel != nullptr);
    REQUIRE(added->locator != nullptr);
    CHECK(&added->locator->channel() == added->channel);
    CHECK(added->locator->slave() == 3);
    CHECK(added->channel->options().envelope == codec::Envelope::v1);
    CHECK(connection.response_topic(d.sn) == "PUB/AP300/2616113487436");
}
