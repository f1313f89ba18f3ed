#include "decode_command.hpp"

#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"
#include "profile_dirs.hpp"
#include "value_json.hpp"

namespace bluetti::app {

namespace {

using nlohmann::ordered_json;

Failure<DecodeError> refuse(DecodeErrc code, std::string message) {
    return fail(DecodeError{code, std::move(message)});
}

// The request's profile and the schemas a device of it decodes with.
struct Data {
    profile::Profile profile;
    schema::SchemaRegistry registry;
};

Result<Data, DecodeError> load_data(const DecodeRequest& request) {
    auto profiles = profile::ProfileSet::builtin();
    if (!profiles) return refuse(DecodeErrc::bad_data, profiles.error().message);
    if (auto error = load_profile_dirs(*profiles, request.profile_dirs)) return refuse(DecodeErrc::bad_data, error->message);
    const profile::Profile* profile = profiles->find(request.model);
    if (!profile) {
        std::string list;
        for (const auto* p : profiles->all()) list += (list.empty() ? "" : ", ") + p->model;
        return refuse(DecodeErrc::unknown_model, "unknown model '" + request.model + "' (known: " + list + ")");
    }
    auto base = schema::SchemaRegistry::builtin();
    if (!base) return refuse(DecodeErrc::bad_data, base.error().message);
    for (const auto& dir : request.schema_dirs)
        if (auto error = base->load_directory(dir)) return refuse(DecodeErrc::bad_data, error->message);
    auto registry = profile::apply_profile(*base, *profile);
    if (!registry) return refuse(DecodeErrc::bad_data, profile->source + ": " + registry.error().message);
    return Data{*profile, std::move(*registry)};
}

// What the bytes hold: register data and what its frame says about it, or (`reply`) a frame
// without block data, shown as it is.
struct Input {
    ByteSpan data;
    int slave = 0;
    std::optional<int> block_from_frame;
    std::optional<int> rssi;
    std::string envelope;
    std::optional<ordered_json> reply;
};

// An exception or a write echo as the JSON that is printed for it.
ordered_json frame_summary(const codec::Frame& frame, std::optional<int> block) {
    ordered_json j;
    if (frame.kind == codec::FrameKind::exception) {
        if (block) j["block"] = *block;
        j["slave"] = frame.slave;
        j["function"] = frame.function;
        j["exception"] = frame.exception_code;
        j["exception_name"] = codec::exception_name(frame.exception_code);
        return j;
    }
    j["slave"] = frame.slave;
    j["function"] = frame.function;
    j["register"] = frame.address;
    j[frame.kind == codec::FrameKind::write_single ? "value" : "quantity"] =
        frame.kind == codec::FrameKind::write_single ? frame.value : frame.quantity;
    return j;
}

// `bytes` as a whole payload or a bare RTU frame (the envelope is found by its CRC).
Result<Input, DecodeError> read_frame(const DecodeRequest& request, ByteSpan bytes) {
    Input input;
    auto unwrapped = codec::unwrap(bytes);
    if (!unwrapped) return refuse(DecodeErrc::bad_payload, unwrapped.error().message);
    input.rssi = unwrapped->rssi;
    input.envelope = std::string(codec::to_string(unwrapped->envelope));
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
    if (!frame) return refuse(DecodeErrc::bad_frame, frame.error().message);
    input.slave = frame->slave;
    switch (frame->kind) {
        case codec::FrameKind::read_reply:
            input.data = frame->data;
            break;
        case codec::FrameKind::write_multiple:
            input.data = frame->data;
            input.block_from_frame = frame->address;
            break;
        case codec::FrameKind::exception:
        case codec::FrameKind::write_single:
        case codec::FrameKind::write_ack:
            input.reply = frame_summary(*frame, request.block);
            break;
        case codec::FrameKind::read_request:
            return refuse(DecodeErrc::not_a_reply, "this is a read request, not a reply");
    }
    return input;
}

// The block the data belongs to: the one a push names, else --block.
Result<int, DecodeError> block_of(const DecodeRequest& request, const Input& input) {
    if (input.block_from_frame) {
        if (request.block && *request.block != *input.block_from_frame) {
            return refuse(DecodeErrc::block_mismatch, "the frame pushes block " + std::to_string(*input.block_from_frame) + ", not block " +
                                                          std::to_string(*request.block));
        }
        return *input.block_from_frame;
    }
    if (request.block) return *request.block;
    return refuse(DecodeErrc::block_required, "--block is required: an FC 03 reply or bare data does not say which block it holds");
}

std::string known_blocks(const schema::SchemaRegistry& registry) {
    std::string list;
    for (const auto* s : registry.all()) list += (list.empty() ? "" : ", ") + std::to_string(s->block);
    return list;
}

void print_table(const schema::DecodedBlock& decoded, const Input& input, std::ostream& out) {
    out << "block " << decoded.schema->block << " " << decoded.schema->name << ", slave " << input.slave << ", " << decoded.data_length
        << " bytes";
    if (input.rssi) out << ", RSSI " << *input.rssi << " dBm";
    out << "\n";
    std::size_t width = 3;
    for (const auto& f : decoded.fields) width = std::max(width, f.key.size());
    for (const auto& f : decoded.fields) {
        if (schema::is_absent(f.value)) continue;
        out << std::left << std::setw(static_cast<int>(width) + 2) << f.key << value_json(f.value).dump();
        if (!f.spec->unit.empty()) out << " " << f.spec->unit;
        out << "\n";
    }
}

std::string block_json(const schema::DecodedBlock& decoded, int block, const Input& input) {
    ordered_json j;
    j["block"] = block;
    j["name"] = decoded.schema->name;
    j["slave"] = input.slave;
    if (!input.envelope.empty()) j["envelope"] = input.envelope;
    if (input.rssi) j["rssi"] = *input.rssi;
    ordered_json fields = ordered_json::object(), units = ordered_json::object();
    for (const auto& f : decoded.fields) {
        if (schema::is_absent(f.value)) continue;
        fields[f.key] = value_json(f.value);
        if (!f.spec->unit.empty()) units[f.key] = f.spec->unit;
    }
    j["fields"] = std::move(fields);
    j["units"] = std::move(units);
    return j.dump() + "\n";
}

}  // namespace

std::string_view to_string(DecodeErrc code) {
    switch (code) {
        case DecodeErrc::bad_data:
            return "bad_data";
        case DecodeErrc::unknown_model:
            return "unknown_model";
        case DecodeErrc::bad_hex:
            return "bad_hex";
        case DecodeErrc::bad_payload:
            return "bad_payload";
        case DecodeErrc::bad_frame:
            return "bad_frame";
        case DecodeErrc::not_a_reply:
            return "not_a_reply";
        case DecodeErrc::block_mismatch:
            return "block_mismatch";
        case DecodeErrc::block_required:
            return "block_required";
        case DecodeErrc::unknown_block:
            return "unknown_block";
        case DecodeErrc::bad_block_data:
            return "bad_block_data";
    }
    return "?";
}

Result<DecodeOutput, DecodeError> decode_hex(const DecodeRequest& request) {
    auto data = load_data(request);
    if (!data) return fail(data.error());
    auto bytes = parse_hex(request.hex);
    if (!bytes) return refuse(DecodeErrc::bad_hex, "bad hex: " + bytes.error());

    Input input;
    if (request.data_only) {
        input.data = *bytes;
        input.slave = request.slave.value_or(data->profile.slave);
    } else {
        auto framed = read_frame(request, *bytes);
        if (!framed) return fail(framed.error());
        if (framed->reply) return DecodeOutput{framed->reply->dump() + "\n", {}};
        input = std::move(*framed);
    }

    auto block = block_of(request, input);
    if (!block) return fail(block.error());
    const schema::BlockSchema* schema = data->registry.find(static_cast<std::uint16_t>(*block));
    if (!schema)
        return refuse(DecodeErrc::unknown_block,
                      "unknown block " + std::to_string(*block) + " (known: " + known_blocks(data->registry) + ")");
    auto decoded = schema::decode(*schema, input.data, {request.pack});
    if (!decoded) return refuse(DecodeErrc::bad_block_data, decoded.error().message + " (data " + to_hex(input.data) + ")");

    DecodeOutput output;
    // A value no real device reports: most likely another block's bytes. Said on stderr only, so
    // the decode on stdout stays what it always was.
    if (const auto finding = schema::check_plausible(*schema, *decoded))
        output.warning = schema::to_string(*finding) + " for " + data->profile.model + " (probably not this block's data)";
    if (request.table) {
        std::ostringstream table;
        print_table(*decoded, input, table);
        output.text = table.str();
    } else {
        output.text = block_json(*decoded, *block, input);
    }
    return output;
}

int run_decode(const DecodeRequest& request, std::ostream& out, std::ostream& err) {
    auto decoded = decode_hex(request);
    if (!decoded) {
        err << "bluetti-cli decode: " << decoded.error().message << "\n";
        return 2;
    }
    if (!decoded->warning.empty()) err << "bluetti-cli decode: warning: " << decoded->warning << "\n";
    out << decoded->text;
    return 0;
}

}  // namespace bluetti::app
