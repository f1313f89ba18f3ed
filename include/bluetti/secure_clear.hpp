// Wiping secrets (account password, token, PKCS#12 bytes and password) from memory once they are
// used, so they do not linger in freed heap blocks or in a core dump made despite
// PR_SET_DUMPABLE=0 and LimitCORE=0. OPENSSL_cleanse cannot be optimised away like a memset.
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <vector>

namespace bluetti {

// Overwrites the whole buffer (up to its capacity: a shorter earlier value or the small-string
// buffer may still hold secret bytes) and empties the string.
inline void secure_clear(std::string& s) {
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

template <class Byte>
void secure_clear(std::vector<Byte>& v) {
    v.resize(v.capacity());
    OPENSSL_cleanse(v.data(), v.size() * sizeof(Byte));
    v.clear();
}

}  // namespace bluetti
