// The one natural order of keys and ids that lists show to people: "cell2" before "cell10".
// Discovery sorts a station's entities with it and `bluetti-cli entities` lists them with it.
#pragma once

#include <cstddef>
#include <string_view>

namespace bluetti {

// Runs of ASCII digits compare as numbers, everything else byte by byte. A strict weak order (it
// can sort and key a std::map): of two equal numbers the one with fewer leading zeros comes first
// ("1" before "01"), so distinct strings never tie.
inline bool natural_less(std::string_view a, std::string_view b) {
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            std::size_t ie = i, je = j;
            while (ie < a.size() && digit(a[ie])) ++ie;
            while (je < b.size() && digit(b[je])) ++je;
            // Without leading zeros the shorter run is the smaller number; equal lengths compare as text.
            std::size_t iz = i, jz = j;
            while (iz + 1 < ie && a[iz] == '0') ++iz;
            while (jz + 1 < je && b[jz] == '0') ++jz;
            const std::string_view na = a.substr(iz, ie - iz), nb = b.substr(jz, je - jz);
            if (na.size() != nb.size()) return na.size() < nb.size();
            if (na != nb) return na < nb;
            if (ie - i != je - j) return ie - i < je - j;
            i = ie;
            j = je;
            continue;
        }
        if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

// natural_less as a comparator type for std::map and std::set.
struct NaturalLess {
    bool operator()(std::string_view a, std::string_view b) const { return natural_less(a, b); }
};

}  // namespace bluetti
