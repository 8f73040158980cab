// Mutual TLS between hacd and its clients, with real processes: hacd started with --tls-cert,
// --tls-key and --tls-client-ca; hac-agent with --ca-cert, --client-cert and --client-key; the
// tenant and admin side through gRPC clients of this test and hacctl with --client-cert and
// --client-key. The certificates are made at test time with the openssl command line.
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "hac/v1/pools.grpc.pb.h"
#include "tests/integration/cluster.h"

namespace hac::testing {
namespace {

const absl::Duration kWait = absl::Seconds(60);

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv, {}, absl::Seconds(60));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// A throwaway certificate authority: <dir>/<name>.pem and <name>.key.
void MakeCa(const TempDir& dir, const std::string& name) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", dir.File(name + ".key"), "-out", dir.File(name + ".pem"), "-days", "1",
           "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});
}

// A leaf certificate signed by `ca`: <dir>/<name>.pem and <name>.key. `extensions` as for
// openssl x509 -extfile (one per line).
void MakeLeaf(const TempDir& dir, const std::string& ca, const std::string& name,
              const std::string& extensions, int serial) {
  Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", dir.File(name + ".key"), "-out", dir.File(name + ".csr"), "-subj",
           "/CN=" + name});
  std::ofstream(dir.File(name + ".ext")) << extensions;
  Openssl({"x509", "-req", "-in", dir.File(name + ".csr"), "-CA", dir.File(ca + ".pem"), "-CAkey",
           dir.File(ca + ".key"), "-set_serial", std::to_string(serial), "-days", "1", "-extfile",
           dir.File(name + ".ext"), "-out", dir.File(name + ".pem")});
}

// ca signs the server (127.0.0.1 / localhost) and the good client; other-ca signs a client that
// hacd must refuse.
struct Certificates {
  Certificates() {
    MakeCa(dir, "ca");
    MakeLeaf(dir, "ca", "server",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n", 2);
    MakeLeaf(dir, "ca", "client", "extendedKeyUsage=clientAuth\n", 3);
    MakeCa(dir, "other-ca");
    MakeLeaf(dir, "other-ca", "stranger", "extendedKeyUsage=clientAuth\n", 4);
  }
  std::string File(const std::string& name) const { return dir.File(name); }

  // Verifies hacd against ca; presents <client>.pem when `client` is not empty.
  std::shared_ptr<grpc::ChannelCredentials> Credentials(const std::string& client) const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadAll(File("ca.pem"));
    if (!client.empty()) {
      options.pem_cert_chain = ReadAll(File(client + ".pem"));
      options.pem_private_key = ReadAll(File(client + ".key"));
    }
    return grpc::SslCredentials(options);
  }

  // The hacd flags for mutual TLS.
  std::vector<std::string> HacdFlags() const {
    return {"--tls-cert=" + File("server.pem"), "--tls-key=" + File("server.key"),
            "--tls-client-ca=" + File("ca.pem"), "--schedule-tick=50ms"};
  }

  // The hac-agent flags: verify hacd, and present <client> when not empty.
  std::vector<std::string> AgentFlags(const std::string& client) const {
    std::vector<std::string> flags = {"--ca-cert=" + File("ca.pem")};
    if (!client.empty()) {
      flags.push_back("--client-cert=" + File(client + ".pem"));
      flags.push_back("--client-key=" + File(client + ".key"));
    }
    return flags;
  }

  TempDir dir;
};

// The fixture's hacctl presents no client certificate, so the join token is minted over gRPC and
// written where Hacd::JoinTokenFile() finds it.
void WriteJoinToken(const Hacd& hacd) {
  auto admin = hac::v1::AdminService::NewStub(hacd.Channel());
  hac::v1::CreateJoinTokenRequest request;
  hac::v1::CreateJoinTokenResponse response;
  auto ctx = AuthContext(hacd.admin_token());
  grpc::Status s = admin->CreateJoinToken(ctx.get(), request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  REQUIRE_FALSE(response.token().empty());
  std::ofstream(hacd.dir().File("join.token")) << response.token() << "\n";
  REQUIRE(hacd.JoinTokenFile() == hacd.dir().File("join.token"));
}

std::string CreateTenant(const Hacd& hacd, const std::string& name) {
  auto admin = hac::v1::AdminService::NewStub(hacd.Channel());
  hac::v1::CreateTenantRequest request;
  request.set_name(name);
  hac::v1::CreateTenantResponse response;
  auto ctx = AuthContext(hacd.admin_token());
  grpc::Status s = admin->CreateTenant(ctx.get(), request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return response.token();
}

// Names of the nodes hacd lists (empty when the call fails).
std::set<std::string> NodeNames(const Hacd& hacd) {
  auto pools = hac::v1::PoolService::NewStub(hacd.Channel());
  hac::v1::ListNodesRequest request;
  hac::v1::ListNodesResponse response;
  auto ctx = AuthContext(hacd.admin_token());
  std::set<std::string> names;
  if (!pools->ListNodes(ctx.get(), request, &response).ok()) return names;
  for (const hac::v1::Node& n : response.nodes()) names.insert(n.name());
  return names;
}

// The WhoAmI status of a client with `credentials`.
grpc::Status WhoAmI(const Hacd& hacd, std::shared_ptr<grpc::ChannelCredentials> credentials,
                    hac::v1::WhoAmIResponse* response) {
  auto admin =
      hac::v1::AdminService::NewStub(grpc::CreateChannel(hacd.address(), std::move(credentials)));
  auto ctx = AuthContext(hacd.admin_token());
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return admin->WhoAmI(ctx.get(), hac::v1::WhoAmIRequest(), response);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_CASE("hacd with --tls-client-ca runs a job from an agent whose certificate its CA signed") {
  Certificates certs;
  Hacd hacd(certs.HacdFlags());
  REQUIRE(hacd.Start());
  hacd.set_channel_credentials(certs.Credentials("client"));
  WriteJoinToken(hacd);
  Agent n1(hacd, "n1", "npu", "sim-npu:1", certs.AgentFlags("client"));
  REQUIRE(n1.Start());
  REQUIRE(PollUntil([&] { return NodeNames(hacd).count("n1") == 1; }, kWait));

  const std::string tenant = CreateTenant(hacd, "acme");
  REQUIRE_FALSE(tenant.empty());
  auto jobs = hac::v1::JobService::NewStub(hacd.Channel());
  hac::v1::SubmitJobRequest submit;
  hac::v1::JobSpec* spec = submit.mutable_spec();
  spec->set_name("over-mtls");
  hac::v1::DeviceRequest* device = spec->add_devices();
  device->set_device_class("npu");
  device->set_count(1);
  for (const char* arg : {"sh", "-c", "echo hello over mutual TLS"}) {
    spec->mutable_command()->add_argv(arg);
  }
  hac::v1::SubmitJobResponse submitted;
  auto ctx = AuthContext(tenant);
  grpc::Status s = jobs->SubmitJob(ctx.get(), submit, &submitted);
  INFO(s.error_message());
  REQUIRE(s.ok());
  const std::string id = submitted.job().id();
  REQUIRE(PollUntil(
      [&] { return GetJob(hacd, tenant, id).state() == hac::v1::JOB_STATE_SUCCEEDED; }, kWait));
  hac::v1::Job job = GetJob(hacd, tenant, id);
  REQUIRE(job.attempts_size() == 1);
  CHECK(job.attempts(0).state() == hac::v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(job.attempts(0).exit().code() == 0);
  REQUIRE(job.attempts(0).nodes_size() == 1);
  CHECK(job.attempts(0).nodes(0) == "n1");
}

TEST_CASE("hacd with --tls-client-ca refuses agents without a certificate or with another CA's") {
  Certificates certs;
  Hacd hacd(certs.HacdFlags());
  REQUIRE(hacd.Start());
  hacd.set_channel_credentials(certs.Credentials("client"));
  WriteJoinToken(hacd);
  // Same join token for all three: only the TLS handshake tells them apart.
  Agent good(hacd, "good", "npu", "sim-npu:1", certs.AgentFlags("client"));
  Agent anonymous(hacd, "anonymous", "npu", "sim-npu:1", certs.AgentFlags(""));
  Agent stranger(hacd, "stranger", "npu", "sim-npu:1", certs.AgentFlags("stranger"));
  REQUIRE((good.Start() && anonymous.Start() && stranger.Start()));

  // The refused agents keep trying; wait until each was refused at least twice, and the good
  // one is in (so a refused agent would have had the time to appear).
  const std::string refused = "cannot register: RegisterNode: code 14";
  REQUIRE(PollUntil(
      [&] {
        return Count(anonymous.log(), refused) >= 2 && Count(stranger.log(), refused) >= 2 &&
               NodeNames(hacd).count("good") == 1;
      },
      kWait));
  CHECK(NodeNames(hacd) == std::set<std::string>{"good"});
  // Neither got a node credential.
  CHECK(access((anonymous.state_dir() + "/node.token").c_str(), F_OK) != 0);
  CHECK(access((stranger.state_dir() + "/node.token").c_str(), F_OK) != 0);
  CHECK(access((good.state_dir() + "/node.token").c_str(), F_OK) == 0);
}

TEST_CASE("hacd with --tls-client-ca admits tenant clients only with a certificate its CA signed") {
  Certificates certs;
  Hacd hacd(certs.HacdFlags());
  REQUIRE(hacd.Start());

  hac::v1::WhoAmIResponse me;
  grpc::Status s = WhoAmI(hacd, certs.Credentials("client"), &me);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(me.token().role() == hac::v1::ROLE_ADMIN);

  // The handshake fails, so the (valid) bearer token is never looked at.
  CHECK(WhoAmI(hacd, certs.Credentials(""), &me).error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(WhoAmI(hacd, certs.Credentials("stranger"), &me).error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  CHECK(WhoAmI(hacd, grpc::InsecureChannelCredentials(), &me).error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  // hacctl likewise: in with a certificate from the CA, out without one or with another's.
  CommandResult r = hacd.Hacctl(
      hacd.admin_token(), {"--ca-cert", certs.File("ca.pem"), "--client-cert",
                           certs.File("client.pem"), "--client-key", certs.File("client.key"),
                           "whoami"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(absl::StrContains(r.out, "ADMIN"));
  r = hacd.Hacctl(hacd.admin_token(),
                  {"--ca-cert", certs.File("ca.pem"), "--timeout", "5s", "whoami"});
  CHECK(r.exit_code == 1);
  r = hacd.Hacctl(hacd.admin_token(),
                  {"--ca-cert", certs.File("ca.pem"), "--client-cert", certs.File("stranger.pem"),
                   "--client-key", certs.File("stranger.key"), "--timeout", "5s", "whoami"});
  CHECK(r.exit_code == 1);
}

TEST_CASE("hacd refuses --tls-client-ca without a server certificate, before touching disk") {
  Certificates certs;
  TempDir dir;
  CommandResult r = RunCommand({BinPath("hacd"), "--listen=127.0.0.1:0", "--metrics-listen=",
                                "--db=" + dir.File("hacd.db"),
                                "--tls-client-ca=" + certs.File("ca.pem")},
                               {}, absl::Seconds(30));
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(r.err, "--tls-client-ca needs --tls-cert and --tls-key"));
  CHECK(access(dir.File("hacd.db").c_str(), F_OK) != 0);

  r = RunCommand({BinPath("hacd"), "--listen=127.0.0.1:0", "--metrics-listen=",
                  "--db=" + dir.File("hacd.db"), "--tls-cert=" + certs.File("server.pem")},
                 {}, absl::Seconds(30));
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(r.err, "--tls-cert and --tls-key go together"));
}

}  // namespace
}  // namespace hac::testing
