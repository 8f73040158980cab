// hacctl: the command-line client of OpenHAC. Composition root: wires the process environment,
// the real clock, gRPC channels and stdout/stderr into hac::cli::App. See docs/cli.md.
#include <iostream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/channel.h"
#include "cli/config.h"
#include "common/clock.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  hac::cli::ProcessEnvironment env;
  hac::common::RealClock clock;
  hac::cli::App app(env, clock, hac::cli::MakeChannel, std::cout, std::cerr);
  return app.Run(std::vector<std::string>(argv + 1, argv + argc));
}
