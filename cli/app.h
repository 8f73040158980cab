// hacctl's commands: the whole command line in, an exit code out.
//
// App owns no global state: the environment, the clock, how a channel is made and where output
// goes are injected, so tests run any command line against an in-process fake server.
// main.cc wires the real ones. Not thread-safe; one Run() at a time.
//
//   hac::cli::App app(env, clock, hac::cli::MakeChannel, std::cout, std::cerr);
//   return app.Run({"submit", "--device", "gpu:1", "--", "true"});
#ifndef HAC_CLI_APP_H_
#define HAC_CLI_APP_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/config.h"
#include "common/clock.h"
#include "grpcpp/channel.h"

namespace hac::cli {

inline constexpr char kVersion[] = "0.1.0";

// Makes the channel to hacd for a resolved configuration.
using ChannelFactory =
    std::function<absl::StatusOr<std::shared_ptr<grpc::Channel>>(const ClientConfig&)>;

// The hacctl program. See docs/cli.md for every command.
class App {
 public:
  // All references must outlive the App.
  App(const Environment& env, const common::Clock& clock, ChannelFactory channel_factory,
      std::ostream& out, std::ostream& err)
      : env_(env), clock_(clock), channel_factory_(std::move(channel_factory)), out_(out),
        err_(err) {}

  // Runs one command line (without the program name) and returns the exit code (exit_code.h).
  int Run(const std::vector<std::string>& args);

 private:
  const Environment& env_;
  const common::Clock& clock_;
  ChannelFactory channel_factory_;
  std::ostream& out_;
  std::ostream& err_;
};

// The text of `hacctl help`: commands, global flags, environment, exit codes.
std::string GeneralHelp();

}  // namespace hac::cli

#endif  // HAC_CLI_APP_H_
