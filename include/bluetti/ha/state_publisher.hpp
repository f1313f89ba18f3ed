// StatePublisher: what a station needs of the local broker session, and nothing more: retained
// states (block states, availability, diagnostics) and its discovery source. LocalSession is the
// real one; the station's unit tests record the calls instead. It never connects, subscribes or
// decides when anything is sent: that is LocalSession's business.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bluetti/ha/discovery.hpp"

namespace bluetti::ha {

class StatePublisher {
public:
    // Builds an owner's discovery configs when they are sent (they are not kept).
    using DiscoverySource = std::function<std::vector<Message>()>;

    virtual ~StatePublisher() = default;
    // A retained state or availability; unchanged payloads need not be re-sent unless `force`.
    // (Implementations keep the same default: a default argument follows the static type.)
    virtual void publish_retained(const std::string& topic, const std::string& payload, bool force = false) = 0;
    // The discovery configs of `owner` are what `source` builds; `force` re-sends them all.
    virtual void set_discovery(const std::string& owner, DiscoverySource source, bool force = false) = 0;
    // The source is going away: its configs stay, the source is called no more.
    virtual void forget_source(const std::string& owner) = 0;
};

}  // namespace bluetti::ha
