#include "cli/config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace hac::cli {
namespace {

constexpr const char* kConfigKeys[] = {"server",      "token",      "token_file", "ca_cert",
                                       "client_cert", "client_key", "timeout",    "output"};

// A setting and where it came from.
struct Found {
  std::string value;
  std::string source;
};

absl::StatusOr<OutputFormat> ParseOutput(const std::string& v, const std::string& source) {
  if (v == "table") return OutputFormat::kTable;
  if (v == "json") return OutputFormat::kJson;
  if (v == "csv") return OutputFormat::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": output format '", v, "' is not table, json or csv"));
}

absl::StatusOr<std::string> ReadToken(const std::string& path, const std::string& source) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": cannot read token file: ", text.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": token file ", path, " is empty"));
  }
  return token;
}

}  // namespace

std::optional<std::string> ProcessEnvironment::Get(std::string_view name) const {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::vector<FlagSpec> GlobalFlags() {
  return {
      {.name = "server", .value_name = "HOST:PORT",
       .help = "address of hacd (env HAC_SERVER; default 127.0.0.1:7070)"},
      {.name = "token", .value_name = "TOKEN", .help = "bearer token (env HAC_TOKEN)"},
      {.name = "token-file", .value_name = "PATH",
       .help = "file holding the bearer token (env HAC_TOKEN_FILE)"},
      {.name = "ca-cert", .value_name = "PATH",
       .help = "PEM root certificate: use TLS (env HAC_CA_CERT; default plaintext)"},
      {.name = "client-cert", .value_name = "PATH",
       .help = "PEM client certificate chain for mutual TLS, with --client-key (env "
               "HAC_CLIENT_CERT)"},
      {.name = "client-key", .value_name = "PATH",
       .help = "PEM private key of --client-cert (env HAC_CLIENT_KEY)"},
      {.name = "timeout", .value_name = "DURATION",
       .help = "deadline of each call, e.g. 10s (default 30s)"},
      {.name = "output", .short_name = "o", .value_name = "table|json|csv",
       .help = "output format (json: the API response as canonical protobuf JSON; csv: bill)"},
      {.name = "help", .short_name = "h", .boolean = true, .help = "show help"},
  };
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return ss.str();
}

absl::StatusOr<std::map<std::string, std::string>> ParseConfigFile(std::string_view text,
                                                                   std::string_view path) {
  std::map<std::string, std::string> out;
  const absl::string_view where(path.data(), path.size());
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    absl::string_view line = raw;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ":", line_no, ": expected `key = value`, got '", line, "'"));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    bool known = false;
    for (const char* k : kConfigKeys) known = known || key == k;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ":", line_no, ": unknown key '", key,
                       "' (expected server, token, token_file, ca_cert, client_cert, client_key, "
                       "timeout or output)"));
    }
    out[key] = value;
  }
  return out;
}

absl::StatusOr<ClientConfig> ResolveConfig(const ParsedArgs& flags, const Environment& env) {
  // The config file, if any.
  std::map<std::string, std::string> file;
  std::string file_path;
  if (std::optional<std::string> explicit_path = env.Get("HAC_CONFIG")) {
    file_path = *explicit_path;
    absl::StatusOr<std::string> text = ReadFileToString(file_path);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("HAC_CONFIG: ", text.status().message()));
    }
    ASSIGN_OR_RETURN(file, ParseConfigFile(*text, file_path));
  } else if (std::optional<std::string> home = env.Get("HOME")) {
    file_path = *home + "/.config/hac/config";
    if (absl::StatusOr<std::string> text = ReadFileToString(file_path); text.ok()) {
      ASSIGN_OR_RETURN(file, ParseConfigFile(*text, file_path));
    }
  }
  const std::string file_source = "config file " + file_path;

  // First of flag, environment variable, config-file key.
  auto lookup = [&](const std::string& flag, const char* env_name,
                    const std::string& key) -> std::optional<Found> {
    if (std::optional<std::string> v = flags.Get(flag)) return Found{*v, "--" + flag};
    if (env_name != nullptr) {
      if (std::optional<std::string> v = env.Get(env_name)) return Found{*v, env_name};
    }
    if (auto it = file.find(key); it != file.end() && !it->second.empty()) {
      return Found{it->second, file_source + " (" + key + ")"};
    }
    return std::nullopt;
  };

  ClientConfig config;
  if (std::optional<Found> f = lookup("server", "HAC_SERVER", "server")) {
    config.server = f->value;
    config.server_source = f->source;
  }
  // Token: at each level a token beats a token file.
  struct Level {
    std::optional<std::string> token, token_file;
    std::string source;
  };
  const Level levels[] = {
      {flags.Get("token"), flags.Get("token-file"), "--token-file"},
      {env.Get("HAC_TOKEN"), env.Get("HAC_TOKEN_FILE"), "HAC_TOKEN_FILE"},
      {file.count("token") ? std::optional(file["token"]) : std::nullopt,
       file.count("token_file") ? std::optional(file["token_file"]) : std::nullopt,
       file_source + " (token_file)"},
  };
  for (const Level& level : levels) {
    if (level.token.has_value() && !level.token->empty()) {
      config.token = *level.token;
      break;
    }
    if (level.token_file.has_value() && !level.token_file->empty()) {
      ASSIGN_OR_RETURN(config.token, ReadToken(*level.token_file, level.source));
      break;
    }
  }
  if (std::optional<Found> f = lookup("ca-cert", "HAC_CA_CERT", "ca_cert")) {
    config.ca_cert = f->value;
  }
  // The certificate and its key are resolved independently (each may come from its own
  // level), then must both be there or both be absent.
  std::optional<Found> cert = lookup("client-cert", "HAC_CLIENT_CERT", "client_cert");
  std::optional<Found> key = lookup("client-key", "HAC_CLIENT_KEY", "client_key");
  if (cert.has_value() != key.has_value()) {
    const Found& given = cert.has_value() ? *cert : *key;
    return absl::InvalidArgumentError(absl::StrCat(
        "--client-cert and --client-key go together (mutual TLS needs the certificate and its "
        "key); only ", cert.has_value() ? "the certificate" : "the key", " is set, by ",
        given.source));
  }
  if (cert.has_value()) {
    config.client_cert = cert->value;
    config.client_key = key->value;
  }
  if (std::optional<Found> f = lookup("timeout", nullptr, "timeout")) {
    absl::Duration d;
    if (!absl::ParseDuration(f->value, &d) || d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          f->source, ": timeout '", f->value, "' is not a positive duration like 30s or 2m"));
    }
    config.timeout = d;
  }
  if (std::optional<Found> f = lookup("output", nullptr, "output")) {
    ASSIGN_OR_RETURN(config.output, ParseOutput(f->value, f->source));
  }
  return config;
}

}  // namespace hac::cli
