#include "common/token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "absl/strings/escaping.h"

namespace hac::common {

std::string NewToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Without randomness no token may be issued; this is not a recoverable condition.
    std::abort();
  }
  return "hac_" + absl::WebSafeBase64Escape(
                      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string HashToken(std::string_view token) {
  // OpenSSL 3's one-shot SHA256() looks the algorithm up on every call, which cost more than the
  // hashing: it is fetched once, and each thread keeps a digest context.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  } context;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int len = 0;
  if (sha256 == nullptr || context.ctx == nullptr ||
      EVP_DigestInit_ex2(context.ctx, sha256, nullptr) != 1 ||
      EVP_DigestUpdate(context.ctx, token.data(), token.size()) != 1 ||
      EVP_DigestFinal_ex(context.ctx, digest, &len) != 1 || len != sizeof digest) {
    // No SHA-256 means no token can be checked; this is not a recoverable condition.
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string ToHex(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

}  // namespace hac::common
