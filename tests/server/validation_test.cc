#include "server/validation.h"

#include <catch2/catch.hpp>
#include <string>

#include "server/limits.h"

namespace hac::server {
namespace {

hac::v1::JobSpec ValidSpec() {
  hac::v1::JobSpec s;
  s.set_name("train-1");
  auto* d = s.add_devices();
  d->set_device_class("gpu");
  d->set_count(2);
  s.mutable_command()->add_argv("python3");
  s.mutable_command()->add_argv("train.py");
  return s;
}

// The error must be INVALID_ARGUMENT and mention both the field and the limit.
void RequireInvalid(const hac::v1::JobSpec& s, const std::string& field, const std::string& limit) {
  absl::Status st = ValidateJobSpec(s);
  INFO(st.ToString());
  REQUIRE(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(st.message()).find(field) != std::string::npos);
  CHECK(std::string(st.message()).find(limit) != std::string::npos);
}

TEST_CASE("A well-formed spec is valid") { CHECK(ValidateJobSpec(ValidSpec()).ok()); }

TEST_CASE("Job names are checked for charset and length") {
  auto s = ValidSpec();
  s.set_name("");
  RequireInvalid(s, "spec.name", "1..128");
  s.set_name(std::string(129, 'a'));
  RequireInvalid(s, "spec.name", "128");
  s.set_name(std::string(128, 'a'));
  CHECK(ValidateJobSpec(s).ok());
  s.set_name("x'; DROP TABLE jobs; --");
  RequireInvalid(s, "spec.name", "[A-Za-z0-9._-]");
  s.set_name("\xed\x95\x9c\xea\xb8\x80");  // Korean: rejected cleanly, not mangled
  RequireInvalid(s, "spec.name", "[A-Za-z0-9._-]");
  s.set_name("-lead");
  RequireInvalid(s, "spec.name", "letter or digit");
}

TEST_CASE("Device requests are checked") {
  auto s = ValidSpec();
  s.clear_devices();
  RequireInvalid(s, "spec.devices", "1..4");
  s = ValidSpec();
  for (int i = 0; i < 4; ++i) *s.add_devices() = s.devices(0);
  RequireInvalid(s, "spec.devices", "1..4");
  s = ValidSpec();
  s.mutable_devices(0)->set_device_class("tpu");
  RequireInvalid(s, "spec.devices[0].device_class", "gpu or npu");
  s = ValidSpec();
  s.mutable_devices(0)->set_count(0);
  RequireInvalid(s, "spec.devices[0].count", "1..64");
  s.mutable_devices(0)->set_count(65);
  RequireInvalid(s, "spec.devices[0].count", "1..64");
  s = ValidSpec();
  s.mutable_devices(0)->set_count(64);
  s.mutable_devices(0)->set_nodes(9);
  RequireInvalid(s, "spec.devices[0]", "512");
  s = ValidSpec();
  s.mutable_devices(0)->set_memory_bytes((uint64_t{1} << 40) + 1);
  RequireInvalid(s, "spec.devices[0].memory_bytes", "1 TiB");
}

TEST_CASE("Commands are checked for argv and env limits") {
  auto s = ValidSpec();
  s.mutable_command()->clear_argv();
  RequireInvalid(s, "spec.command.argv", "at least one");
  s = ValidSpec();
  for (int i = 0; i < 256; ++i) s.mutable_command()->add_argv("x");
  RequireInvalid(s, "spec.command.argv", "256");
  s = ValidSpec();
  s.mutable_command()->add_argv(std::string(4097, 'a'));
  RequireInvalid(s, "spec.command.argv[2]", "4096");
  s = ValidSpec();
  s.mutable_command()->add_argv(std::string("a\0b", 3));
  RequireInvalid(s, "spec.command.argv[2]", "NUL");
  s = ValidSpec();
  (*s.mutable_command()->mutable_env())["HAC_VISIBLE_DEVICES"] = "0";
  RequireInvalid(s, "spec.command.env", "reserved");
  s = ValidSpec();
  (*s.mutable_command()->mutable_env())["1BAD"] = "0";
  RequireInvalid(s, "spec.command.env", "[A-Za-z_]");
  s = ValidSpec();
  (*s.mutable_command()->mutable_env())["OK_NAME"] = std::string(4097, 'v');
  RequireInvalid(s, "spec.command.env", "4096");
  s = ValidSpec();
  s.mutable_command()->set_working_dir(std::string(1025, 'd'));
  RequireInvalid(s, "spec.command.working_dir", "1024");
}

TEST_CASE("A spec must say what to run, and workloads must be built-in") {
  auto s = ValidSpec();
  s.clear_command();
  RequireInvalid(s, "spec.run", "command or workload");
  s.mutable_workload()->set_name("bitcoin-miner");
  RequireInvalid(s, "spec.workload.name", "train-mlp");
  s.mutable_workload()->set_name("train-mlp");
  CHECK(ValidateJobSpec(s).ok());
}

TEST_CASE("Priority, max runtime and retries are bounded") {
  auto s = ValidSpec();
  s.set_priority(1001);
  RequireInvalid(s, "spec.priority", "0..1000");
  s = ValidSpec();
  s.set_priority(-1);
  RequireInvalid(s, "spec.priority", "0..1000");
  s = ValidSpec();
  s.mutable_max_runtime()->set_seconds(0);
  RequireInvalid(s, "spec.max_runtime", "1s..720h");
  s.mutable_max_runtime()->set_seconds(30 * 24 * 3600 + 1);
  RequireInvalid(s, "spec.max_runtime", "1s..720h");
  s = ValidSpec();
  s.set_max_retries(11);
  RequireInvalid(s, "spec.max_retries", "0..10");
}

TEST_CASE("Labels keep Unicode and SQL-looking values exactly, and bound their size") {
  auto s = ValidSpec();
  (*s.mutable_labels())["team"] = "\xed\x95\x9c\xea\xb8\x80 '); DELETE FROM jobs; --";
  CHECK(ValidateJobSpec(s).ok());
  (*s.mutable_labels())["bad"] = "\xff\xfe";
  RequireInvalid(s, "spec.labels", "UTF-8");
  s = ValidSpec();
  (*s.mutable_labels())["k"] = std::string(257, 'v');
  RequireInvalid(s, "spec.labels", "256");
  s = ValidSpec();
  (*s.mutable_labels())["bad key"] = "v";
  RequireInvalid(s, "spec.labels", "[A-Za-z0-9._/-]");
  s = ValidSpec();
  for (int i = 0; i < 33; ++i) (*s.mutable_labels())["k" + std::to_string(i)] = "v";
  RequireInvalid(s, "spec.labels", "32");
}

TEST_CASE("Idempotency keys are printable ASCII up to 128 characters") {
  auto s = ValidSpec();
  s.set_idempotency_key(std::string(129, 'k'));
  RequireInvalid(s, "spec.idempotency_key", "128");
  s.set_idempotency_key("has space");
  RequireInvalid(s, "spec.idempotency_key", "printable");
  s.set_idempotency_key("order-2026-11-28/7");
  CHECK(ValidateJobSpec(s).ok());
}

TEST_CASE("Defaults fill nodes, speed, max runtime and optimize, and are idempotent") {
  auto s = ValidSpec();
  ApplyJobSpecDefaults(s);
  CHECK(s.devices(0).nodes() == 1);
  CHECK(s.devices(0).relative_speed_permille() == 1000);
  CHECK(s.max_runtime().seconds() == 24 * 3600);
  CHECK(s.optimize() == hac::v1::OPTIMIZE_TIME);
  auto again = s;
  ApplyJobSpecDefaults(again);
  CHECK(again.SerializeAsString() == s.SerializeAsString());
}

TEST_CASE("Tenant names are lowercase DNS-like labels") {
  CHECK(ValidateName63("name", "acme-ai").ok());
  CHECK(ValidateName63("name", "Acme").code() == absl::StatusCode::kInvalidArgument);
  CHECK(ValidateName63("name", std::string(64, 'a')).code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(ValidateName63("name", "").message()).find("1..63") != std::string::npos);
}

}  // namespace
}  // namespace hac::server
