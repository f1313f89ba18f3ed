#include "bluetti/cloud/reply_attribution.hpp"

#include <algorithm>

namespace bluetti::cloud {

std::optional<std::size_t> ReplyAttribution::learned(const ReadShape& shape) const {
    auto it = learned_.find(shape);
    if (it == learned_.end()) return std::nullopt;
    return it->second;
}

void ReplyAttribution::learn(const ReadShape& shape, std::size_t bytes) {
    learned_[shape] = bytes;
}

bool ReplyAttribution::fits(const ReadShape& shape, std::size_t min_len, std::size_t bytes) const {
    return bytes % 2 == 0 && bytes >= min_len && bytes <= 2u * shape.count;
}

bool ReplyAttribution::could_answer(const ReadShape& shape, std::uint8_t slave, std::size_t bytes) const {
    if (shape.slave != slave || bytes % 2 != 0 || bytes > 2u * shape.count) return false;
    const auto known = learned(shape);
    return !known || *known == bytes;
}

void ReplyAttribution::expire(TimePoint now) {
    while (!pending_.empty() && (now - pending_.front().seen > options_.pending_ttl || pending_.size() > options_.max_pending))
        pending_.pop_front();
}

void ReplyAttribution::read_sent(const ReadShape&, TimePoint now) {
    echoed_ = false;
    expire(now);
}

void ReplyAttribution::read_seen(const ReadShape& shape, bool ours, TimePoint now) {
    expire(now);
    if (ours) {
        echoed_ = true;
    } else {
        ++foreign_reads_;
        last_foreign_ = now;
    }
    pending_.push_back({shape, ours, now});
    expire(now);
}

bool ReplyAttribution::within_hold(const std::optional<TimePoint>& since, TimePoint now) const {
    return since && now - *since < options_.contention_hold;
}

bool ReplyAttribution::contended(TimePoint now) const {
    return within_hold(last_stray_, now) || within_hold(last_foreign_, now);
}

Attribution ReplyAttribution::attribute(std::uint8_t slave, std::size_t bytes, const std::optional<ReadShape>& ours, std::size_t min_len,
                                        TimePoint now) {
    expire(now);
    if (!ours || ours->slave != slave || !fits(*ours, min_len, bytes)) return consume_foreign(slave, bytes);
    if (echoed_) return attribute_by_mirror(slave, bytes, *ours, now);
    // No mirror: only the learned length and the absence of other clients speak for it.
    const auto known = learned(*ours);
    if (known && *known != bytes) return contended(now) ? Attribution::mismatch : Attribution::candidate;
    return contended(now) ? Attribution::candidate : Attribution::ours;
}

Attribution ReplyAttribution::consume_foreign(std::uint8_t slave, std::size_t bytes) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (it->ours || !could_answer(it->shape, slave, bytes)) continue;
        pending_.erase(it);
        return Attribution::foreign;
    }
    return Attribution::mismatch;
}

Attribution ReplyAttribution::attribute_by_mirror(std::uint8_t slave, std::size_t bytes, const ReadShape& ours, TimePoint now) {
    const auto known = learned(ours);
    const bool length_ok = !known || *known == bytes;
    // The device answers in the broker's order: the oldest pending read that can produce this
    // reply is the one it answers.
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (it->ours) {
            if (!length_ok || it->shape != ours) continue;
            pending_.erase(it);
            // Another client's read of a different shape still pending that could have produced
            // the same bytes: the order alone decides, and a read the device dropped would shift
            // it. Confirm. Unexplained frames lately: someone reads whom the mirror does not show.
            const bool rival = std::any_of(pending_.begin(), pending_.end(), [&](const Pending& p) {
                return !p.ours && p.shape != ours && could_answer(p.shape, slave, bytes);
            });
            return rival || within_hold(last_stray_, now) ? Attribution::candidate : Attribution::ours;
        }
        if (could_answer(it->shape, slave, bytes)) {
            pending_.erase(it);
            return Attribution::foreign;
        }
    }
    // Nothing pending explains it (our entry expired, or a length we have not learnt): maybe ours.
    return Attribution::candidate;
}

Attribution ReplyAttribution::attribute_exception(std::uint8_t slave, const std::optional<ReadShape>& ours, TimePoint now) {
    expire(now);
    auto same_slave = [slave](const Pending& p) { return p.shape.slave == slave; };
    if (!ours || ours->slave != slave || !echoed_) {
        if (ours && ours->slave == slave) return contended(now) ? Attribution::candidate : Attribution::ours;
        auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return !p.ours && same_slave(p); });
        if (it == pending_.end()) return Attribution::mismatch;
        pending_.erase(it);
        return Attribution::foreign;
    }
    auto first = std::find_if(pending_.begin(), pending_.end(), same_slave);
    if (first == pending_.end()) return Attribution::candidate;
    const bool mine = first->ours && first->shape == *ours;
    pending_.erase(first);
    if (!mine) return Attribution::foreign;
    const bool rival = std::any_of(pending_.begin(), pending_.end(), [&](const Pending& p) { return !p.ours && same_slave(p); });
    return rival || within_hold(last_stray_, now) ? Attribution::candidate : Attribution::ours;
}

}  // namespace bluetti::cloud
