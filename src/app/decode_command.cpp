#include "decode_command.hpp"

#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/plausibility.hpp"
#include "bluetti/schema/registry.hpp"
#include "value_json.hpp"

namespace bluetti::app {

namespace {

struct Input {
    ByteSpan data;
    int slave = 0;
    std::optional<int> block_from_frame;
    std::optional<int> rssi;
    std::string envelope;
};

class BadInput : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

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

}  // namespace

int run_decode(const DecodeRequest& request, std::ostream& out, std::ostream& err) {
    try {
        auto profiles = profile::ProfileSet::builtin();
        if (!profiles) throw BadInput(profiles.error().message);
        const profile::Profile* profile = profiles->find(request.model);
        if (!profile) {
            std::string list;
            for (const auto* p : profiles->all()) list += (list.empty() ? "" : ", ") + p->model;
            throw BadInput("unknown model '" + request.model + "' (known: " + list + ")");
        }
        auto base = schema::SchemaRegistry::builtin();
        if (!base) throw BadInput(base.error().message);
        for (const auto& dir : request.schema_dirs)
            if (auto error = base->load_directory(dir)) throw BadInput(error->message);
        auto registry = profile::apply_profile(*base, *profile);
        if (!registry) throw BadInput(profile->source + ": " + registry.error().message);

        auto bytes = parse_hex(request.hex);
        if (!bytes) throw BadInput("bad hex: " + bytes.error());

        Input input;
        input.slave = request.slave.value_or(profile->slave);
        if (request.data_only) {
            input.data = *bytes;
        } else {
            auto unwrapped = codec::unwrap(*bytes);
            if (!unwrapped) throw BadInput(unwrapped.error().message);
            input.rssi = unwrapped->rssi;
            input.envelope = std::string(codec::to_string(unwrapped->envelope));
            auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
            if (!frame) throw BadInput(frame.error().message);
            input.slave = frame->slave;
            switch (frame->kind) {
                case codec::FrameKind::read_reply:
                    input.data = frame->data;
                    break;
                case codec::FrameKind::write_multiple:
                    input.data = frame->data;
                    input.block_from_frame = frame->address;
                    break;
                case codec::FrameKind::exception: {
                    nlohmann::ordered_json j;
                    if (request.block) j["block"] = *request.block;
                    j["slave"] = frame->slave;
                    j["function"] = frame->function;
                    j["exception"] = frame->exception_code;
                    j["exception_name"] = codec::exception_name(frame->exception_code);
                    out << j.dump() << "\n";
                    return 0;
                }
                case codec::FrameKind::write_single:
                case codec::FrameKind::write_ack: {
                    nlohmann::ordered_json j;
                    j["slave"] = frame->slave;
                    j["function"] = frame->function;
                    j["register"] = frame->address;
                    j[frame->kind == codec::FrameKind::write_single ? "value" : "quantity"] =
                        frame->kind == codec::FrameKind::write_single ? frame->value : frame->quantity;
                    out << j.dump() << "\n";
                    return 0;
                }
                case codec::FrameKind::read_request:
                    throw BadInput("this is a read request, not a reply");
            }
        }

        int block;
        if (input.block_from_frame) {
            if (request.block && *request.block != *input.block_from_frame) {
                throw BadInput("the frame pushes block " + std::to_string(*input.block_from_frame) + ", not block " +
                               std::to_string(*request.block));
            }
            block = *input.block_from_frame;
        } else if (request.block) {
            block = *request.block;
        } else {
            throw BadInput("--block is required: an FC 03 reply or bare data does not say which block it holds");
        }
        const schema::BlockSchema* schema = registry->find(static_cast<std::uint16_t>(block));
        if (!schema) throw BadInput("unknown block " + std::to_string(block) + " (known: " + known_blocks(*registry) + ")");

        auto decoded = schema::decode(*schema, input.data, {request.pack});
        if (!decoded) throw BadInput(decoded.error().message + " (data " + to_hex(input.data) + ")");
        // A value no real device reports: most likely another block's bytes. Said on stderr only, so
        // the decode on stdout stays what it always was.
        if (const auto finding = schema::check_plausible(*schema, *decoded)) {
            err << "bluetti-cli decode: warning: " << schema::to_string(*finding) << " for " << profile->model
                << " (probably not this block's data)\n";
        }

        if (request.table) {
            print_table(*decoded, input, out);
            return 0;
        }
        nlohmann::ordered_json j;
        j["block"] = block;
        j["name"] = schema->name;
        j["slave"] = input.slave;
        if (!input.envelope.empty()) j["envelope"] = input.envelope;
        if (input.rssi) j["rssi"] = *input.rssi;
        nlohmann::ordered_json fields = nlohmann::ordered_json::object(), units = nlohmann::ordered_json::object();
        for (const auto& f : decoded->fields) {
            if (schema::is_absent(f.value)) continue;
            fields[f.key] = value_json(f.value);
            if (!f.spec->unit.empty()) units[f.key] = f.spec->unit;
        }
        j["fields"] = std::move(fields);
        j["units"] = std::move(units);
        out << j.dump() << "\n";
        return 0;
    } catch (const BadInput& e) {
        err << "bluetti-cli decode: " << e.what() << "\n";
        return 2;
    }
}

}  // namespace bluetti::app
