#include "bluetti/cloud/crypto.hpp"

#include <openssl/evp.h>

#include <memory>

namespace bluetti::cloud {

namespace {

std::string upper_hex(const unsigned char* digest, unsigned int size) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out.push_back(digits[digest[i] >> 4]);
        out.push_back(digits[digest[i] & 0x0F]);
    }
    return out;
}

std::string digest_hex(const EVP_MD* md, const void* data, std::size_t size) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data, size, digest, &length, md, nullptr);
    return upper_hex(digest, length);
}

Result<Bytes, std::string> aes256_ecb(bool encrypt, std::string_view key, ByteSpan input) {
    if (key.size() != 32) return fail("AES-256 key must be 32 bytes, got " + std::to_string(key.size()));
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    const auto* k = reinterpret_cast<const unsigned char*>(key.data());
    if (!ctx || EVP_CipherInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, k, nullptr, encrypt ? 1 : 0) != 1) {
        return fail(std::string("cannot initialise AES-256-ECB"));
    }
    Bytes out(input.size() + 32);
    int written = 0, final_written = 0;
    if (EVP_CipherUpdate(ctx.get(), out.data(), &written, input.data(), static_cast<int>(input.size())) != 1 ||
        EVP_CipherFinal_ex(ctx.get(), out.data() + written, &final_written) != 1) {
        return fail(std::string(encrypt ? "AES encryption failed" : "AES decryption failed (wrong key or bad padding)"));
    }
    out.resize(static_cast<std::size_t>(written + final_written));
    return out;
}

}  // namespace

std::string sha256_hex_upper(std::string_view text) {
    return digest_hex(EVP_sha256(), text.data(), text.size());
}
std::string md5_hex_upper(ByteSpan bytes) {
    return digest_hex(EVP_md5(), bytes.data(), bytes.size());
}
std::string md5_hex_upper(std::string_view text) {
    return digest_hex(EVP_md5(), text.data(), text.size());
}

Result<Bytes, std::string> aes256_ecb_encrypt(std::string_view key, ByteSpan plaintext) {
    return aes256_ecb(true, key, plaintext);
}
Result<Bytes, std::string> aes256_ecb_decrypt(std::string_view key, ByteSpan ciphertext) {
    return aes256_ecb(false, key, ciphertext);
}

}  // namespace bluetti::cloud
