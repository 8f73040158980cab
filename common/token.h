// Bearer tokens: random secrets shown once, stored only as their SHA-256.
//
//   std::string secret = NewToken();            // "hac_" + 43 base64url characters (256 bits)
//   std::string stored = HashToken(secret);     // 32 raw bytes, what the store keeps
//
// Thread-safe (OpenSSL's RAND_bytes and SHA256 are).
#ifndef HAC_COMMON_TOKEN_H_
#define HAC_COMMON_TOKEN_H_

#include <string>
#include <string_view>

namespace hac::common {

// A new random token: "hac_" followed by 32 random bytes in unpadded base64url.
std::string NewToken();

// SHA-256 of the token, 32 raw bytes.
std::string HashToken(std::string_view token);

// Hex of bytes, lowercase ("a1b2..."); for logs and file names, never for secrets.
std::string ToHex(std::string_view bytes);

}  // namespace hac::common

#endif  // HAC_COMMON_TOKEN_H_
