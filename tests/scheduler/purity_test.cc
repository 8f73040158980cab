// scheduler/ is a pure library: no gRPC, SQLite, protobuf or threads (STYLE.md).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::filesystem::path> SchedulerSources() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(HAC_SOURCE_DIR "/scheduler")) {
    auto ext = e.path().extension();
    if (ext == ".h" || ext == ".cc") out.push_back(e.path());
  }
  return out;
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("The scheduler library includes no gRPC, SQLite, protobuf or thread headers") {
  std::vector<std::filesystem::path> files = SchedulerSources();
  // scheduler.h, scheduler.cc and the policy files at least.
  REQUIRE(files.size() >= 10);
  const std::vector<std::string> forbidden = {"grpcpp", "sqlite3.h", ".pb.h", "<thread>",
                                              "<mutex>", "absl/synchronization"};
  for (const auto& f : files) {
    std::string text = Slurp(f);
    REQUIRE_FALSE(text.empty());
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("#include", 0) != 0) continue;
      for (const std::string& bad : forbidden) {
        INFO(f.filename().string() << ": " << line);
        CHECK(line.find(bad) == std::string::npos);
      }
    }
  }
}
