// hacctl's commands end to end against an in-process fake hacd (no network, no real server).
#include "cli/app.h"

#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli/channel.h"
#include "tests/cli/fake_hacd.h"

namespace hac::cli {
namespace {

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST_CASE("submit prints the job id alone on the first line and sends the bearer token") {
  Harness h;
  auto r = h.Run({"--token", "tok", "submit", "--name", "t", "--device", "gpu:1", "--", "true"});
  CHECK(r.rc == 0);
  CHECK(r.out == "j-42\n");
  CHECK(h.jobs.last_bearer() == "Bearer tok");
  CHECK(h.jobs.last_submit().spec().name() == "t");
  CHECK(h.jobs.last_submit().spec().command().argv(0) == "true");
  CHECK_FALSE(h.jobs.last_submit().dry_run());
}

TEST_CASE("global flags may follow the command") {
  Harness h;
  auto r = h.Run({"submit", "--device", "gpu:1", "--token=late", "-o", "json", "--", "true"});
  CHECK(r.rc == 0);
  CHECK(h.jobs.last_bearer() == "Bearer late");
  CHECK(FirstLine(r.out).rfind("{\"job\":{\"id\":\"j-42\"", 0) == 0);
}

TEST_CASE("submit --wait exits 0 when the job succeeds and 3 when it fails") {
  Harness h;
  auto ok = h.Run({"submit", "--wait", "--device", "gpu:1", "--", "true"});
  CHECK(ok.rc == 0);
  CHECK(FirstLine(ok.out) == "j-42");
  CHECK(ok.out.find("j-42 SUCCEEDED") != std::string::npos);

  h.jobs.set_final_state(hac::v1::JOB_STATE_FAILED);
  auto failed = h.Run({"submit", "--wait", "--device", "gpu:1", "--", "false"});
  CHECK(failed.rc == 3);
  CHECK(FirstLine(failed.out) == "j-42");
}

TEST_CASE("watch prints TIME ID STATE REASON per event and exits 3 for a cancelled job") {
  Harness h;
  h.jobs.set_final_state(hac::v1::JOB_STATE_CANCELLED);
  auto r = h.Run({"watch", "j-5"});
  CHECK(r.rc == 3);
  CHECK(r.out ==
        "2023-11-14T22:13:20Z j-5 PENDING -\n"
        "2023-11-14T22:13:21Z j-5 RUNNING -\n"
        "2023-11-14T22:13:22Z j-5 CANCELLED -\n");
}

TEST_CASE("watch reconnects when the stream breaks with UNAVAILABLE after events") {
  Harness h;
  h.jobs.drop_next_watch();
  auto r = h.Run({"watch", "j-5"});
  CHECK(r.rc == 0);
  CHECK(r.out ==
        "2023-11-14T22:13:19Z j-5 RUNNING -\n"
        "2023-11-14T22:13:20Z j-5 PENDING -\n"
        "2023-11-14T22:13:21Z j-5 RUNNING -\n"
        "2023-11-14T22:13:22Z j-5 SUCCEEDED -\n");
  CHECK(r.err.rfind("hacctl: lost the watch of j-5 (server shutting down); reconnecting in 200ms",
                    0) == 0);
}

TEST_CASE("watch -o json prints one canonical JSON object per event") {
  Harness h;
  auto r = h.Run({"-o", "json", "watch", "j-5"});
  CHECK(r.rc == 0);
  CHECK(r.out.rfind(
            R"({"job":{"id":"j-5","state":"JOB_STATE_PENDING","createTime":"2023-11-14T22:13:20Z",)",
            0) == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
}

TEST_CASE("submit --dry-run sends dry_run and prints the estimated cost") {
  Harness h;
  auto r = h.Run({"submit", "--dry-run", "--device", "npu:1", "--workload", "gemm"});
  CHECK(r.rc == 0);
  CHECK(h.jobs.last_submit().dry_run());
  CHECK(r.out.find("placeable now:   yes\n") != std::string::npos);
  CHECK(r.out.find("estimated cost:  at most -2.500000 KRW (all devices held and busy for the max "
                   "runtime)\n") != std::string::npos);
}

TEST_CASE("jobs --all follows page tokens to the end") {
  Harness h;
  auto one = h.Run({"jobs"});
  CHECK(one.rc == 0);
  CHECK(one.out.find("j-2") != std::string::npos);
  CHECK(one.out.find("j-1 ") == std::string::npos);
  CHECK(one.err.find("use --all") != std::string::npos);

  auto all = h.Run({"jobs", "--all", "-o", "json"});
  CHECK(all.rc == 0);
  CHECK(all.out ==
        R"({"jobs":[{"id":"j-2","state":"JOB_STATE_RUNNING","createTime":"2023-11-14T22:13:20Z",)"
        R"("updateTime":"2023-11-14T22:13:20Z"},{"id":"j-1","state":"JOB_STATE_SUCCEEDED",)"
        R"("createTime":"2023-11-14T22:13:20Z","updateTime":"2023-11-14T22:13:20Z"}]})"
        "\n");
}

TEST_CASE("tenant create prints the token on its own line starting with 'token: '") {
  Harness h;
  auto r = h.Run({"tenant", "create", "acme"});
  CHECK(r.rc == 0);
  CHECK(r.out.find("tenant: acme\n") != std::string::npos);
  CHECK(r.out.find("\ntoken: hac_secret_123\n") != std::string::npos);
  CHECK(r.out.find("shown only once") != std::string::npos);
}

TEST_CASE("a server error exits 1 with the code, the message and a hint") {
  Harness h;
  auto nf = h.Run({"job", "j-404"});
  CHECK(nf.rc == 1);
  CHECK(nf.out.empty());
  CHECK(nf.err.rfind("hacctl: NOT_FOUND: job j-404 not found\nhint: ", 0) == 0);

  auto unauth = h.Run({"whoami", "--token", "bad"});
  CHECK(unauth.rc == 1);
  CHECK(unauth.err.find("hint: token missing or invalid: set --token or HAC_TOKEN") !=
        std::string::npos);
}

TEST_CASE("an unreachable server exits 1 and names the address to fix") {
  Harness h;
  std::ostringstream out, err;
  App app(h.env, h.clock, MakeChannel, out, err);
  CHECK(app.Run({"--server", "127.0.0.1:1", "--timeout", "5s", "jobs"}) == 1);
  CHECK(err.str().find("hint: cannot reach hacd at 127.0.0.1:1: is it running? set --server or "
                       "HAC_SERVER") != std::string::npos);
}

TEST_CASE("an unreadable --ca-cert is a usage error naming the flag") {
  Harness h;
  std::ostringstream out, err;
  App app(h.env, h.clock, MakeChannel, out, err);
  CHECK(app.Run({"--ca-cert", "/nonexistent/ca.pem", "jobs"}) == 2);
  CHECK(err.str().rfind("hacctl: --ca-cert: cannot open /nonexistent/ca.pem", 0) == 0);
}

TEST_CASE("usage errors exit 2 and say what is wrong") {
  Harness h;
  auto unknown_cmd = h.Run({"frobnicate"});
  CHECK(unknown_cmd.rc == 2);
  CHECK(unknown_cmd.err.rfind("hacctl: unknown command 'frobnicate'", 0) == 0);

  auto unknown_flag = h.Run({"jobs", "--colour"});
  CHECK(unknown_flag.rc == 2);
  CHECK(unknown_flag.err.rfind("hacctl: unknown flag --colour for 'jobs'", 0) == 0);

  auto bad_value = h.Run({"submit", "--device", "gpu:1", "--memory", "2GB", "--", "x"});
  CHECK(bad_value.rc == 2);
  CHECK(bad_value.err.rfind("hacctl: --memory '2GB': expected", 0) == 0);

  auto missing_arg = h.Run({"cancel"});
  CHECK(missing_arg.rc == 2);
  CHECK(missing_arg.err == "hacctl: cancel: missing argument\nusage: hacctl cancel [flags] ID\n");

  auto no_sub = h.Run({"quota"});
  CHECK(no_sub.rc == 2);
  CHECK(no_sub.err.find("needs a subcommand: set, list") != std::string::npos);

  auto bad_output = h.Run({"-o", "yaml", "jobs"});
  CHECK(bad_output.rc == 2);
  CHECK(bad_output.err == "hacctl: --output: output format 'yaml' is not table, json or csv\n");

  auto nothing = h.Run({});
  CHECK(nothing.rc == 2);
}

TEST_CASE("help lists the commands and exit codes, and COMMAND --help shows its flags") {
  Harness h;
  auto general = h.Run({"--help"});
  CHECK(general.rc == 0);
  CHECK(general.out.find("  tenant create NAME") != std::string::npos);
  CHECK(general.out.find("  3  a watched or waited-for job ended") != std::string::npos);
  CHECK(h.Run({"help"}).out == general.out);

  auto submit = h.Run({"submit", "--help"});
  CHECK(submit.rc == 0);
  CHECK(submit.out.rfind("usage: hacctl submit [flags] [-- ARGV...]\n", 0) == 0);
  CHECK(submit.out.find("--idempotency-key KEY") != std::string::npos);
  CHECK(h.Run({"help", "submit"}).out == submit.out);

  auto group = h.Run({"tenant", "--help"});
  CHECK(group.rc == 0);
  CHECK(group.out.rfind("usage: hacctl tenant SUBCOMMAND", 0) == 0);
  CHECK(group.out.find("  tenant token NAME") != std::string::npos);
  CHECK(h.Run({"help", "tenant"}).out == group.out);

  auto version = h.Run({"version"});
  CHECK(version.rc == 0);
  CHECK(version.out == std::string("hacctl ") + kVersion + "\n");
}

}  // namespace
}  // namespace hac::cli
