// bench/decode: how long the decode path takes for one real payload of blocks 100, 1300 and 6000.
//
// Per block, in one run:
//   full    codec::unwrap -> codec::parse_frame -> SchemaRegistry::find -> schema::decode, on the
//           whole MQTT payload, with the AP300 profile's overrides applied to the registry;
//   schema  schema::decode alone on the frame's register data (schema looked up beforehand);
//   memcpy  a copy of the same payload bytes, as a floor for "touching the bytes at all".
// Both decode loops also call DecodedBlock::present_count() and accumulate it into a volatile, so
// neither the decode nor its result can be optimised away.
//
// Method: warm-up iterations, then B batches of N iterations each, timed with steady_clock; the
// median batch is reported (min..max beside it). Each batch's thread CPU time is read too: a
// CPU/wall share well under 1.00 means the batch was preempted and its wall time is inflated.
// Not a test: nothing here asserts a time, and the program is not registered with ctest.
// docs/performance.md has the figures and the commands (including how to run it on a busy machine).
//
//   bench_decode [--iterations N] [--batches B] [--warmup W] [--block 100|1300|6000]
//
// Instruction counts (machine-independent), one block at a time:
//   valgrind --tool=callgrind --callgrind-out-file=cg.out bench_decode --block 100 --iterations 10000 --batches 1 --warmup 0
//   callgrind_annotate --inclusive=yes cg.out | grep loop_
// and divide each loop_* function's inclusive Ir by --iterations.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "bluetti/codec/envelope.hpp"
#include "bluetti/codec/frame.hpp"
#include "bluetti/hex.hpp"
#include "bluetti/profile/profile.hpp"
#include "bluetti/schema/codec.hpp"
#include "bluetti/schema/registry.hpp"

#ifndef BLUETTI_BUILD_TYPE
#define BLUETTI_BUILD_TYPE "unknown"
#endif

namespace {

using namespace bluetti;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Payloads: tests/data/golden_vectors.json (docs/protocol.md §9), the device's frame of each vector,
// copied verbatim. Each `check` is one value of that vector's "decoded" list, and `present` the
// length of that list: the bench refuses to time a path that does not decode the vector right.

struct Vector {
    const char* id;
    const char* kind;             // what the payload is, for the table
    std::uint16_t block;          // block the request asked for (a reply does not carry it)
    codec::FrameKind frame_kind;  // what parse_frame must find
    const char* hex;
    const char* check_key;
    double check_value;
    std::size_t present;
};

// G2 "block 100 with word-swapped 32-bit powers and energies" (AP300, 62 registers): FC 03 reply.
constexpr const char* kG2Block100Reply =
    "01F80F00000000B9000000037C1480FF83004C00024E8402000000000100010000504130330030000000000000DE4C1C83"
    "026100000001000100000000000000000000000000000000000000000000000000000000000000000000000000240000"
    "04E2000002760000FF88FFFF04EE0000007B000011ED0001093200010D8000000385000000000001895D";

// G11 "unsolicited FC 16 push of block 1300" (AP300, 31 registers): decoded as the push it is,
// i.e. an FC 16 frame in request format whose start register names the block.
constexpr const char* kG11Block1300Push =
    "01F80F00000000B9000000100514001F3E01F300000000002100000000000000000000000000000000000103520908"
    "0025035E000000000000000000000000000000000000000000000000000000002B07";

// G3 "block 6000 PACK_MAIN_INFO" (AP300, 34 registers): FC 03 reply.
constexpr const char* kG3Block6000Reply =
    "01F80F00000000B4000000034400000002000314B600B80058006200430022000116D0025803E8000000000000000300"
    "2D4E8430390000D58D000A00000000000000000000000000000000000000000000D612";

const Vector kVectors[] = {
    {"G2", "reply", 100, codec::FrameKind::read_reply, kG2Block100Reply, "pack_voltage", 52.48, 32},
    {"G11", "push", 1300, codec::FrameKind::write_multiple, kG11Block1300Push, "grid_phase1_voltage", 231.2, 9},
    {"G3", "reply", 6000, codec::FrameKind::read_reply, kG3Block6000Reply, "bms_voltage", 53.02, 20},
};

// ---------------------------------------------------------------------------------------------

struct Case {
    const Vector* vector = nullptr;
    Bytes payload;
    Bytes data;  // the frame's register data (a copy, so the schema loop does not share the payload)
    const schema::SchemaRegistry* registry = nullptr;
    const schema::BlockSchema* schema = nullptr;
    std::size_t fields_present = 0;
    std::size_t fields_total = 0;
};

volatile std::size_t g_sink = 0;

// Tells the compiler the pointed-to memory may be read and written here (Google Benchmark's
// DoNotOptimize + ClobberMemory): the copy before it cannot be dropped or hoisted.
inline void clobber(const void* p) {
    asm volatile("" : : "r"(p) : "memory");
}

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "bench_decode: %s\n", message.c_str());
    std::exit(1);
}

// One pass of the full path. Any failure is fatal: the vectors are known good.
std::size_t full_once(const Case& c) {
    auto unwrapped = codec::unwrap(c.payload);
    if (!unwrapped) die(unwrapped.error().message);
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
    if (!frame) die(frame.error().message);
    // A reply's block is the one we asked for; a push names its block in the start register.
    const std::uint16_t block = frame->kind == codec::FrameKind::write_multiple ? frame->address : c.vector->block;
    const schema::BlockSchema* s = c.registry->find(block);
    if (!s) die("no schema for block " + std::to_string(block));
    auto decoded = schema::decode(*s, frame->data);
    if (!decoded) die(decoded.error().message);
    return decoded->present_count();
}

// The timed loops are separate, never-inlined functions so callgrind can attribute their cost.
[[gnu::noinline]] std::size_t loop_full(const Case& c, std::size_t iterations) {
    std::size_t sum = 0;
    for (std::size_t i = 0; i < iterations; ++i) sum += full_once(c);
    return sum;
}

[[gnu::noinline]] std::size_t loop_schema(const Case& c, std::size_t iterations) {
    std::size_t sum = 0;
    for (std::size_t i = 0; i < iterations; ++i) {
        auto decoded = schema::decode(*c.schema, c.data);
        if (!decoded) die(decoded.error().message);
        sum += decoded->present_count();
    }
    return sum;
}

[[gnu::noinline]] void loop_memcpy(const std::uint8_t* src, std::size_t size, std::uint8_t* dst, std::size_t iterations) {
    asm volatile("" : "+r"(size));  // a run-time length, as a payload copy would have
    for (std::size_t i = 0; i < iterations; ++i) {
        clobber(src);
        std::memcpy(dst, src, size);
        clobber(dst);
    }
}

// ---------------------------------------------------------------------------------------------

struct Options {
    std::size_t iterations = 200'000;
    std::size_t batches = 7;
    std::size_t warmup = 20'000;
    std::optional<unsigned> block;
};

Options parse_options(int argc, char** argv) {
    Options o;
    unsigned block = 0;
    CLI::App app{"bench_decode: unwrap -> parse -> decode per block (docs/performance.md)"};
    app.add_option("--iterations", o.iterations, "timed decodes per batch")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--batches", o.batches, "batches (the median is reported)")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--warmup", o.warmup, "untimed decodes first")->capture_default_str();
    auto* block_option = app.add_option("--block", block, "only this block")->check(CLI::IsMember({100u, 1300u, 6000u}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::exit(app.exit(e) == 0 ? 0 : 2);
    }
    if (block_option->count()) o.block = block;
    return o;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

// CPU time of this thread: a batch whose CPU time falls well short of its wall time was preempted
// (another process had the core), so its wall time says more about the machine than the code.
double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Per batch, ns per iteration by steady_clock (wall) and by this thread's CPU clock, each sorted;
// and the lowest CPU/wall share of a batch (1.00 = never preempted).
struct Timing {
    std::vector<double> wall;
    std::vector<double> cpu;
    double min_cpu_share = 1.0;
    double median() const { return wall[wall.size() / 2]; }  // upper median for even counts
    double min() const { return wall.front(); }
    double max() const { return wall.back(); }
    double cpu_median() const { return cpu[cpu.size() / 2]; }
};

template <class Body>
Timing time_batches(const Options& o, Body body) {
    if (o.warmup) body(o.warmup);
    Timing t;
    const double n = static_cast<double>(o.iterations);
    for (std::size_t b = 0; b < o.batches; ++b) {
        const double cpu_start = thread_cpu_ns();
        const auto start = Clock::now();
        body(o.iterations);
        const auto stop = Clock::now();
        const double cpu = thread_cpu_ns() - cpu_start;
        const double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count());
        t.wall.push_back(ns / n);
        t.cpu.push_back(cpu / n);
        if (ns > 0) t.min_cpu_share = std::min(t.min_cpu_share, cpu / ns);
    }
    std::sort(t.wall.begin(), t.wall.end());
    std::sort(t.cpu.begin(), t.cpu.end());
    return t;
}

Case prepare(const Vector& v, const schema::SchemaRegistry& registry) {
    Case c;
    c.vector = &v;
    c.registry = &registry;
    auto bytes = parse_hex(v.hex);
    if (!bytes) die(std::string(v.id) + ": " + bytes.error());
    c.payload = std::move(*bytes);

    auto unwrapped = codec::unwrap(c.payload);
    if (!unwrapped) die(std::string(v.id) + ": " + unwrapped.error().message);
    auto frame = codec::parse_frame(unwrapped->rtu, codec::Direction::response);
    if (!frame) die(std::string(v.id) + ": " + frame.error().message);
    if (frame->kind != v.frame_kind) die(std::string(v.id) + ": unexpected frame kind");
    if (frame->kind == codec::FrameKind::write_multiple && frame->address != v.block)
        die(std::string(v.id) + ": push of block " + std::to_string(frame->address));
    c.data.assign(frame->data.begin(), frame->data.end());
    c.schema = registry.find(v.block);
    if (!c.schema) die(std::string(v.id) + ": no schema for block " + std::to_string(v.block));

    auto decoded = schema::decode(*c.schema, c.data);
    if (!decoded) die(std::string(v.id) + ": " + decoded.error().message);
    c.fields_present = decoded->present_count();
    c.fields_total = decoded->fields.size();
    const schema::DecodedField* field = decoded->find(v.check_key);
    const double* got = field ? std::get_if<double>(&field->value) : nullptr;
    if (!got || std::fabs(*got - v.check_value) > 1e-9)
        die(std::string(v.id) + ": " + v.check_key + " does not decode to its golden value (profile overrides applied?)");
    if (c.fields_present != v.present)
        die(std::string(v.id) + ": " + std::to_string(c.fields_present) + " fields present, the golden vector has " +
            std::to_string(v.present));
    if (full_once(c) != c.fields_present) die(std::string(v.id) + ": full path and schema-only decode disagree");
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);

    auto base = schema::SchemaRegistry::builtin();
    if (!base) die(base.error().message);
    auto profiles = profile::ProfileSet::builtin();
    if (!profiles) die(profiles.error().message);
    const profile::Profile* ap300 = profiles->find("AP300");
    if (!ap300) die("no AP300 profile");
    auto registry = base->with_overrides(ap300->overrides);
    if (!registry) die(registry.error().message);

    std::vector<Case> cases;
    for (const Vector& v : kVectors)
        if (!options.block || *options.block == v.block) cases.push_back(prepare(v, *registry));
    if (cases.empty()) die("--block must be 100, 1300 or 6000");

    struct Row {
        const Case* c;
        Timing full, schema, copy;
    };
    std::vector<Row> rows;
    std::vector<std::uint8_t> scratch(512);
    for (const Case& c : cases) {
        Row row{&c, {}, {}, {}};
        row.full = time_batches(options, [&](std::size_t n) { g_sink = g_sink + loop_full(c, n); });
        row.schema = time_batches(options, [&](std::size_t n) { g_sink = g_sink + loop_schema(c, n); });
        row.copy = time_batches(options, [&](std::size_t n) { loop_memcpy(c.payload.data(), c.payload.size(), scratch.data(), n); });
        rows.push_back(std::move(row));
    }

#ifdef NDEBUG
    const char* asserts = "NDEBUG";
#else
    const char* asserts = "asserts on";
#endif
    std::printf("bench/decode  cpu: %s (%u logical CPUs)  build: %s, g++ %s, %s\n", cpu_model().c_str(),
                std::thread::hardware_concurrency(), BLUETTI_BUILD_TYPE, __VERSION__, asserts);
    std::printf(
        "%zu batches x %zu iterations after %zu warm-up; median batch, ns per iteration; "
        "registry with AP300 overrides\n\n",
        options.batches, options.iterations, options.warmup);
    std::printf("%5s  %5s  %6s  %14s  %16s  %10s  %9s  %s\n", "block", "bytes", "fields", "ns/decode full", "ns/decode schema", "fields/s",
                "ns memcpy", "payload");
    for (const Row& r : rows) {
        const Vector& v = *r.c->vector;
        const double fields_per_s = static_cast<double>(r.c->fields_present) * 1e9 / r.full.median();
        char payload[64];
        std::snprintf(payload, sizeof payload, "%s %s, %zu B data", v.id, v.kind, r.c->data.size());
        std::printf("%5u  %5zu  %6s  %14.1f  %16.1f  %8.2f M  %9.1f  %s\n", static_cast<unsigned>(v.block), r.c->payload.size(),
                    (std::to_string(r.c->fields_present) + "/" + std::to_string(r.c->fields_total)).c_str(), r.full.median(),
                    r.schema.median(), fields_per_s / 1e6, r.copy.median(), payload);
    }
    std::printf("\nper batch, ns per iteration: wall min..max | thread-CPU median | lowest CPU/wall share\n");
    double lowest_share = 1.0;
    for (const Row& r : rows) {
        const std::pair<const char*, const Timing*> paths[] = {{"full", &r.full}, {"schema", &r.schema}, {"memcpy", &r.copy}};
        for (const auto& [name, t] : paths) {
            std::printf("%5u  %-6s  %9.1f..%-9.1f | %9.1f | %4.2f\n", static_cast<unsigned>(r.c->vector->block), name, t->min(), t->max(),
                        t->cpu_median(), t->min_cpu_share);
            lowest_share = std::min(lowest_share, t->min_cpu_share);
        }
    }
    std::printf("\nfields = present/total rows of the block; fields/s = present fields per second, full path.\n");
    if (lowest_share < 0.95)
        std::printf("warning: a batch had only %.2f of a CPU (preempted): wall figures are inflated, see thread-CPU\n", lowest_share);
    return 0;
}
