// Fuzz entry point: arbitrary MQTT payload -> unwrap -> parse_frame -> decode with a schema -> check
// plausibility.
// The first input byte picks the schema (and whether the data is decoded directly), so the
// decoder sees both well-framed garbage and raw garbage. Nothing here may crash, hang or leak.
#include <cstddef>
#include <cstdint>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"

namespace {
struct Fixture {
    bluetti::schema::SchemaRegistry registry = *bluetti::profile::apply_profile(*bluetti::schema::SchemaRegistry::builtin(),
                                                                                *bluetti::profile::ProfileSet::builtin()->find("AP300"));
    std::vector<const bluetti::schema::BlockSchema*> schemas = registry.all();
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    static const Fixture fixture;  // built once per process: the fuzzer calls this millions of times
    if (size < 1) return 0;
    const std::uint8_t selector = bytes[0];
    const bluetti::ByteSpan input(bytes + 1, size - 1);
    const auto* schema = fixture.schemas[selector % fixture.schemas.size()];
    const bluetti::schema::DecodeOptions options{1 + (selector >> 6)};

    if (selector & 0x20) {  // bare register data straight into the decoder
        auto decoded = bluetti::schema::decode(*schema, input, options);
        if (decoded) (void)bluetti::schema::check_plausible(*schema, *decoded);
        return 0;
    }
    auto unwrapped = bluetti::codec::unwrap(input);
    if (!unwrapped) return 0;
    for (auto direction : {bluetti::codec::Direction::response, bluetti::codec::Direction::request}) {
        auto frame = bluetti::codec::parse_frame(unwrapped->rtu, direction);
        if (!frame) continue;
        if (frame->kind == bluetti::codec::FrameKind::write_multiple) {
            if (const auto* pushed = fixture.registry.find(frame->address)) schema = pushed;
        }
        auto decoded = bluetti::schema::decode(*schema, frame->data, options);
        if (decoded) (void)bluetti::schema::check_plausible(*schema, *decoded);
    }
    return 0;
}
