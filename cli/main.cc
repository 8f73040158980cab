// hacctl: the command-line client of OpenHAC. Composition root: wires the process environment,
// the real clock, gRPC channels and stdout/stderr into hac::cli::App. See docs/cli.md.
#include <iostream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/channel.h"
#include "cli/config.h"
#include "common/clock.h"

#if defined(__SANITIZE_ADDRESS__)
// Debian's c-ares (used by gRPC to resolve host names such as "localhost") leaks one small
// allocation per process; in sanitizer builds that turned every successful command into exit
// code 1. Only that library is suppressed; leaks in our code are still reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcares.so\n"; }
extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }
#endif

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  hac::cli::ProcessEnvironment env;
  hac::common::RealClock clock;
  hac::cli::App app(env, clock, hac::cli::MakeChannel, std::cout, std::cerr);
  return app.Run(std::vector<std::string>(argv + 1, argv + argc));
}
