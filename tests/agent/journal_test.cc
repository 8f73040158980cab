// Journal under concurrency: synced puts from many threads share fdatasyncs, and nothing is lost
// or resurrected across the compactions that removals trigger meanwhile.
#include "agent/journal.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/temp_dir.h"

namespace hac::agent {
namespace {

TEST_CASE("Journal: concurrent synced puts share fdatasyncs and survive compactions") {
  testing::TempDir dir;
  const std::string path = dir.File("journal");
  std::unique_ptr<Journal> j = Journal::Open(path);
  constexpr int kThreads = 8;
  constexpr int kPuts = 300;
  const std::string filler(600, 'v');
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPuts; ++i) {
        const std::string key = absl::StrCat("j-", t, ".", i);
        REQUIRE(j->Put(key, absl::StrCat(filler, i), /*sync=*/true).ok());
        // Each thread keeps only its latest key: the file fills with dead records and compacts.
        if (i > 0) j->Remove(absl::StrCat("j-", t, ".", i - 1));
      }
    });
  }
  for (std::thread& t : threads) t.join();

  std::map<std::string, std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    expected[absl::StrCat("j-", t, ".", kPuts - 1)] = absl::StrCat(filler, kPuts - 1);
  }
  CHECK(Journal::Read(path) == expected);
  // 2,400 puts of about 620 bytes passed through, more than kCompactBytes: it compacted.
  CHECK(j->bytes() < Journal::kCompactBytes);
  // Eight writers at once: most of them found an fdatasync to share.
  CHECK(j->syncs() >= 1);
  CHECK(j->syncs() < kThreads * kPuts);
  std::unique_ptr<Journal> again = Journal::Open(path);
  CHECK(again->Load() == expected);
}

}  // namespace
}  // namespace hac::agent
