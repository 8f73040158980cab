#include "cli/spec.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "cli/config.h"

namespace hac::cli {
namespace {

ParsedArgs Submit(const std::vector<std::string>& args) {
  auto parsed = ParseArgs(SubmitFlags(), args, "submit");
  REQUIRE(parsed.ok());
  return *parsed;
}

std::string ErrorOf(const std::vector<std::string>& args) {
  auto spec = BuildJobSpec(Submit(args));
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

TEST_CASE("Every submit flag lands in its JobSpec field") {
  auto spec = BuildJobSpec(Submit({"--name", "train", "--device", "npu:2", "--device",
                                   "gpu:1:emu-a100", "--nodes", "3", "--memory", "2Gi", "--speed",
                                   "gpu=1500", "--optimize", "cost", "--priority", "7",
                                   "--max-runtime", "1h30m", "--max-retries", "2", "--label",
                                   "team=ml", "--label", "run=5", "--env", "A=1", "--env",
                                   "B=x=y", "--workdir", "/tmp/w", "--idempotency-key", "k-1",
                                   "--", "python", "train.py", "--steps", "5"}));
  REQUIRE(spec.ok());
  CHECK(spec->name() == "train");
  REQUIRE(spec->devices_size() == 2);
  CHECK(spec->devices(0).device_class() == "npu");
  CHECK(spec->devices(0).count() == 2);
  CHECK(spec->devices(0).model().empty());
  CHECK(spec->devices(0).nodes() == 3);
  CHECK(spec->devices(0).memory_bytes() == 2ull << 30);
  CHECK(spec->devices(0).relative_speed_permille() == 0);
  CHECK(spec->devices(1).device_class() == "gpu");
  CHECK(spec->devices(1).count() == 1);
  CHECK(spec->devices(1).model() == "emu-a100");
  CHECK(spec->devices(1).nodes() == 3);
  CHECK(spec->devices(1).memory_bytes() == 2ull << 30);
  CHECK(spec->devices(1).relative_speed_permille() == 1500);
  CHECK(spec->optimize() == hac::v1::OPTIMIZE_COST);
  CHECK(spec->priority() == 7);
  CHECK(spec->max_runtime().seconds() == 5400);
  CHECK(spec->max_runtime().nanos() == 0);
  CHECK(spec->max_retries() == 2);
  CHECK(spec->labels().size() == 2);
  CHECK(spec->labels().at("team") == "ml");
  CHECK(spec->labels().at("run") == "5");
  CHECK(spec->idempotency_key() == "k-1");
  REQUIRE(spec->has_command());
  CHECK(std::vector<std::string>(spec->command().argv().begin(), spec->command().argv().end()) ==
        std::vector<std::string>{"python", "train.py", "--steps", "5"});
  CHECK(spec->command().env().at("A") == "1");
  CHECK(spec->command().env().at("B") == "x=y");
  CHECK(spec->command().working_dir() == "/tmp/w");
}

TEST_CASE("A workload takes its args from --arg and from after --") {
  auto spec = BuildJobSpec(
      Submit({"--device", "gpu:1", "--workload", "train-mlp", "--arg", "--seed=1", "--", "--steps",
              "50"}));
  REQUIRE(spec.ok());
  REQUIRE(spec->has_workload());
  CHECK_FALSE(spec->has_command());
  CHECK(spec->workload().name() == "train-mlp");
  CHECK(std::vector<std::string>(spec->workload().args().begin(), spec->workload().args().end()) ==
        std::vector<std::string>{"--seed=1", "--steps", "50"});
}

TEST_CASE("A job without --name is named after its workload or program") {
  auto workload = BuildJobSpec(Submit({"--device", "gpu:1", "--workload", "train-mlp"}));
  REQUIRE(workload.ok());
  CHECK(workload->name() == "train-mlp");
  auto program = BuildJobSpec(Submit({"--device", "gpu:1", "--", "/opt/my job/run it.sh", "-x"}));
  REQUIRE(program.ok());
  CHECK(program->name() == "run-it.sh");
  auto odd = BuildJobSpec(Submit({"--device", "gpu:1", "--", "./__"}));
  REQUIRE(odd.ok());
  CHECK(odd->name() == "job");
  auto named = BuildJobSpec(Submit({"--device", "gpu:1", "--name", "mine", "--", "x"}));
  REQUIRE(named.ok());
  CHECK(named->name() == "mine");
}

TEST_CASE("ParseByteSize accepts plain bytes and binary suffixes") {
  CHECK(ParseByteSize("0", "--memory").value() == 0);
  CHECK(ParseByteSize("1536", "--memory").value() == 1536);
  CHECK(ParseByteSize("4Ki", "--memory").value() == 4096);
  CHECK(ParseByteSize("512Mi", "--memory").value() == 536870912);
  CHECK(ParseByteSize("16Gi", "--memory").value() == 17179869184ull);
  CHECK(ParseByteSize("2Ti", "--memory").value() == 2199023255552ull);
}

TEST_CASE("ParseByteSize rejects junk, decimals, other suffixes and overflow naming the flag") {
  for (const char* bad : {"", "Gi", "1.5Gi", "12GB", "-1", "1 Gi", "20000000Ti"}) {
    auto v = ParseByteSize(bad, "--memory");
    INFO(bad);
    REQUIRE_FALSE(v.ok());
    CHECK(std::string(v.status().message()).rfind("--memory '", 0) == 0);
  }
}

TEST_CASE("Bad submit values give INVALID_ARGUMENT naming the flag and what it expects") {
  CHECK(ErrorOf({"--device", "gpu", "--", "x"}) ==
        "--device 'gpu': expected CLASS:COUNT[:MODEL] with a positive COUNT, e.g. npu:2 or "
        "gpu:1:emu-a100");
  CHECK(ErrorOf({"--device", "gpu:0", "--", "x"}).rfind("--device 'gpu:0'", 0) == 0);
  CHECK(ErrorOf({"--device", "GPU:1", "--", "x"}).rfind("--device 'GPU:1'", 0) == 0);
  CHECK(ErrorOf({"--device", "gpu:1", "--nodes", "0", "--", "x"}) ==
        "--nodes '0': expected a positive node count");
  CHECK(ErrorOf({"--device", "gpu:1", "--memory", "lots", "--", "x"}).rfind("--memory 'lots'", 0) ==
        0);
  CHECK(ErrorOf({"--device", "gpu:1", "--speed", "gpu", "--", "x"}).rfind("--speed 'gpu'", 0) == 0);
  CHECK(ErrorOf({"--device", "gpu:1", "--speed", "npu=2000", "--", "x"}) ==
        "--speed 'npu=2000': no --device alternative of class npu");
  CHECK(ErrorOf({"--device", "gpu:1", "--optimize", "speed", "--", "x"}) ==
        "--optimize 'speed': expected time or cost");
  CHECK(ErrorOf({"--device", "gpu:1", "--priority", "high", "--", "x"}) ==
        "--priority 'high': expected a non-negative integer (0..1000)");
  CHECK(ErrorOf({"--device", "gpu:1", "--priority", "-1", "--", "x"}).rfind("--priority '-1'", 0) ==
        0);
  CHECK(ErrorOf({"--device", "gpu:1", "--max-runtime", "90", "--", "x"}) ==
        "--max-runtime '90': expected a positive duration like 90s, 30m or 2h");
  CHECK(ErrorOf({"--device", "gpu:1", "--max-retries", "x", "--", "x"}).rfind("--max-retries 'x'",
                                                                               0) == 0);
  CHECK(ErrorOf({"--device", "gpu:1", "--label", "=v", "--", "x"}) ==
        "--label '=v': expected KEY=VALUE");
  CHECK(ErrorOf({"--device", "gpu:1", "--env", "NOVALUE", "--", "x"}) ==
        "--env 'NOVALUE': expected KEY=VALUE");
  CHECK(ErrorOf({"--device", "gpu:1", "--workload", "gemm", "--env", "A=1"}) ==
        "--env and --workdir apply to a command, not to a --workload");
  CHECK(ErrorOf({"--device", "gpu:1", "--arg", "x", "--", "true"}) ==
        "--arg is an argument of a --workload; give a command's arguments after --");
}

TEST_CASE("A spec without devices or without anything to run is refused with the fix") {
  CHECK(ErrorOf({"--", "true"}).rfind("no devices: give --device CLASS:COUNT[:MODEL]", 0) == 0);
  CHECK(ErrorOf({"--device", "gpu:1"}).rfind("nothing to run: give a command after --", 0) == 0);
}

TEST_CASE("Flags override, replace or add to the fields of a -f JSON spec") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("hacctl-spec-" + std::to_string(::getpid()) +
                                                 ".json"))
          .string();
  std::ofstream(path) << R"({
    "name": "from-file",
    "devices": [{"deviceClass": "npu", "count": 4, "model": "sim-atom"}],
    "command": {"argv": ["./run.sh"], "env": {"A": "file", "C": "keep"}},
    "priority": 3,
    "maxRuntime": "120s",
    "labels": {"team": "file", "tier": "gold"}
  })";
  SECTION("the file alone") {
    auto spec = BuildJobSpec(Submit({"-f", path}));
    REQUIRE(spec.ok());
    CHECK(spec->name() == "from-file");
    REQUIRE(spec->devices_size() == 1);
    CHECK(spec->devices(0).model() == "sim-atom");
    CHECK(spec->max_runtime().seconds() == 120);
    CHECK(spec->command().argv(0) == "./run.sh");
  }
  SECTION("with overrides") {
    auto spec = BuildJobSpec(Submit({"-f", path, "--name", "from-flag", "--priority", "9",
                                     "--label", "team=flag", "--env", "A=flag", "--memory", "1Mi"}));
    REQUIRE(spec.ok());
    CHECK(spec->name() == "from-flag");
    CHECK(spec->priority() == 9);
    CHECK(spec->max_runtime().seconds() == 120);
    CHECK(spec->labels().at("team") == "flag");
    CHECK(spec->labels().at("tier") == "gold");
    CHECK(spec->command().env().at("A") == "flag");
    CHECK(spec->command().env().at("C") == "keep");
    CHECK(spec->command().argv(0) == "./run.sh");
    REQUIRE(spec->devices_size() == 1);
    CHECK(spec->devices(0).memory_bytes() == 1048576);
    CHECK(spec->devices(0).count() == 4);
  }
  SECTION("--device replaces the file's devices and a workload replaces its command") {
    auto spec = BuildJobSpec(Submit({"-f", path, "--device", "gpu:2", "--workload", "gemm"}));
    REQUIRE(spec.ok());
    REQUIRE(spec->devices_size() == 1);
    CHECK(spec->devices(0).device_class() == "gpu");
    CHECK(spec->devices(0).count() == 2);
    CHECK_FALSE(spec->has_command());
    CHECK(spec->workload().name() == "gemm");
  }
  std::filesystem::remove(path);
}

TEST_CASE("A -f file that is missing or not a JobSpec is a usage error naming it") {
  auto missing = BuildJobSpec(Submit({"-f", "/nonexistent/spec.json"}));
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()).rfind("-f: cannot open /nonexistent/spec.json", 0) ==
        0);
  auto bad = ParseJobSpecJson(R"({"nmae": "x"})", "spec.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).rfind("spec.json: not a JobSpec in protobuf JSON form",
                                                  0) == 0);
}

}  // namespace
}  // namespace hac::cli
