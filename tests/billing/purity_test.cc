// billing/ is a pure library (DESIGN.md): no gRPC, SQLite, protobuf, threads or wall clock, and
// no floating point anywhere near money or billable time. This test reads the sources.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace hac::billing {
namespace {

// The source with comments and string/char literals blanked out, so that prose such as
// "never a double" does not count but code does.
std::string CodeOnly(const std::string& src) {
  std::string out;
  out.reserve(src.size());
  enum { kCode, kLine, kBlock, kString, kChar } state = kCode;
  for (size_t i = 0; i < src.size(); ++i) {
    const char c = src[i];
    const char next = i + 1 < src.size() ? src[i + 1] : '\0';
    switch (state) {
      case kCode:
        if (c == '/' && next == '/') {
          state = kLine;
        } else if (c == '/' && next == '*') {
          state = kBlock;
        } else if (c == '"') {
          state = kString;
        } else if (c == '\'' && !(i > 0 && std::isalnum(static_cast<unsigned char>(src[i - 1])))) {
          state = kChar;  // not a digit separator such as 1'000
        } else {
          out.push_back(c);
        }
        break;
      case kLine:
        if (c == '\n') {
          state = kCode;
          out.push_back('\n');
        }
        break;
      case kBlock:
        if (c == '*' && next == '/') {
          state = kCode;
          ++i;
        }
        break;
      case kString:
      case kChar:
        if (c == '\\') {
          ++i;
        } else if (c == (state == kString ? '"' : '\'')) {
          state = kCode;
        }
        break;
    }
  }
  return out;
}

// Every forbidden thing found in `src` (a whole file's text), as short descriptions.
std::vector<std::string> Violations(const std::string& src) {
  std::vector<std::string> found;
  static const std::regex kInclude(R"(#\s*include\s*[<"]([^>"]+)[>"])");
  for (std::sregex_iterator it(src.begin(), src.end(), kInclude), end; it != end; ++it) {
    const std::string header = (*it)[1];
    for (const char* bad : {"grpcpp", "grpc/", "grpc++", "sqlite3.h", ".pb.h", "prometheus",
                            "<thread>", "thread", "absl/synchronization"}) {
      if (header.find(bad) != std::string::npos || header == std::string(bad)) {
        found.push_back("includes " + header);
        break;
      }
    }
  }
  const std::string code = CodeOnly(src);
  static const std::regex kBanned(
      R"(\b(float|double|ToDouble\w*|FDivDuration|strtod|stod|atof|absl::Now|system_clock|sleep_for|usleep|std::thread)\b)");
  for (std::sregex_iterator it(code.begin(), code.end(), kBanned), end; it != end; ++it) {
    found.push_back("uses " + (*it)[1].str());
  }
  return found;
}

TEST_CASE("The purity scan catches what it is meant to catch") {
  CHECK(Violations("#include <grpcpp/grpcpp.h>\n").size() == 1);
  CHECK(Violations("#include \"proto/hac/v1/billing.pb.h\"\n").size() == 1);
  CHECK(Violations("#include <sqlite3.h>\n").size() == 1);
  CHECK(Violations("double rate = 1.5;\n").size() == 1);
  CHECK(Violations("auto s = absl::ToDoubleSeconds(d); float f;\n").size() == 2);
  CHECK(Violations("// never a double\nint64_t x = 1'000; const char* s = \"float\";\n").empty());
  CHECK(Violations("/* float */ int y;\n").empty());
}

TEST_CASE("billing/ includes no gRPC, SQLite or protobuf and uses no floating point") {
  const std::filesystem::path root = std::filesystem::path(HAC_SOURCE_DIR) / "billing";
  REQUIRE(std::filesystem::is_directory(root));
  int files = 0;
  std::vector<std::string> problems;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".h" && ext != ".cc")) continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    for (const std::string& v : Violations(text.str())) {
      problems.push_back(entry.path().filename().string() + ": " + v);
    }
  }
  CHECK(files >= 16);  // the scan really read the library
  CAPTURE(problems);
  CHECK(problems.empty());
}

}  // namespace
}  // namespace hac::billing
