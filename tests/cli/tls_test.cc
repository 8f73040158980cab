// hacctl's real channel (MakeChannel) against an in-process gRPC server that serves TLS and
// requires a client certificate, as hacd does with --tls-client-ca. Certificates are made per
// test with the openssl command line; the server listens on 127.0.0.1, port 0.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli/app.h"
#include "cli/channel.h"
#include "grpcpp/security/server_credentials.h"
#include "tests/cli/fake_hacd.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace hac::cli {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A self-signed certificate for 127.0.0.1 (its own CA): NAME.pem and NAME.key in `dir`.
void MakeCertificate(const testing::TempDir& dir, const std::string& name) {
  testing::CommandResult r = testing::RunCommand(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir.File(name + ".key"), "-out",
       dir.File(name + ".pem"), "-days", "1", "-subj", "/CN=" + name, "-addext",
       "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// A BillingService over TLS that accepts only clients presenting client.pem.
struct MutualTlsServer {
  testing::TempDir dir;
  FakeBillingService billing;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  MutualTlsServer() {
    MakeCertificate(dir, "server");
    MakeCertificate(dir, "client");
    grpc::SslServerCredentialsOptions tls(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = ReadAll(dir.File("client.pem"));
    tls.pem_key_cert_pairs.push_back(
        {ReadAll(dir.File("server.key")), ReadAll(dir.File("server.pem"))});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &port);
    builder.RegisterService(&billing);
    server = builder.BuildAndStart();
  }
  ~MutualTlsServer() { server->Shutdown(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

struct Result {
  int rc;
  std::string out;
  std::string err;
};

Result RunHacctl(const std::vector<std::string>& args) {
  Harness::MapEnvironment env;
  common::FakeClock clock;
  std::ostringstream out, err;
  App app(env, clock, MakeChannel, out, err);
  const int rc = app.Run(args);
  return {rc, out.str(), err.str()};
}

TEST_CASE("hacctl connects over mutual TLS with --ca-cert, --client-cert and --client-key") {
  MutualTlsServer s;
  REQUIRE(s.port > 0);
  Result r = RunHacctl({"--server", s.address(), "--timeout", "20s", "--ca-cert",
                        s.dir.File("server.pem"), "--client-cert", s.dir.File("client.pem"),
                        "--client-key", s.dir.File("client.key"), "prices"});
  INFO(r.err);
  CHECK(r.rc == 0);
  CHECK(r.out == "CLASS  MODEL  ALLOC RATE/s  ACTIVE RATE/s  MIN s  EFFECTIVE FROM  CURRENCY\n");
  absl::MutexLock lock(&s.billing.mu);
  CHECK(s.billing.calls == 1);
}

TEST_CASE("without a client certificate the mutual-TLS server refuses hacctl") {
  MutualTlsServer s;
  Result r = RunHacctl({"--server", s.address(), "--timeout", "20s", "--ca-cert",
                        s.dir.File("server.pem"), "prices"});
  CHECK(r.rc == 1);
  CHECK(r.err.rfind("hacctl: UNAVAILABLE: ", 0) == 0);
  absl::MutexLock lock(&s.billing.mu);
  CHECK(s.billing.calls == 0);
}

TEST_CASE("an unreadable or non-PEM client certificate or key is a usage error naming the flag") {
  testing::TempDir dir;
  MakeCertificate(dir, "client");
  std::ofstream(dir.File("junk.key")) << "not a key\n";
  Result junk = RunHacctl({"--ca-cert", dir.File("client.pem"), "--client-cert",
                           dir.File("client.pem"), "--client-key", dir.File("junk.key"), "prices"});
  CHECK(junk.rc == 2);
  CHECK(junk.err == "hacctl: --client-key: " + dir.File("junk.key") +
                        " is not PEM (no -----BEGIN line)\n");
  Result missing = RunHacctl({"--client-cert", dir.File("none.pem"), "--client-key",
                              dir.File("client.key"), "prices"});
  CHECK(missing.rc == 2);
  CHECK(missing.err.rfind("hacctl: --client-cert: cannot open " + dir.File("none.pem"), 0) == 0);
}

}  // namespace
}  // namespace hac::cli
