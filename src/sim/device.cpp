#include "sim/device.hpp"

#include <algorithm>

#include "bluetti/codec/write_whitelist.hpp"
#include "sim/block_values.hpp"

namespace bluetti::sim {

namespace {

constexpr std::uint8_t kIllegalFunction = 1;
constexpr std::uint8_t kIllegalAddress = 2;
constexpr std::uint8_t kIllegalValue = 3;
constexpr std::uint8_t kDeviceFailure = 4;

// Registers per block the device has (a read of more gets this many): enough for every field of
// the schema, and the sizes real devices answer where they are known (6100: 90, 6300: 22).
std::uint16_t registers_of(std::uint16_t block) {
    switch (block) {
        case 100:
            return 72;
        case 1100:
            return 55;
        case 1200:
            return 42;
        case 1300:
            return 31;
        case 1400:
            return 48;
        case 1500:
            return 30;
        case kBaseSettingsBlock:
            return kBaseSettingsRegisters;
        case kAdvancedSettingsBlock:
            return kAdvancedSettingsRegisters;
        case 6000:
            return 34;
        case 6100:
            return 90;
        case 6300:
            return 22;
        case kNodeInfoBlock:
            return 2 + 8 * 2;
        default:
            return 0;
    }
}

constexpr std::uint16_t kMeasurementBlocks[] = {100, 1100, 1200, 1300, 1400, 1500, 6000, 6100, 6300};
constexpr std::uint16_t kPushedBlocks[] = {100, 1300};
// Every block an FC 03 read can land in, at any slave (has_block() decides which the device has).
constexpr std::uint16_t kReadableBlocks[] = {100,  1100, 1200, 1300, 1400, 1500, kBaseSettingsBlock, kAdvancedSettingsBlock,
                                             6000, 6100, 6300};

std::uint64_t device_seed(std::uint64_t seed, const std::string& sn) {
    return mix64(seed ^ fnv1a64(sn));
}

bool is_node_info_query(const codec::Frame& f) {
    return f.address == kNodeInfoBlock && f.quantity == 1 && f.data.size() == 2 && f.data[0] == 0 && f.data[1] == 1;
}

}  // namespace

FaultDraw draw_faults(Rng& rng, const FaultConfig& faults) {
    FaultDraw d;
    d.drop = rng.percent(faults.drop_pct);
    d.exception = rng.percent(faults.exception_pct);
    d.bad_crc = rng.percent(faults.bad_crc_pct);
    d.short_reply = rng.percent(faults.short_reply_pct);
    return d;
}

Result<std::unique_ptr<SimDevice>, std::string> SimDevice::create(const DeviceSpec& spec, const profile::ProfileSet& profiles,
                                                                  const schema::SchemaRegistry& schemas, Clock clock, std::uint64_t seed,
                                                                  FaultConfig faults) {
    auto id = resolve_device(spec, profiles);
    if (!id) return fail(id.error());
    const profile::Profile* p = profiles.find(id->profile);
    auto own = profile::apply_profile(schemas, *p);
    if (!own) return fail("profile " + p->model + ": " + own.error().message);
    return std::unique_ptr<SimDevice>(new SimDevice(std::move(*id), *p, std::move(*own), std::move(clock), seed, faults));
}

SimDevice::SimDevice(DeviceIdentity id, profile::Profile profile, schema::SchemaRegistry schemas, Clock clock, std::uint64_t seed,
                     FaultConfig faults)
    : id_(std::move(id)),
      profile_(std::move(profile)),
      schemas_(std::move(schemas)),
      clock_(std::move(clock)),
      faults_(faults),
      rng_(device_seed(seed, id_.sn)),
      model_(rating_for(id_.profile, id_.packs), device_seed(seed, id_.sn + "/model"), clock_()),
      settings_(id_.profile != "EL30V2", id_.style.grid_charge_register) {
    if (const schema::BlockSchema* home = schemas_.find(100)) {
        for (const schema::FieldSpec& f : home->fields)
            if (f.key.text == "pack_voltage") pack_voltage_scale_ = f.scale;
    }
}

bool SimDevice::serves_slave(std::uint8_t slave) const {
    return slave == profile_.slave || (id_.packs > 1 && slave == kExpansionPackSlave);
}

int SimDevice::pack_of_slave(std::uint8_t slave) const {
    return slave == kExpansionPackSlave && id_.packs > 1 ? 2 : 1;
}

bool SimDevice::has_block(std::uint16_t block, std::uint8_t slave) const {
    if (slave == profile_.slave) {
        if (settings_.has_block(block)) return true;
        return std::find(std::begin(kMeasurementBlocks), std::end(kMeasurementBlocks), block) != std::end(kMeasurementBlocks);
    }
    return id_.packs > 1 && slave == kExpansionPackSlave && (block == 6100 || block == 6300);
}

std::optional<std::uint16_t> SimDevice::block_containing(std::uint16_t reg, std::uint8_t slave) const {
    for (const std::uint16_t block : kReadableBlocks)
        if (reg >= block && reg - block < block_registers(block) && has_block(block, slave)) return block;
    return std::nullopt;
}

std::uint16_t SimDevice::block_registers(std::uint16_t block) const {
    const auto fewer = id_.style.block_registers.find(block);
    return fewer != id_.style.block_registers.end() ? fewer->second : registers_of(block);
}

Snapshot SimDevice::snapshot() {
    return model_.at(clock_(), settings_.controls());
}

schema::ValueMap SimDevice::intended_values(std::uint16_t block, std::uint8_t slave) {
    if (block == kBaseSettingsBlock || block == kAdvancedSettingsBlock) return settings_.values(block);
    const Snapshot s = snapshot();
    return block_values(block, pack_of_slave(slave), BlockContext{id_, s, settings_, pack_voltage_scale_});
}

Result<Bytes, std::string> SimDevice::block_data(std::uint16_t block, std::uint8_t slave) {
    auto data = encoded_block(block, slave);
    if (data) mark_unimplemented(block, *data);
    return data;
}

Result<Bytes, std::string> SimDevice::encoded_block(std::uint16_t block, std::uint8_t slave) {
    const std::uint16_t registers = block_registers(block);
    if (block == kBaseSettingsBlock || block == kAdvancedSettingsBlock) return settings_.block_data(block, registers);
    const schema::BlockSchema* schema = schemas_.find(block);
    if (!schema || registers == 0) return fail("block " + std::to_string(block) + " has no schema");
    auto data = schema::encode(*schema, intended_values(block, slave), registers, {pack_of_slave(slave)});
    if (!data) return fail(data.error().message);
    return std::move(*data);
}

// The registers the model does not implement read what its firmware puts there (0x0194 on the Elite
// 200 V2), whatever the schema's field would say.
void SimDevice::mark_unimplemented(std::uint16_t block, Bytes& data) const {
    for (const auto& [reg, raw] : id_.style.unimplemented) {
        if (reg < block || 2u * (reg - block) + 1 >= data.size()) continue;
        const std::size_t at = 2u * (reg - block);
        data[at] = static_cast<std::uint8_t>(raw >> 8);
        data[at + 1] = static_cast<std::uint8_t>(raw & 0xFF);
    }
}

Bytes SimDevice::envelope(codec::Envelope kind, const Bytes& rtu) {
    Bytes payload = codec::wrap(kind, 0, rtu);
    if (kind == codec::Envelope::v2) {
        // Header byte 7, the Wi-Fi RSSI in dBm: from the model's time, not the generator, because
        // the bridge publishes it as a value and a device under --frozen must not change it.
        const auto rssi = static_cast<std::int8_t>(model_.wifi_rssi_dbm(clock_()));
        payload[7] = static_cast<std::uint8_t>(rssi);
    }
    return payload;
}

SimDevice::Answer SimDevice::exception(std::uint8_t slave, std::uint8_t function, std::uint8_t code, std::string text) {
    return Answer{codec::build_exception(slave, function, code), std::move(text) + " → exception " + std::to_string(code), true};
}

bool SimDevice::is_forbidden_write(const codec::Frame& f) const {
    if (f.kind == codec::FrameKind::write_single) return f.slave != profile_.slave || !codec::find_writable(f.address);
    if (f.kind == codec::FrameKind::write_multiple) return f.slave != profile_.slave || !is_node_info_query(f);
    return false;
}

// The short-reply fault: fewer registers than `registers`, but a read at the block start keeps at
// least min_len (a valid short reply, as real devices send); min_len says nothing about a read
// that starts inside the block, so that one keeps at least one register.
std::size_t SimDevice::short_reply_registers(std::uint16_t block, std::size_t offset, std::size_t registers) {
    const schema::BlockSchema* schema = schemas_.find(block);
    const std::size_t least = schema && offset == 0 ? (schema->min_len + 1u) / 2u : 1u;
    if (registers <= least) return registers;
    return static_cast<std::size_t>(rng_.between(static_cast<std::int64_t>(least), static_cast<std::int64_t>(registers) - 1));
}

// Register block + k is bytes 2k, 2k + 1 of the block's data, so a read starting inside a block
// gets the data from there; a read that runs past the block's end gets the registers up to it,
// as an over-long read at the block start does (unless the model refuses it: AnswerStyle).
SimDevice::Answer SimDevice::answer_read(const codec::Frame& f, bool short_reply) {
    const std::string text =
        "FC 03 read " + std::to_string(f.address) + "×" + std::to_string(f.quantity) + " at slave " + std::to_string(f.slave);
    if (f.quantity == 0 || f.quantity > codec::kMaxReadRegisters) return exception(f.slave, f.function, kIllegalValue, text);
    const std::optional<std::uint16_t> block = block_containing(f.address, f.slave);
    if (!block) return exception(f.slave, f.function, kIllegalAddress, text + " (no such block)");
    auto data = block_data(*block, f.slave);
    if (!data) return exception(f.slave, f.function, kDeviceFailure, text + " (simulator error: " + data.error() + ")");
    const std::size_t offset = f.address - *block;
    if (offset >= data->size() / 2) return exception(f.slave, f.function, kIllegalAddress, text + " (past the block's data)");
    // The Elite 200 V2 refuses a read past what it implements rather than answering it short.
    if (id_.style.refuses_past_end && offset + f.quantity > data->size() / 2)
        return exception(f.slave, f.function, kIllegalAddress, text + " (runs past the block's end)");
    std::size_t registers = std::min<std::size_t>(f.quantity, data->size() / 2 - offset);
    if (short_reply) registers = short_reply_registers(*block, offset, registers);
    auto reply = codec::build_read_reply(f.slave, ByteSpan(*data).subspan(offset * 2, registers * 2));
    if (!reply) return exception(f.slave, f.function, kDeviceFailure, text + " (simulator error: " + reply.error().message + ")");
    const std::string where = offset ? " (inside block " + std::to_string(*block) + ")" : "";
    return Answer{std::move(*reply),
                  text + where + " → " + std::to_string(registers) + " registers" + (short_reply ? " (short-reply fault)" : ""), false};
}

SimDevice::Answer SimDevice::answer_write(ByteSpan rtu, const codec::Frame& f) {
    const std::string text =
        "FC 06 write " + std::to_string(f.address) + "=" + std::to_string(f.value) + " at slave " + std::to_string(f.slave);
    if (f.slave != profile_.slave)
        return exception(f.slave, f.function, kIllegalAddress, text + " (FORBIDDEN: a pack has no writable registers)");
    if (id_.style.unimplemented.count(f.address))
        return exception(f.slave, f.function, kIllegalAddress, text + " (FORBIDDEN: this model does not implement the register)");
    const WriteOutcome outcome = settings_.write(f.address, f.value);
    switch (outcome) {
        case WriteOutcome::written:
            ++counters_.writes;
            return Answer{Bytes(rtu.begin(), rtu.end()), text + " → echo", false};
        case WriteOutcome::out_of_range:
            return exception(f.slave, f.function, kIllegalValue, text + " (out of range)");
        case WriteOutcome::not_writable:
            return exception(f.slave, f.function, kIllegalAddress,
                             text + " (FORBIDDEN: not in the write whitelist of docs/protocol.md §8)");
        case WriteOutcome::no_such_block:
            return exception(f.slave, f.function, kIllegalAddress, text + " (this model has no such block)");
    }
    return exception(f.slave, f.function, kDeviceFailure, text);
}

SimDevice::Answer SimDevice::answer_write_multiple(const codec::Frame& f) {
    const std::string text =
        "FC 16 write " + std::to_string(f.address) + "×" + std::to_string(f.quantity) + " at slave " + std::to_string(f.slave);
    if (f.slave != profile_.slave || !is_node_info_query(f)) {
        return exception(f.slave, f.function, f.address == kNodeInfoBlock ? kIllegalValue : kIllegalAddress,
                         text + " (FORBIDDEN: the only FC 16 allowed is the NODE_INFO query)");
    }
    if (id_.packs < 2) return exception(f.slave, f.function, kIllegalFunction, "NODE_INFO query (this model has no expansions)");
    auto data = block_data(kNodeInfoBlock, f.slave);
    if (!data) return exception(f.slave, f.function, kDeviceFailure, "NODE_INFO query (simulator error: " + data.error() + ")");
    auto reply = codec::build_write_multiple(f.slave, kNodeInfoBlock, *data);
    if (!reply) return exception(f.slave, f.function, kDeviceFailure, "NODE_INFO query (simulator error: " + reply.error().message + ")");
    return Answer{std::move(*reply), "NODE_INFO query → node list (2 nodes)", false};
}

SimDevice::Answer SimDevice::answer(ByteSpan rtu, const codec::Frame& f, bool short_reply) {
    switch (f.kind) {
        case codec::FrameKind::read_request:
            return answer_read(f, short_reply);
        case codec::FrameKind::write_single:
            return answer_write(rtu, f);
        case codec::FrameKind::write_multiple:
            return answer_write_multiple(f);
        default:
            return Answer{std::nullopt, "not a request (ignored)", false};
    }
}

Exchange SimDevice::unanswered(Exchange ex, std::string summary) {
    ++counters_.unanswered;
    ex.summary = std::move(summary);
    return ex;
}

Exchange SimDevice::deliver(Exchange ex, Answer answer, codec::Envelope kind, bool bad_crc) {
    if (!answer.rtu) return unanswered(std::move(ex), std::move(answer.text));
    if (bad_crc) {
        Bytes& rtu = *answer.rtu;
        rtu[rtu.size() - 1] ^= 0xFF;
        rtu[rtu.size() - 2] ^= 0xFF;
        answer.text += " (bad-CRC fault)";
    }
    ++counters_.replies;
    if (answer.exception) ++counters_.exceptions;
    ex.reply = envelope(kind, *answer.rtu);
    ex.delay = faults_.delay;
    ex.summary = std::move(answer.text);
    return ex;
}

Exchange SimDevice::handle(ByteSpan payload) {
    Exchange ex;
    ++counters_.requests;
    auto unwrapped = codec::unwrap(payload);
    if (!unwrapped) return unanswered(std::move(ex), "ignored a payload that is no frame: " + unwrapped.error().message);
    const ByteSpan rtu = unwrapped->rtu;
    const std::uint8_t slave = rtu[0];
    if (!serves_slave(slave)) {
        return unanswered(std::move(ex), "request to slave " + std::to_string(slave) + ", which this device does not have: no answer");
    }
    auto frame = codec::parse_frame(rtu, codec::Direction::request);
    if (!frame && frame.error().code != codec::Errc::wrong_function) {
        return unanswered(std::move(ex), "ignored a malformed request: " + frame.error().message);
    }
    // Counted before any fault: a forbidden write the fault swallows was still sent.
    if (frame && is_forbidden_write(*frame)) {
        ++counters_.forbidden_writes;
        ex.forbidden_write = true;
    }
    if (faults_.silent) return unanswered(std::move(ex), "request " + to_hex(rtu) + ": no answer (--silent)");
    const FaultDraw draw = draw_faults(rng_, faults_);
    if (draw.drop) return unanswered(std::move(ex), "request " + to_hex(rtu) + ": dropped (fault)");

    const auto function = static_cast<std::uint8_t>(rtu[1] & 0x7F);
    Answer a = draw.exception ? exception(slave, function, kDeviceFailure, "request " + to_hex(rtu) + " (device-failure fault)")
               : !frame       ? exception(slave, function, kIllegalFunction, "unsupported function in " + to_hex(rtu))
                              : answer(rtu, *frame, draw.short_reply);
    if (frame && frame->kind == codec::FrameKind::write_single && !a.exception && lost_echoes_ < faults_.lose_echoes) {
        ++lost_echoes_;
        return unanswered(std::move(ex), a.text + " (applied; echo lost by --lose-echoes)");
    }
    return deliver(std::move(ex), std::move(a), unwrapped->envelope, draw.bad_crc);
}

std::vector<Bytes> SimDevice::pushes() {
    std::vector<Bytes> out;
    if (faults_.silent) return out;
    for (const std::uint16_t block : kPushedBlocks) {
        auto data = block_data(block, profile_.slave);
        if (!data) continue;
        auto rtu = codec::build_write_multiple(profile_.slave, block, *data);
        if (!rtu) continue;
        out.push_back(envelope(profile_.envelope, *rtu));
        ++counters_.pushes;
    }
    return out;
}

}  // namespace bluetti::sim
