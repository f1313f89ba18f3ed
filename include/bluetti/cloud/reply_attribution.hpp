// ReplyAttribution: who an FC 03 reply belongs to, when another client reads the same station.
//
// FC 03 replies carry no register address (docs/protocol.md, "Correlating replies"), and the
// device's reply topic carries its answers to *anyone's* reads: the Bluetti app's, a shared
// account's, a second bridge's. So a reply that arrives while our read is in flight is ours only
// when nothing else can have produced it. This class holds what decides that, per device, as pure
// bookkeeping over time points (no I/O, no timers), so it can be tested alone:
//
//   - learned lengths: the byte count each read shape (slave, start, count) is answered with,
//     learnt from replies that could only be ours; after that a reply of another length is not
//     the answer (a real change of length is re-learnt through confirmation, see DeviceChannel);
//   - the request mirror: when the broker lets us subscribe the device's request topic, every
//     client's reads are seen in the broker's order, our own included. The device answers in that
//     order, so a reply is matched to the oldest pending read that can produce it;
//   - contention: frames that answer nothing, or other clients' reads, mean someone else is
//     reading. While that lasts (and the mirror cannot tell the replies apart) a reply is only a
//     candidate, and DeviceChannel confirms it before anyone sees it.
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

namespace bluetti::cloud {

// An FC 03 read as it appears on the request topic.
struct ReadShape {
    std::uint8_t slave = 0;
    std::uint16_t start = 0;
    std::uint16_t count = 0;
    auto operator<=>(const ReadShape&) const = default;
};

// How sure we are that a reply answers our read.
enum class Attribution {
    ours,       // nothing else could have produced it
    candidate,  // it may be ours; confirm before use
    foreign,    // the mirror shows it answers another client's read
    mismatch,   // it cannot answer our read (length)
};

class ReplyAttribution {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    struct Options {
        // How long contention lasts after the last sign of another client (without the mirror).
        std::chrono::milliseconds contention_hold{std::chrono::minutes(5)};
        // A read seen on the mirror is pending this long, then assumed unanswered.
        std::chrono::milliseconds pending_ttl{std::chrono::seconds(7)};
        // Reads kept pending at most (a flood on the request topic must not grow memory).
        std::size_t max_pending = 64;
    };

    ReplyAttribution() = default;
    explicit ReplyAttribution(Options options) : options_(options) {}

    // --- learned lengths
    std::optional<std::size_t> learned(const ReadShape& shape) const;
    void learn(const ReadShape& shape, std::size_t bytes);
    // The base rule (even, min_len ≤ n ≤ 2·count) and, once learnt, the exact length.
    bool fits(const ReadShape& shape, std::size_t min_len, std::size_t bytes) const;

    // --- the request mirror
    // A read seen on the device's request topic; `ours` when it is the payload we sent.
    void read_seen(const ReadShape& shape, bool ours, TimePoint now);
    // Our read was sent: its echo on the mirror is expected next.
    void read_sent(const ReadShape& shape, TimePoint now);
    bool echoed() const { return echoed_; }
    std::uint64_t foreign_reads() const { return foreign_reads_; }

    // --- deciding
    // An FC 03 reply of `bytes` from `slave` arrived while our read `ours` (if any) is in flight.
    // Consumes the pending mirror entry it answers.
    Attribution attribute(std::uint8_t slave, std::size_t bytes, const std::optional<ReadShape>& ours, std::size_t min_len, TimePoint now);
    // An exception to an FC 03 from `slave` (it carries no address either): the same decision.
    Attribution attribute_exception(std::uint8_t slave, const std::optional<ReadShape>& ours, TimePoint now);
    // A frame that answers nothing: someone else is reading.
    void stray_seen(TimePoint now) { last_stray_ = now; }
    bool contended(TimePoint now) const;

private:
    struct Pending {
        ReadShape shape;
        bool ours = false;
        TimePoint seen;
    };
    Options options_;
    std::map<ReadShape, std::size_t> learned_;
    std::deque<Pending> pending_;
    std::optional<TimePoint> last_stray_;    // a frame nobody's read explains
    std::optional<TimePoint> last_foreign_;  // another client's read on the mirror
    bool echoed_ = false;                    // the read in flight was seen on the mirror
    std::uint64_t foreign_reads_ = 0;

    void expire(TimePoint now);
    bool within_hold(const std::optional<TimePoint>& since, TimePoint now) const;
    // Not ours: the oldest pending read of another client it can answer, if the mirror shows one.
    Attribution consume_foreign(std::uint8_t slave, std::size_t bytes);
    // Could a reply of `bytes` from `slave` answer this read? (Pending reads of other clients are
    // judged by their learned length when we know it, else by the base rule without min_len.)
    bool could_answer(const ReadShape& shape, std::uint8_t slave, std::size_t bytes) const;
    Attribution attribute_by_mirror(std::uint8_t slave, std::size_t bytes, const ReadShape& ours, TimePoint now);
};

}  // namespace bluetti::cloud
