#include "common/flags.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace hac::common {
namespace {

std::vector<std::string> Normalize(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  NormalizeFlagNames(static_cast<int>(argv.size()), argv.data());
  std::vector<std::string> out;
  for (char* a : argv) out.emplace_back(a);
  return out;
}

TEST_CASE("NormalizeFlagNames turns dashes in flag names into underscores, not in values") {
  auto out = Normalize({"hacd", "--metrics-listen=127.0.0.1:0", "--admin-token-file",
                        "/tmp/a-b", "-tls-cert=x-y", "positional-arg", "--", "--keep-me"});
  CHECK(out == std::vector<std::string>{"hacd", "--metrics_listen=127.0.0.1:0",
                                        "--admin_token_file", "/tmp/a-b", "-tls_cert=x-y",
                                        "positional-arg", "--", "--keep-me"});
}

}  // namespace
}  // namespace hac::common
