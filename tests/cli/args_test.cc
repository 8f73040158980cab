#include "cli/args.h"

#include <catch2/catch.hpp>

namespace hac::cli {
namespace {

std::vector<FlagSpec> Specs() {
  return {
      {.name = "name", .value_name = "NAME"},
      {.name = "label", .repeatable = true, .value_name = "K=V"},
      {.name = "wait", .boolean = true},
      {.name = "output", .short_name = "o", .value_name = "FORMAT"},
  };
}

TEST_CASE("ParseArgs accepts --flag value and --flag=value alike") {
  auto a = ParseArgs(Specs(), {"--name", "x", "pos", "--output=json"});
  REQUIRE(a.ok());
  CHECK(a->Get("name") == "x");
  CHECK(a->Get("output") == "json");
  CHECK(a->positionals() == std::vector<std::string>{"pos"});
}

TEST_CASE("ParseArgs keeps every value of a repeatable flag in order and the last of others") {
  auto a = ParseArgs(Specs(), {"--label", "a=1", "--name", "x", "--label=b=2", "--name", "y"});
  REQUIRE(a.ok());
  CHECK(a->GetAll("label") == std::vector<std::string>{"a=1", "b=2"});
  CHECK(a->Get("name") == "y");
  CHECK(a->GetAll("missing").empty());
}

TEST_CASE("ParseArgs maps a short alias to its long flag") {
  auto a = ParseArgs(Specs(), {"-o", "json"});
  REQUIRE(a.ok());
  CHECK(a->Get("output") == "json");
}

TEST_CASE("ParseArgs treats boolean flags as true unless given =false") {
  auto a = ParseArgs(Specs(), {"--wait"});
  REQUIRE(a.ok());
  CHECK(a->IsSet("wait"));
  auto b = ParseArgs(Specs(), {"--wait=false"});
  REQUIRE(b.ok());
  CHECK_FALSE(b->IsSet("wait"));
  auto c = ParseArgs(Specs(), {"--wait=maybe"});
  REQUIRE_FALSE(c.ok());
  CHECK(std::string(c.status().message()).find("--wait") != std::string::npos);
}

TEST_CASE("ParseArgs passes everything after -- through untouched") {
  auto a = ParseArgs(Specs(), {"--wait", "--", "python", "--name", "-o"});
  REQUIRE(a.ok());
  CHECK(a->has_rest());
  CHECK(a->rest() == std::vector<std::string>{"python", "--name", "-o"});
  CHECK_FALSE(a->Has("name"));
}

TEST_CASE("ParseArgs names an unknown flag and the command it was given to") {
  auto a = ParseArgs(Specs(), {"--nmae", "x"}, "submit");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(a.status().message()) ==
        "unknown flag --nmae for 'submit' (see 'hacctl submit --help')");
}

TEST_CASE("ParseArgs names a flag whose value is missing") {
  auto a = ParseArgs(Specs(), {"--name"});
  REQUIRE_FALSE(a.ok());
  CHECK(std::string(a.status().message()) == "flag --name needs a value (NAME)");
}

TEST_CASE("ParseArgs takes a value that starts with a dash when the flag needs one") {
  auto a = ParseArgs(Specs(), {"--name", "-x"});
  REQUIRE(a.ok());
  CHECK(a->Get("name") == "-x");
}

}  // namespace
}  // namespace hac::cli
