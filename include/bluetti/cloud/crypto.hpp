// The hashing and AES primitives of the Bluetti account flow (docs/protocol.md §1), on OpenSSL 3 EVP.
// Pure functions: no I/O, no logging (callers must never log their inputs: passwords, tokens).
#pragma once

#include <string>
#include <string_view>

#include "bluetti/hex.hpp"
#include "bluetti/result.hpp"

namespace bluetti::cloud {

std::string sha256_hex_upper(std::string_view text);
std::string md5_hex_upper(ByteSpan bytes);
std::string md5_hex_upper(std::string_view text);

// AES-256-ECB with PKCS#7 padding; the key is exactly 32 bytes (here: 32 ASCII hex characters).
Result<Bytes, std::string> aes256_ecb_encrypt(std::string_view key, ByteSpan plaintext);
Result<Bytes, std::string> aes256_ecb_decrypt(std::string_view key, ByteSpan ciphertext);

}  // namespace bluetti::cloud
