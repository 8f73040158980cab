// Where hacctl finds hacd and its credentials.
//
// Each setting is resolved in this order, first found wins:
//   1. a flag (--server, --token, --token-file, --ca-cert, --client-cert, --client-key,
//      --timeout, -o)
//   2. the environment (HAC_SERVER, HAC_TOKEN, HAC_TOKEN_FILE, HAC_CA_CERT, HAC_CLIENT_CERT,
//      HAC_CLIENT_KEY)
//   3. the config file: $HAC_CONFIG, else ~/.config/hac/config, with `key = value` lines
//      (server, token, token_file, ca_cert, client_cert, client_key, timeout, output) and '#'
//      comments
//   4. the default: server 127.0.0.1:7070, no token, plaintext, timeout 30s, table output.
// A token and a token file at the same level: the token wins. A client certificate and its key
// go together (mutual TLS): one without the other is an error naming both flags.
#ifndef HAC_CLI_CONFIG_H_
#define HAC_CLI_CONFIG_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/args.h"

namespace hac::cli {

inline constexpr char kDefaultServer[] = "127.0.0.1:7070";

// Read-only access to environment variables, so tests can supply their own.
class Environment {
 public:
  virtual ~Environment() = default;
  // The variable's value; nullopt when unset. An empty value counts as unset.
  virtual std::optional<std::string> Get(std::string_view name) const = 0;
};

// The process environment (getenv). Stateless.
class ProcessEnvironment final : public Environment {
 public:
  std::optional<std::string> Get(std::string_view name) const override;
};

// How results are printed. kCsv only where a command documents a csv layout (`bill`).
enum class OutputFormat { kTable, kJson, kCsv };

// Everything hacctl needs to talk to hacd. A plain value.
struct ClientConfig {
  // HOST:PORT of hacd.
  std::string server = kDefaultServer;
  // Bearer token; empty sends none.
  std::string token;
  // PEM file of the root certificate for TLS; empty means plaintext (or, with a client
  // certificate, TLS verified against the system's roots).
  std::string ca_cert;
  // PEM files of the client certificate chain and its private key for mutual TLS; both set or
  // both empty.
  std::string client_cert;
  std::string client_key;
  // Deadline of each unary RPC.
  absl::Duration timeout = absl::Seconds(30);
  OutputFormat output = OutputFormat::kTable;
  // Where `server` came from ("--server", "HAC_SERVER", "config file PATH", "default").
  std::string server_source = "default";
};

// The global flags every command accepts.
std::vector<FlagSpec> GlobalFlags();

// Parses config-file text: `key = value` lines, '#' comments, blank lines. Unknown keys and
// lines without '=' are INVALID_ARGUMENT naming `path` and the line number.
absl::StatusOr<std::map<std::string, std::string>> ParseConfigFile(std::string_view text,
                                                                   std::string_view path);

// Resolves the configuration from parsed global flags, `env` and the config file it names.
// A missing default config file is fine; a missing $HAC_CONFIG, unreadable token file or bad
// value is INVALID_ARGUMENT naming where the value came from.
absl::StatusOr<ClientConfig> ResolveConfig(const ParsedArgs& flags, const Environment& env);

// Reads a whole file. NOT_FOUND / PERMISSION_DENIED style errors name the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace hac::cli

#endif  // HAC_CLI_CONFIG_H_
