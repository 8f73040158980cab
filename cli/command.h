// What every hacctl command is made of: a Session (one run's configuration, channel, clock and
// output streams) and a Command (its words, flags and handler). app.cc holds the command table
// and dispatch; the handlers live with their topic (app.cc for jobs and administration,
// billing_commands.cc for usage, bills, prices, invoices and budgets).
#ifndef HAC_CLI_COMMAND_H_
#define HAC_CLI_COMMAND_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/args.h"
#include "cli/config.h"
#include "common/clock.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace hac::cli {

// One command's run: its configuration, its channel and its output. Owned by App::Run for the
// length of one command; not thread-safe.
class Session {
 public:
  Session(ClientConfig config, std::shared_ptr<grpc::Channel> channel, const common::Clock& clock,
          std::ostream& out, std::ostream& err)
      : config_(std::move(config)), channel_(std::move(channel)), clock_(clock), out_(out),
        err_(err) {}

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const common::Clock& clock() const { return clock_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  OutputFormat output() const { return config_.output; }
  bool json() const { return config_.output == OutputFormat::kJson; }

  // Adds the bearer token and, for unary calls, the deadline.
  void Prepare(grpc::ClientContext& ctx, bool with_deadline) const;

  // Prints a failed call in a way a person can act on; returns kExitServerError.
  int ServerError(const grpc::Status& status);

  // Prints a local mistake (bad value, unreadable file); returns kExitUsage.
  int UsageError(const absl::Status& status);

  // Prints `message` as one line of canonical JSON; returns kExitOk.
  int PrintJson(const google::protobuf::Message& message);

 private:
  ClientConfig config_;
  std::shared_ptr<grpc::Channel> channel_;
  const common::Clock& clock_;
  std::ostream& out_;
  std::ostream& err_;
};

// Runs a command with its parsed flags; returns the exit code (exit_code.h).
using Handler = int (*)(Session&, const ParsedArgs&);

// A command: its words ("tenant create"), positionals, flags and handler.
struct Command {
  std::string name{};
  std::string args{};  // Positionals for the usage line: "ID", "TENANT CLASS MAX".
  std::string summary{};
  std::vector<FlagSpec> flags{};
  size_t min_args = 0;
  size_t max_args = 0;
  Handler handler = nullptr;
  bool needs_server = true;
  // Whether `-o csv` is accepted (only where a csv layout is documented).
  bool csv = false;
};

}  // namespace hac::cli

#endif  // HAC_CLI_COMMAND_H_
