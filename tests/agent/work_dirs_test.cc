// WorkDirs on a real directory tree: fresh directories, reuse of empty ones, full ones left alone.
#include "agent/work_dirs.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testing/temp_dir.h"

namespace hac::agent {
namespace {

namespace fs = std::filesystem;

TEST_CASE("WorkDirs makes <root>/<attempt-id> and reuses a directory its attempt left empty") {
  testing::TempDir dir;
  WorkDirs dirs(dir.path());
  absl::StatusOr<std::string> a = dirs.Make("j-1.1");
  REQUIRE(a.ok());
  CHECK(*a == dir.File("j-1.1"));
  CHECK(fs::is_directory(*a));
  CHECK(fs::is_empty(*a));

  dirs.Release(*a);
  CHECK(dirs.spare() == 1);
  absl::StatusOr<std::string> b = dirs.Make("j-2.1");
  REQUIRE(b.ok());
  CHECK(*b == dir.File("j-2.1"));
  CHECK(fs::is_directory(*b));
  CHECK(fs::is_empty(*b));
  // Renamed, not copied: the empty directory of j-1.1 became j-2.1's.
  CHECK_FALSE(fs::exists(dir.File("j-1.1")));
  CHECK(dirs.spare() == 0);
}

TEST_CASE("WorkDirs leaves a directory with something in it where it is") {
  testing::TempDir dir;
  WorkDirs dirs(dir.path());
  absl::StatusOr<std::string> a = dirs.Make("j-1.1");
  REQUIRE(a.ok());
  std::ofstream(*a + "/checkpoint") << "epoch 3\n";
  dirs.Release(*a);
  CHECK(dirs.spare() == 0);
  absl::StatusOr<std::string> b = dirs.Make("j-2.1");
  REQUIRE(b.ok());
  CHECK(fs::is_empty(*b));
  std::ifstream in(dir.File("j-1.1/checkpoint"));
  std::string line;
  std::getline(in, line);
  CHECK(line == "epoch 3");
}

TEST_CASE("WorkDirs keeps what is already at an attempt's path and the spare for later") {
  testing::TempDir dir;
  WorkDirs dirs(dir.path());
  fs::create_directories(dir.File("j-3.1"));
  std::ofstream(dir.File("j-3.1/out")) << "x";
  absl::StatusOr<std::string> spare = dirs.Make("j-1.1");
  REQUIRE(spare.ok());
  dirs.Release(*spare);
  REQUIRE(dirs.spare() == 1);
  absl::StatusOr<std::string> c = dirs.Make("j-3.1");
  REQUIRE(c.ok());
  CHECK(fs::exists(dir.File("j-3.1/out")));
  CHECK(fs::exists(dir.File("j-1.1")));
  CHECK(dirs.spare() == 1);
}

TEST_CASE("WorkDirs keeps at most kMaxSpare empty directories and names the path it cannot make") {
  testing::TempDir dir;
  WorkDirs dirs(dir.path());
  std::vector<std::string> made;
  for (size_t i = 0; i < WorkDirs::kMaxSpare + 3; ++i) {
    absl::StatusOr<std::string> d = dirs.Make("j-" + std::to_string(i) + ".1");
    REQUIRE(d.ok());
    made.push_back(*d);
  }
  for (const std::string& d : made) dirs.Release(d);
  CHECK(dirs.spare() == WorkDirs::kMaxSpare);
  // The ones not kept stay where they are.
  CHECK(fs::is_directory(made.back()));

  WorkDirs missing(dir.File("no/such/root"));
  absl::StatusOr<std::string> bad = missing.Make("j-9.1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(bad.status().message().find(dir.File("no/such/root/j-9.1")) != std::string::npos);
}

}  // namespace
}  // namespace hac::agent
