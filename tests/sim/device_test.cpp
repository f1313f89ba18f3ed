// The simulated device without a broker: every block of every profile reads back as the values the
// device means, settings writes follow docs/protocol.md §8, and every fault does what docs/simulator.md
// says. Requests go in as MQTT payloads, answers come out as MQTT payloads.
#include <set>

#include "bluetti/codec/write_whitelist.hpp"
#include "bluetti/schema/codec.hpp"
#include "sim/block_values.hpp"
#include "sim_support.hpp"
#include "support.hpp"

using namespace bluetti;
using namespace bluetti::sim;
using namespace bluetti::sim::testing;

namespace {

constexpr std::uint16_t kReadBlocks[] = {100, 1100, 1200, 1300, 1400, 1500, 2000, 2200, 6000, 6100, 6300};

// The read size the profile polls a block with (docs/protocol.md §6.3), else the schema's.
std::uint16_t profile_read(const SimDevice& d, std::uint16_t block) {
    for (const profile::PollGroup& g : d.profile().groups)
        for (const profile::BlockRead& r : g.blocks)
            if (r.block == block && r.registers) return r.registers;
    return d.schemas().find(block)->read;
}

// True when the profile makes this intended value absent on purpose: a row that means nothing on
// the model, or a time at or above the model's "not applicable" threshold.
bool absent_by_profile(const schema::FieldSpec& spec, const schema::Value& intended) {
    if (spec.omitted) return true;
    const auto* minutes = std::get_if<std::int64_t>(&intended);
    return spec.not_applicable_from && minutes && *minutes >= *spec.not_applicable_from;
}

// A plain row of the block whose bytes the read did not reach (the time slots past a read of 30).
bool past_the_read(const schema::BlockSchema& schema, const schema::FieldSpec& spec, std::size_t bytes) {
    const bool plain = &spec >= schema.fields.data() && &spec < schema.fields.data() + schema.fields.size();
    return plain && spec.offset + schema::type_width(spec.type, spec.length) > bytes;
}

// Reads `block` × `count` at `slave`, decodes the reply and checks it against intended_values():
// every present decoded field matches, and with `complete` every intended key is present.
void check_read(SimDevice& d, std::uint16_t block, std::uint8_t slave, std::uint16_t count, bool complete) {
    CAPTURE(block);
    CAPTURE(static_cast<int>(slave));
    CAPTURE(count);
    const Exchange ex = d.handle(v2(block, read_frame(slave, block, count)));
    const Reply reply = parse_reply(ex);
    CHECK(reply.unwrapped.envelope == codec::Envelope::v2);
    REQUIRE(reply.unwrapped.rssi.has_value());
    CHECK(*reply.unwrapped.rssi >= -65);
    CHECK(*reply.unwrapped.rssi <= -55);
    REQUIRE(reply.frame.kind == codec::FrameKind::read_reply);
    CHECK(reply.frame.slave == slave);
    CHECK(reply.frame.data.size() == 2u * std::min<std::size_t>(count, d.block_registers(block)));

    const schema::BlockSchema* schema = d.schemas().find(block);
    REQUIRE(schema != nullptr);
    auto decoded = schema::decode(*schema, reply.frame.data, {d.pack_of_slave(slave)});
    REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.error().message));
    CHECK(decoded->unknown_codes.empty());
    const schema::ValueMap intended = d.intended_values(block, slave);
    CHECK_FALSE(intended.empty());
    for (const schema::DecodedField& field : decoded->fields) {
        if (schema::is_absent(field.value)) continue;
        // A register the model does not implement reads its firmware's marker (0x0194), not the value.
        if (d.identity().style.unimplemented.count(static_cast<std::uint16_t>(block + field.spec->offset / 2))) continue;
        CAPTURE(field.key);
        const auto it = intended.find(field.key);
        REQUIRE_MESSAGE(it != intended.end(), "decoded a value the device did not mean: " << field.key);
        CHECK(same_within_rounding(field.value, it->second, field.spec->precision));
    }
    if (!complete) return;
    for (const auto& [key_, value] : intended) {
        const std::string& key = key_;  // a named copy: clang 14 cannot capture a structured binding
        CAPTURE(key);
        const schema::DecodedField* field = decoded->find(key);
        REQUIRE_MESSAGE(field != nullptr, "intended value missing from the schema: " << key);
        if (absent_by_profile(*field->spec, value)) continue;
        if (past_the_read(*schema, *field->spec, reply.frame.data.size())) continue;
        // The profile decodes a "not supported" register as absent, whatever the simulator meant.
        if (d.identity().style.unimplemented.count(static_cast<std::uint16_t>(block + field->spec->offset / 2))) continue;
        CHECK_FALSE(schema::is_absent(field->value));
    }
}

Bytes rtu_of(const Exchange& ex) {
    const Reply r = parse_reply(ex);
    return Bytes(r.unwrapped.rtu.begin(), r.unwrapped.rtu.end());
}

std::uint8_t exception_code(const Exchange& ex) {
    const Reply r = parse_reply(ex);
    REQUIRE(r.frame.kind == codec::FrameKind::exception);
    return r.frame.exception_code;
}

}  // namespace

TEST_CASE("every block of every profile reads back as the values the device means") {
    TestClock clock{local_time(2026, 6, 21, 13, 30)};  // afternoon: the sun shines, loads run
    for (const profile::Profile* p : profiles().all()) {
        CAPTURE(p->model);
        auto d = make_device(p->model, clock);
        for (const std::uint16_t block : kReadBlocks) {
            if (!d->has_block(block, d->slave())) continue;
            check_read(*d, block, d->slave(), d->block_registers(block), true);  // the whole block
            // The profile's read (a model that refuses reads past a block's end is read up to it).
            const std::uint16_t read = d->identity().style.refuses_past_end ? std::min(profile_read(*d, block), d->block_registers(block))
                                                                            : profile_read(*d, block);
            check_read(*d, block, d->slave(), read, false);
            clock.advance(std::chrono::seconds(7));
        }
        if (d->identity().packs > 1) {  // AP300: the B300 expansion pack at slave 51 is pack 2
            check_read(*d, 6100, kExpansionPackSlave, 104, true);
            check_read(*d, 6300, kExpansionPackSlave, 25, true);
        }
    }
}

TEST_CASE("the values are plausible and consistent across blocks") {
    TestClock clock{local_time(2026, 6, 21, 12, 0)};
    auto d = make_device("AP300", clock);
    const auto home = d->intended_values(100, 0);
    const auto cells = d->intended_values(6300, 0);
    const auto pack2 = d->intended_values(6100, kExpansionPackSlave);
    const auto info = d->intended_values(1100, 0);
    CHECK(std::get<std::string>(home.at("device_model")) == "AP300");
    CHECK(std::get<std::string>(home.at("device_serial")) == d->identity().sub_sn);
    const double pack_v = std::get<double>(home.at("pack_voltage"));
    CHECK(pack_v >= 48.0);
    CHECK(pack_v <= 56.0);
    double cell_sum = 0;
    for (int i = 1; i <= 16; ++i) {
        const double cell = std::get<double>(cells.at("battery_pack1_cell" + std::to_string(i) + "_voltage"));
        CHECK(cell > 2.9);
        CHECK(cell < 3.6);
        cell_sum += cell;
    }
    CHECK(cell_sum == doctest::Approx(pack_v).epsilon(1e-9));
    CHECK(std::get<std::string>(pack2.at("battery_pack2_model")) == "B300");
    CHECK(std::get<std::string>(info.at("firmware_arm_version")) == "4011.05");
    // charging status agrees with the sign of the battery current
    const double current = std::get<double>(home.at("pack_current"));
    const std::string status = std::get<std::string>(home.at("charging_status"));
    if (current > 0.2) CHECK(status == "charging");
    if (current < -0.2) CHECK(status == "discharging");
    const double pv = static_cast<double>(std::get<std::int64_t>(home.at("pv_power")));
    CHECK(pv > 0);
    CHECK(pv <= 2000);
    const auto grid = d->intended_values(1300, 0);
    CHECK(std::get<double>(grid.at("grid_frequency")) >= 49.9);
    CHECK(std::get<double>(grid.at("grid_frequency")) <= 50.1);
    CHECK(std::get<double>(grid.at("grid_phase1_voltage")) >= 227.0);
    CHECK(std::get<double>(grid.at("grid_phase1_voltage")) <= 233.0);
}

TEST_CASE("EL30V2 answers 2200 with exception 02, as golden vector G5") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    auto d = make_device("EL30V2", clock);
    const Exchange ex = d->handle(test::hex("01F80F08980000000000000308980014C79B"));
    CHECK(to_hex(rtu_of(ex)) == "0083029131");
}

TEST_CASE("a whitelisted write changes the next 2000 read and is echoed") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    auto d = make_device("AP300", clock);
    // G7: AC output on/off, byte for byte as the bridge sends it
    const Bytes off = test::hex("01F80F07DB0000000000000607DB0000F954");
    const Exchange ex = d->handle(off);
    CHECK(to_hex(rtu_of(ex)) == "000607db0000f954");
    CHECK(d->settings().get(2011) == 0);
    check_read(*d, 2000, 0, 30, true);
    CHECK(std::get<bool>(d->intended_values(2000, 0).at("ac_output_switch")) == false);

    SUBCASE("every register of the whitelist, at both ends of its range") {
        for (const codec::WritableRegister& w : codec::writable_registers()) {
            CAPTURE(w.key);
            for (const std::uint16_t value : {w.min, w.max}) {
                if (w.reg == 2022 && value >= d->settings().get(2023)) continue;  // relational limits, tested below
                if (w.reg == 2023 && value <= d->settings().get(2022)) continue;
                const Bytes frame = write_frame(0, w.reg, value);
                const Exchange echo = d->handle(v2(w.reg, frame));
                CHECK(rtu_of(echo) == frame);
                CHECK(d->settings().get(w.reg) == value);
                const std::uint16_t block = w.reg < 2200 ? 2000 : 2200;
                check_read(*d, block, 0, block == 2000 ? 30 : 20, true);
            }
        }
        CHECK(d->counters().forbidden_writes == 0);
    }
    SUBCASE("out of range: exception 03, nothing changes") {
        for (const auto& [reg_, value] :
             {std::pair<std::uint16_t, std::uint16_t>{2015, 9}, {2020, 4}, {2023, 101}, {2213, 100}, {2011, 2}}) {
            const std::uint16_t reg = reg_;  // a named copy: clang 14 cannot capture a structured binding
            CAPTURE(reg);
            const std::uint16_t before = d->settings().get(reg);
            CHECK(exception_code(d->handle(v2(reg, write_frame(0, reg, value)))) == 3);
            CHECK(d->settings().get(reg) == before);
        }
        // soc_discharge_limit must stay below soc_charge_limit (100 by default)
        CHECK(exception_code(d->handle(v2(2022, write_frame(0, 2022, 100)))) == 3);
        CHECK(exception_code(d->handle(v2(2023, write_frame(0, 2023, 10)))) == 3);
        CHECK(d->counters().forbidden_writes == 0);
    }
}

TEST_CASE("a write outside the whitelist gets exception 02 and is counted") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    auto d = make_device("AP300", clock);
    std::uint64_t expected = 0;
    for (const std::uint16_t reg : {std::uint16_t{2013}, std::uint16_t{2206}, std::uint16_t{2233}, std::uint16_t{2010}, std::uint16_t{100},
                                    std::uint16_t{2000}, std::uint16_t{21000}}) {
        CAPTURE(reg);
        const Exchange ex = d->handle(v2(reg, write_frame(0, reg, 1)));
        CHECK(ex.forbidden_write);
        CHECK(exception_code(ex) == 2);
        CHECK(d->counters().forbidden_writes == ++expected);
        CHECK(d->settings().get(reg) == (reg == 2010 ? 1 : 0));  // nothing written
    }
    // a write to the expansion pack's slave
    CHECK(exception_code(d->handle(v2(2011, write_frame(kExpansionPackSlave, 2011, 0)))) == 2);
    CHECK(d->counters().forbidden_writes == ++expected);
    // FC 16 anywhere but the NODE_INFO query
    const Exchange multi = d->handle(v2(2011, rtu({0x00, 0x10, 0x07, 0xDB, 0x00, 0x01, 0x02, 0x00, 0x00})));
    CHECK(multi.forbidden_write);
    CHECK(exception_code(multi) == 2);
    CHECK(d->counters().forbidden_writes == ++expected);
    // counted even when a fault swallows the answer
    FaultConfig drop;
    drop.drop_pct = 100;
    auto quiet = make_device("AP300", clock, drop);
    const Exchange dropped = quiet->handle(v2(2013, write_frame(0, 2013, 1)));
    CHECK_FALSE(dropped.reply.has_value());
    CHECK(quiet->counters().forbidden_writes == 1);
}

TEST_CASE("a whitelisted register of a block the model lacks: exception 02, not counted") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    auto d = make_device("EL30V2", clock);
    CHECK(exception_code(d->handle(v2(2207, write_frame(0, 2207, 0)))) == 2);
    CHECK(d->counters().forbidden_writes == 0);
}

TEST_CASE("reads of blocks the device does not have, and requests to other slaves") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    auto ap = make_device("AP300", clock);
    CHECK(exception_code(ap->handle(v2(1600, read_frame(0, 1600, 15)))) == 2);
    CHECK(exception_code(ap->handle(v2(21000, read_frame(0, 21000, 10)))) == 2);  // NODE_INFO is a query, not a read
    CHECK(exception_code(ap->handle(v2(100, read_frame(kExpansionPackSlave, 100, 62)))) == 2);
    CHECK(exception_code(ap->handle(v2(172, read_frame(0, 172, 10)))) == 2);   // just past block 100's 72 registers
    CHECK(exception_code(ap->handle(v2(6190, read_frame(0, 6190, 4)))) == 2);  // inside 6100's read size, past its 90 registers
    CHECK(exception_code(ap->handle(v2(100, read_frame(0, 100, 126)))) == 3);
    for (const std::uint8_t slave : {std::uint8_t{1}, std::uint8_t{11}, std::uint8_t{52}}) {
        CHECK_FALSE(ap->handle(v2(100, read_frame(slave, 100, 62))).reply.has_value());
    }
    auto el = make_device("EL100V2", clock);
    CHECK_FALSE(el->handle(v2(6100, read_frame(kExpansionPackSlave, 6100, 104))).reply.has_value());
    // garbage and a request with a bad CRC: silence
    CHECK_FALSE(el->handle(test::hex("0102")).reply.has_value());
    CHECK_FALSE(el->handle(test::hex("01F80F0064000000000000030064003E8415")).reply.has_value());
    // an unknown function code: exception 01
    CHECK(exception_code(el->handle(v2(0, rtu({0x00, 0x04, 0x00, 0x64, 0x00, 0x01})))) == 1);
}

TEST_CASE("a read shorter than the block, or starting inside it, gets the block's registers from its start address") {
    TestClock clock{local_time(2026, 6, 21, 13, 30)};
    auto d = make_device("AP300", clock);
    const auto expect_slice = [&](std::uint16_t block, std::uint8_t slave, std::uint16_t offset, std::uint16_t count) {
        CAPTURE(block);
        CAPTURE(static_cast<int>(slave));
        CAPTURE(offset);
        CAPTURE(count);
        const auto start = static_cast<std::uint16_t>(block + offset);
        const Reply reply = parse_reply(d->handle(v2(start, read_frame(slave, start, count))));
        REQUIRE(reply.frame.kind == codec::FrameKind::read_reply);
        auto data = d->block_data(block, slave);  // the same instant: the same values
        REQUIRE(data.ok());
        const std::size_t registers = std::min<std::size_t>(count, d->block_registers(block) - offset);
        CHECK(to_hex(reply.frame.data) == to_hex(ByteSpan(*data).subspan(2u * offset, 2u * registers)));
    };
    for (const std::uint16_t block : kReadBlocks) {
        const std::uint16_t size = d->block_registers(block);
        expect_slice(block, 0, 0, 1);                                       // the first register alone
        expect_slice(block, 0, 0, static_cast<std::uint16_t>(size - 1));    // all but the last
        expect_slice(block, 0, 1, 1);                                       // the second register alone
        expect_slice(block, 0, static_cast<std::uint16_t>(size / 2), 3);    // from the middle
        expect_slice(block, 0, static_cast<std::uint16_t>(size - 1), 1);    // the last register
        expect_slice(block, 0, static_cast<std::uint16_t>(size - 2), 10);   // runs past the end: cut there
        expect_slice(block, 0, static_cast<std::uint16_t>(size / 3), 125);  // the most a read may ask
    }
    expect_slice(6100, kExpansionPackSlave, 7, 20);  // the expansion pack's record, from inside
    expect_slice(6300, kExpansionPackSlave, 3, 30);

    SUBCASE("the short-reply fault inside a block still answers at least one register, fewer than asked") {
        FaultConfig f;
        f.short_reply_pct = 100;
        auto s = make_device("AP300", clock, f);
        for (int i = 0; i < 50; ++i) {
            const Reply r = parse_reply(s->handle(v2(1305, read_frame(0, 1305, 20))));
            REQUIRE(r.frame.kind == codec::FrameKind::read_reply);
            CHECK(r.frame.data.size() >= 2u);
            CHECK(r.frame.data.size() < 40u);
        }
    }
}

TEST_CASE("a V1 request gets a V1 answer") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    auto d = make_device("EL100V2", clock);
    const Bytes request = codec::wrap(codec::Envelope::v1, 0, read_frame(0, 1300, 31));
    const Reply reply = parse_reply(d->handle(request));
    CHECK(reply.unwrapped.envelope == codec::Envelope::v1);
    CHECK(reply.frame.data.size() == 62);
}

TEST_CASE("NODE_INFO: the AP300 answers with G8's structure, other models with exception 01") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    auto ap = make_device("AP300", clock);
    const Bytes query = test::hex("01F80F52080000000000001052080001020001188D");  // G8's query
    const Reply reply = parse_reply(ap->handle(query));
    REQUIRE(reply.frame.kind == codec::FrameKind::write_multiple);  // request format, not the 8-byte ack
    CHECK(reply.frame.slave == 0);
    CHECK(reply.frame.address == 21000);
    CHECK(reply.frame.quantity == 18);  // 2 + 8 per node
    CHECK(to_hex(reply.unwrapped.rtu.first(7)) ==
          "001052080012"
          "24");
    // records as in G8: version 1, count, then group/slave/slave_group/parent, status, serial, model
    CHECK(to_hex(reply.frame.data.first(4)) == "00010002");
    CHECK(to_hex(reply.frame.data.subspan(4, 6)) == "000000000001");
    CHECK(to_hex(reply.frame.data.subspan(20, 6)) == "203320000001");
    auto decoded = schema::decode(*ap->schemas().find(21000), reply.frame.data);
    REQUIRE(decoded.ok());
    const auto value = [&](const char* key) { return decoded->find(key)->value; };
    CHECK(value("node_info_version") == schema::Value{std::int64_t{1}});
    CHECK(value("node_count") == schema::Value{std::int64_t{2}});
    CHECK(value("node1_slave") == schema::Value{std::int64_t{0}});
    CHECK(value("node1_model_code") == schema::Value{std::int64_t{6}});
    CHECK(value("node1_serial") == schema::Value{ap->identity().sub_sn});
    CHECK(value("node2_slave") == schema::Value{std::int64_t{51}});
    CHECK(value("node2_group") == schema::Value{std::int64_t{32}});
    CHECK(value("node2_model_code") == schema::Value{std::int64_t{4005}});
    CHECK(ap->counters().forbidden_writes == 0);

    for (const char* model : {"EL30V2", "EL100V2", "ELITE200V2", "GENERIC_V2"}) {
        CAPTURE(model);
        auto other = make_device(model, clock);
        CHECK(exception_code(other->handle(query)) == 1);
        CHECK(other->counters().forbidden_writes == 0);
    }
}

TEST_CASE("pushes: FC 16 in request format of blocks 100 and 1300") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    auto d = make_device("AP300", clock);
    const auto pushes = d->pushes();
    REQUIRE(pushes.size() == 2);
    std::set<std::uint16_t> starts;
    for (const Bytes& push : pushes) {
        auto unwrapped = codec::unwrap(push);
        REQUIRE(unwrapped.ok());
        auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
        REQUIRE(frame.ok());
        CHECK(frame->kind == codec::FrameKind::write_multiple);
        starts.insert(frame->address);
        CHECK(schema::decode(*d->schemas().find(frame->address), frame->data).ok());
    }
    CHECK(starts == std::set<std::uint16_t>{100, 1300});
}

TEST_CASE("faults") {
    TestClock clock{local_time(2026, 3, 1, 9, 0)};
    FaultConfig f;
    SUBCASE("short reply: fewer registers than asked but at least min_len, and still decodable") {
        f.short_reply_pct = 100;
        auto d = make_device("AP300", clock, f);
        for (const std::uint16_t block : kReadBlocks) {
            CAPTURE(block);
            const schema::BlockSchema* schema = d->schemas().find(block);
            const Reply r = parse_reply(d->handle(v2(block, read_frame(0, block, d->block_registers(block)))));
            REQUIRE(r.frame.kind == codec::FrameKind::read_reply);
            CHECK(r.frame.data.size() >= schema->min_len);
            CHECK(r.frame.data.size() < 2u * d->block_registers(block));
            CHECK(schema::decode(*schema, r.frame.data).ok());
        }
    }
    SUBCASE("bad CRC: the payload fails codec::unwrap") {
        f.bad_crc_pct = 100;
        auto d = make_device("EL100V2", clock, f);
        const Exchange ex = d->handle(v2(100, read_frame(0, 100, 62)));
        REQUIRE(ex.reply.has_value());
        auto unwrapped = codec::unwrap(*ex.reply);
        REQUIRE_FALSE(unwrapped.ok());
        CHECK(unwrapped.error().code == codec::Errc::bad_crc);
        const Exchange write = d->handle(v2(2011, write_frame(0, 2011, 0)));
        CHECK_FALSE(codec::unwrap(*write.reply).ok());
        CHECK(d->settings().get(2011) == 0);  // the write happened; only its echo is damaged
    }
    SUBCASE("drop: no answer, and a dropped write is not applied") {
        f.drop_pct = 100;
        auto d = make_device("EL100V2", clock, f);
        CHECK_FALSE(d->handle(v2(100, read_frame(0, 100, 62))).reply.has_value());
        CHECK_FALSE(d->handle(v2(2011, write_frame(0, 2011, 0))).reply.has_value());
        CHECK(d->settings().get(2011) == 1);
    }
    SUBCASE("exception: device failure (04), the write is not applied") {
        f.exception_pct = 100;
        auto d = make_device("EL100V2", clock, f);
        CHECK(exception_code(d->handle(v2(100, read_frame(0, 100, 62)))) == 4);
        CHECK(exception_code(d->handle(v2(2011, write_frame(0, 2011, 0)))) == 4);
        CHECK(d->settings().get(2011) == 1);
    }
    SUBCASE("delay: the answer carries the delay") {
        f.delay = std::chrono::milliseconds(1500);
        auto d = make_device("EL100V2", clock, f);
        const Exchange ex = d->handle(v2(100, read_frame(0, 100, 62)));
        CHECK(ex.reply.has_value());
        CHECK(ex.delay == std::chrono::milliseconds(1500));
    }
    SUBCASE("silent: never an answer, never a push") {
        f.silent = true;
        auto d = make_device("AP300", clock, f);
        CHECK_FALSE(d->handle(v2(100, read_frame(0, 100, 62))).reply.has_value());
        CHECK(d->pushes().empty());
    }
    SUBCASE("a percentage draws about that share, the same for the same seed") {
        f.drop_pct = 30;
        auto a = make_device("EL100V2", clock, f);
        auto b = make_device("EL100V2", clock, f);
        int dropped = 0;
        for (int i = 0; i < 1000; ++i) {
            const Exchange x = a->handle(v2(100, read_frame(0, 100, 62)));
            const Exchange y = b->handle(v2(100, read_frame(0, 100, 62)));
            CHECK(x.reply == y.reply);
            dropped += x.reply ? 0 : 1;
        }
        CHECK(dropped > 240);
        CHECK(dropped < 360);
    }
}
