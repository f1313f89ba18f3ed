#include "sim/answers_log.hpp"

#include <nlohmann/json.hpp>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/ha/discovery.hpp"
#include "bluetti/schema/codec.hpp"

namespace bluetti::sim {

namespace {

std::optional<codec::Frame> frame_of(ByteSpan payload, codec::Direction direction) {
    auto unwrapped = codec::unwrap(payload);
    if (!unwrapped) return std::nullopt;  // a reply with a bad CRC (fault) reaches nobody as data
    auto frame = codec::parse_frame(unwrapped->rtu, direction);
    if (!frame) return std::nullopt;
    return *frame;
}

}  // namespace

bool AnswersLog::open(const std::string& path, std::string& error) {
    out_.open(path, std::ios::trunc);
    if (!out_) error = "cannot write the answers log " + path;
    return static_cast<bool>(out_);
}

void AnswersLog::answered(SimDevice& device, ByteSpan request, ByteSpan reply) {
    if (!enabled()) return;
    // The frames point into their payloads, which outlive this call.
    const auto asked = frame_of(request, codec::Direction::request);
    const auto got = frame_of(reply, codec::Direction::response);
    if (!asked || !got || asked->kind != codec::FrameKind::read_request || got->kind != codec::FrameKind::read_reply) return;
    write(device, asked->address, asked->slave, got->data);
}

void AnswersLog::pushed(SimDevice& device, ByteSpan push) {
    if (!enabled()) return;
    const auto frame = frame_of(push, codec::Direction::response);
    if (frame && frame->kind == codec::FrameKind::write_multiple) write(device, frame->address, frame->slave, frame->data);
}

void AnswersLog::write(const SimDevice& device, std::uint16_t block, std::uint8_t slave, ByteSpan data) {
    const schema::BlockSchema* schema = device.schemas().find(block);
    if (!schema) return;  // not a block start
    auto decoded = schema::decode(*schema, data, {device.pack_of_slave(slave)});
    if (!decoded) return;
    nlohmann::json line;
    line["sn"] = device.identity().sn;
    line["topic"] = schema->state_topic;
    line["state"] = nlohmann::json::parse(ha::block_state(*decoded, {}));
    out_ << line.dump() << '\n' << std::flush;
}

}  // namespace bluetti::sim
