// A small command-line parser for hacctl: flags declared per command, no global state.
//
// Accepts `--flag value`, `--flag=value`, `-f value` (single-letter aliases), boolean flags
// (`--wait`, or `--wait=true|false`), repeatable flags (every value kept, in order) and `--`,
// after which every argument is passed through untouched. Anything else that does not start
// with `-` is a positional argument. Flags may come before or after positionals.
//
//   std::vector<FlagSpec> flags = {{.name = "name", .value_name = "NAME"},
//                                  {.name = "wait", .boolean = true}};
//   absl::StatusOr<ParsedArgs> args = ParseArgs(flags, {"--name=x", "--wait", "--", "a"});
//   args->Get("name");  // "x"
//   args->rest();        // {"a"}
#ifndef HAC_CLI_ARGS_H_
#define HAC_CLI_ARGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace hac::cli {

// One flag a command accepts.
struct FlagSpec {
  // Long name without dashes: "server" for --server.
  std::string name{};
  // Optional one-letter alias without the dash: "o" for -o. Empty for none.
  std::string short_name{};
  // A flag that takes no value (--wait). Otherwise the flag needs a value.
  bool boolean = false;
  // Every occurrence is kept (--label a=1 --label b=2). Otherwise the last one wins.
  bool repeatable = false;
  // Name of the value in help text ("HOST:PORT").
  std::string value_name{};
  // One line of help.
  std::string help{};
};

// The result of parsing: flag values, positionals and the arguments after `--`.
// A plain value type; not thread-safe to mutate.
class ParsedArgs {
 public:
  // True when the flag appeared at least once.
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The flag's last value, if it appeared. Boolean flags have the value "true" or "false".
  std::optional<std::string> Get(const std::string& name) const;
  // Every value of the flag, in order; empty if it never appeared.
  const std::vector<std::string>& GetAll(const std::string& name) const;
  // True when a boolean flag is set (and not set to false).
  bool IsSet(const std::string& name) const { return Get(name).value_or("false") == "true"; }

  const std::vector<std::string>& positionals() const { return positionals_; }
  // Arguments after `--`.
  const std::vector<std::string>& rest() const { return rest_; }
  // True when `--` appeared (even with nothing after it).
  bool has_rest() const { return has_rest_; }

  void AddValue(const std::string& name, std::string value) {
    values_[name].push_back(std::move(value));
  }
  void AddPositional(std::string value) { positionals_.push_back(std::move(value)); }
  void AddRest(std::string value) { rest_.push_back(std::move(value)); }
  void set_has_rest(bool v) { has_rest_ = v; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
  std::vector<std::string> rest_;
  bool has_rest_ = false;
};

// Parses `args` (without the program name) against `specs`. An unknown flag, a missing value
// or a bad boolean is INVALID_ARGUMENT naming the flag. `context` names the command in error
// messages ("submit").
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<FlagSpec>& specs,
                                     const std::vector<std::string>& args,
                                     const std::string& context = "hacctl");

// Help lines for `specs`, one per flag: "  --server HOST:PORT   address of hacd".
std::string FlagHelp(const std::vector<FlagSpec>& specs);

}  // namespace hac::cli

#endif  // HAC_CLI_ARGS_H_
