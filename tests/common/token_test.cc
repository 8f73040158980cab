#include "common/token.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>

namespace hac::common {
namespace {

TEST_CASE("NewToken makes distinct 256-bit tokens with the hac_ prefix") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = NewToken();
    CHECK(t.rfind("hac_", 0) == 0);
    CHECK(t.size() == 4 + 43);  // 32 bytes in unpadded base64url
    CHECK(t.find_first_not_of(
              "hac_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") ==
          std::string::npos);
    seen.insert(t);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("HashToken is SHA-256") {
  // sha256("abc") from FIPS 180-2.
  CHECK(ToHex(HashToken("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(ToHex(HashToken("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Again on the same thread's context, and on another thread's.
  CHECK(ToHex(HashToken("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string other;
  std::thread([&] { other = ToHex(HashToken("abc")); }).join();
  CHECK(other == ToHex(HashToken("abc")));
  CHECK(HashToken("a") != HashToken("b"));
  CHECK(HashToken("x").size() == 32);
}

}  // namespace
}  // namespace hac::common
