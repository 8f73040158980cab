#include "cli/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

namespace hac::cli {
namespace {

// Sets (or unsets) an environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A temporary directory removed at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hacctl-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

ParsedArgs Flags(const std::vector<std::string>& args) {
  auto parsed = ParseArgs(GlobalFlags(), args);
  REQUIRE(parsed.ok());
  return *parsed;
}

// Every variable ResolveConfig reads, cleared, with HOME pointing at an empty directory.
struct CleanEnv {
  TempDir home;
  ScopedEnv h{"HOME", home.path()};
  ScopedEnv c{"HAC_CONFIG", std::nullopt};
  ScopedEnv s{"HAC_SERVER", std::nullopt};
  ScopedEnv t{"HAC_TOKEN", std::nullopt};
  ScopedEnv tf{"HAC_TOKEN_FILE", std::nullopt};
  ScopedEnv ca{"HAC_CA_CERT", std::nullopt};
  ScopedEnv cc{"HAC_CLIENT_CERT", std::nullopt};
  ScopedEnv ck{"HAC_CLIENT_KEY", std::nullopt};
};

TEST_CASE("ResolveConfig takes a flag over the environment over the file over the default") {
  CleanEnv clean;
  ProcessEnvironment env;
  TempDir dir;
  const std::string file =
      dir.Write("config", "# hacctl\nserver = file:1\ntoken = file-token\nca_cert = /file.pem\n");

  auto def = ResolveConfig(Flags({}), env);
  REQUIRE(def.ok());
  CHECK(def->server == "127.0.0.1:7070");
  CHECK(def->server_source == "default");
  CHECK(def->token.empty());
  CHECK(def->ca_cert.empty());
  CHECK(def->timeout == absl::Seconds(30));
  CHECK(def->output == OutputFormat::kTable);

  ScopedEnv config("HAC_CONFIG", file);
  auto from_file = ResolveConfig(Flags({}), env);
  REQUIRE(from_file.ok());
  CHECK(from_file->server == "file:1");
  CHECK(from_file->token == "file-token");
  CHECK(from_file->ca_cert == "/file.pem");

  ScopedEnv server("HAC_SERVER", "env:2");
  ScopedEnv token("HAC_TOKEN", "env-token");
  ScopedEnv ca("HAC_CA_CERT", "/env.pem");
  auto from_env = ResolveConfig(Flags({}), env);
  REQUIRE(from_env.ok());
  CHECK(from_env->server == "env:2");
  CHECK(from_env->server_source == "HAC_SERVER");
  CHECK(from_env->token == "env-token");
  CHECK(from_env->ca_cert == "/env.pem");

  auto from_flags = ResolveConfig(
      Flags({"--server", "flag:3", "--token=flag-token", "--ca-cert", "/flag.pem"}), env);
  REQUIRE(from_flags.ok());
  CHECK(from_flags->server == "flag:3");
  CHECK(from_flags->server_source == "--server");
  CHECK(from_flags->token == "flag-token");
  CHECK(from_flags->ca_cert == "/flag.pem");
}

TEST_CASE("ResolveConfig reads ~/.config/hac/config when HAC_CONFIG is unset") {
  CleanEnv clean;
  std::filesystem::create_directories(clean.home.path() + "/.config/hac");
  clean.home.Write(".config/hac/config", "server=home:9\n");
  auto c = ResolveConfig(Flags({}), ProcessEnvironment());
  REQUIRE(c.ok());
  CHECK(c->server == "home:9");
}

TEST_CASE("ResolveConfig reads a token file, trimmed, and a token beats a token file") {
  CleanEnv clean;
  TempDir dir;
  const std::string tf = dir.Write("tok", "  secret-from-file\n");
  ProcessEnvironment env;
  auto from_file = ResolveConfig(Flags({"--token-file", tf}), env);
  REQUIRE(from_file.ok());
  CHECK(from_file->token == "secret-from-file");

  auto both = ResolveConfig(Flags({"--token-file", tf, "--token", "direct"}), env);
  REQUIRE(both.ok());
  CHECK(both->token == "direct");

  ScopedEnv env_file("HAC_TOKEN_FILE", tf);
  auto via_env = ResolveConfig(Flags({}), env);
  REQUIRE(via_env.ok());
  CHECK(via_env->token == "secret-from-file");
}

TEST_CASE("ResolveConfig names the source of a token file it cannot read") {
  CleanEnv clean;
  ScopedEnv env_file("HAC_TOKEN_FILE", "/nonexistent/hac-token");
  auto c = ResolveConfig(Flags({}), ProcessEnvironment());
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(c.status().message()).rfind("HAC_TOKEN_FILE: cannot read token file", 0) == 0);
}

TEST_CASE("ResolveConfig rejects a bad timeout and output format naming the flag") {
  CleanEnv clean;
  auto t = ResolveConfig(Flags({"--timeout", "soon"}), ProcessEnvironment());
  REQUIRE_FALSE(t.ok());
  CHECK(std::string(t.status().message()) ==
        "--timeout: timeout 'soon' is not a positive duration like 30s or 2m");
  auto o = ResolveConfig(Flags({"-o", "yaml"}), ProcessEnvironment());
  REQUIRE_FALSE(o.ok());
  CHECK(std::string(o.status().message()) ==
        "--output: output format 'yaml' is not table, json or csv");
  auto csv = ResolveConfig(Flags({"-o", "csv"}), ProcessEnvironment());
  REQUIRE(csv.ok());
  CHECK(csv->output == OutputFormat::kCsv);
  auto ok = ResolveConfig(Flags({"-o", "json", "--timeout=1500ms"}), ProcessEnvironment());
  REQUIRE(ok.ok());
  CHECK(ok->output == OutputFormat::kJson);
  CHECK(ok->timeout == absl::Milliseconds(1500));
}

TEST_CASE("ResolveConfig takes the client certificate and key from flags, environment or file") {
  CleanEnv clean;
  ProcessEnvironment env;
  TempDir dir;
  const std::string file = dir.Write(
      "config", "ca_cert = /ca.pem\nclient_cert = /file-cert.pem\nclient_key = /file-key.pem\n");

  auto none = ResolveConfig(Flags({}), env);
  REQUIRE(none.ok());
  CHECK(none->client_cert.empty());
  CHECK(none->client_key.empty());

  ScopedEnv config("HAC_CONFIG", file);
  auto from_file = ResolveConfig(Flags({}), env);
  REQUIRE(from_file.ok());
  CHECK(from_file->client_cert == "/file-cert.pem");
  CHECK(from_file->client_key == "/file-key.pem");

  ScopedEnv cert("HAC_CLIENT_CERT", "/env-cert.pem");
  ScopedEnv key("HAC_CLIENT_KEY", "/env-key.pem");
  auto from_env = ResolveConfig(Flags({}), env);
  REQUIRE(from_env.ok());
  CHECK(from_env->client_cert == "/env-cert.pem");
  CHECK(from_env->client_key == "/env-key.pem");

  auto from_flags =
      ResolveConfig(Flags({"--client-cert", "/flag-cert.pem", "--client-key=/flag-key.pem"}), env);
  REQUIRE(from_flags.ok());
  CHECK(from_flags->client_cert == "/flag-cert.pem");
  CHECK(from_flags->client_key == "/flag-key.pem");
  CHECK(from_flags->ca_cert == "/ca.pem");
}

TEST_CASE("ResolveConfig refuses a client certificate without its key, naming both flags") {
  CleanEnv clean;
  ProcessEnvironment env;
  auto cert_only = ResolveConfig(Flags({"--client-cert", "/c.pem"}), env);
  REQUIRE_FALSE(cert_only.ok());
  CHECK(cert_only.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(cert_only.status().message()) ==
        "--client-cert and --client-key go together (mutual TLS needs the certificate and its "
        "key); only the certificate is set, by --client-cert");

  ScopedEnv key("HAC_CLIENT_KEY", "/k.pem");
  auto key_only = ResolveConfig(Flags({}), env);
  REQUIRE_FALSE(key_only.ok());
  CHECK(std::string(key_only.status().message()) ==
        "--client-cert and --client-key go together (mutual TLS needs the certificate and its "
        "key); only the key is set, by HAC_CLIENT_KEY");
}

TEST_CASE("ResolveConfig fails when HAC_CONFIG names a missing file") {
  CleanEnv clean;
  ScopedEnv config("HAC_CONFIG", "/nonexistent/hac-config");
  auto c = ResolveConfig(Flags({}), ProcessEnvironment());
  REQUIRE_FALSE(c.ok());
  CHECK(std::string(c.status().message()).rfind("HAC_CONFIG: cannot open /nonexistent/hac-config",
                                                0) == 0);
}

TEST_CASE("ParseConfigFile reads key = value lines and skips comments and blanks") {
  auto m = ParseConfigFile("# comment\n\n server = a:1   # trailing\ntoken_file=/t\n", "cfg");
  REQUIRE(m.ok());
  CHECK(m->size() == 2);
  CHECK(m->at("server") == "a:1");
  CHECK(m->at("token_file") == "/t");
}

TEST_CASE("ParseConfigFile names the file, line and key of a mistake") {
  auto unknown = ParseConfigFile("server = a\nsevrer = b\n", "/etc/cfg");
  REQUIRE_FALSE(unknown.ok());
  CHECK(std::string(unknown.status().message()) ==
        "/etc/cfg:2: unknown key 'sevrer' (expected server, token, token_file, ca_cert, "
        "client_cert, client_key, timeout or output)");
  auto no_eq = ParseConfigFile("server a\n", "/etc/cfg");
  REQUIRE_FALSE(no_eq.ok());
  CHECK(std::string(no_eq.status().message()) ==
        "/etc/cfg:1: expected `key = value`, got 'server a'");
}

}  // namespace
}  // namespace hac::cli
