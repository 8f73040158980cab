#include "server/jobs.h"

#include <catch2/catch.hpp>
#include <thread>

#include "absl/synchronization/notification.h"

#include "common/clock.h"
#include "tests/testing/temp_dir.h"

namespace hac::server {
namespace {

struct Fixture {
  testing::TempDir dir;
  common::FakeClock clock;
  std::unique_ptr<store::Store> store = *store::Store::Open(dir.File("hac.db"), clock);
  Metrics metrics;
  JobManager jobs{*store, metrics, clock};

  Principal Tenant(const std::string& name) {
    auto t = *store->CreateTenant(name);
    Principal p;
    p.role = Role::kTenant;
    p.tenant_id = t.id;
    p.tenant = t.name;
    return p;
  }
};

hac::v1::SubmitJobRequest Req(const std::string& name) {
  hac::v1::SubmitJobRequest r;
  r.mutable_spec()->set_name(name);
  auto* d = r.mutable_spec()->add_devices();
  d->set_device_class("gpu");
  d->set_count(1);
  r.mutable_spec()->mutable_workload()->set_name("train-mlp");
  return r;
}

TEST_CASE("StartSubmit answers rejections at once and hands commits to FinishSubmit") {
  Fixture f;
  Principal a = f.Tenant("a");
  int calls = 0;
  auto never = [&](absl::StatusOr<store::SubmitResult>) { ++calls; };

  hac::v1::SubmitJobRequest bad = Req("x");
  bad.mutable_spec()->mutable_devices(0)->set_count(0);
  auto rejected = f.jobs.StartSubmit(a, bad, never);
  REQUIRE(rejected.has_value());
  CHECK(rejected->status().code() == absl::StatusCode::kInvalidArgument);
  hac::v1::SubmitJobRequest dry = Req("x");
  dry.set_dry_run(true);
  auto estimate = f.jobs.StartSubmit(a, dry, never);
  REQUIRE(estimate.has_value());
  CHECK(estimate->ok());
  CHECK_FALSE(estimate->value().has_job());
  CHECK(calls == 0);

  // A real submission: the result comes on the store's writer thread, once committed.
  hac::v1::SubmitJobRequest req = Req("async");
  req.mutable_spec()->set_idempotency_key("k1");
  absl::Notification done;
  absl::StatusOr<store::SubmitResult> result;
  auto queued = f.jobs.StartSubmit(a, req, [&](absl::StatusOr<store::SubmitResult> r) {
    result = std::move(r);
    done.Notify();
  });
  CHECK_FALSE(queued.has_value());
  REQUIRE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  REQUIRE(result.ok());
  auto resp = f.jobs.FinishSubmit(a, std::move(result));
  REQUIRE(resp.ok());
  CHECK(resp->job().spec().name() == "async");
  CHECK_FALSE(resp->idempotent_replay());
  // Committed: visible to a read, and the same key replays it.
  hac::v1::GetJobRequest get;
  get.set_id(resp->job().id());
  CHECK(f.jobs.Get(a, get)->spec().name() == "async");
  auto again = f.jobs.Submit(a, req);
  REQUIRE(again.ok());
  CHECK(again->idempotent_replay());
  CHECK(again->job().id() == resp->job().id());
}

TEST_CASE("JobManager hides another tenant's job as NOT_FOUND and lists only one's own") {
  Fixture f;
  Principal a = f.Tenant("a"), b = f.Tenant("b");
  Principal admin;
  admin.role = Role::kAdmin;
  auto ja = *f.jobs.Submit(a, Req("ja"));
  auto jb = *f.jobs.Submit(b, Req("jb"));

  hac::v1::GetJobRequest get;
  get.set_id(ja.job().id());
  CHECK(f.jobs.Get(a, get)->spec().name() == "ja");
  auto hidden = f.jobs.Get(b, get);
  CHECK(hidden.status().code() == absl::StatusCode::kNotFound);
  CHECK(f.jobs.Get(admin, get).ok());

  hac::v1::CancelJobRequest cancel;
  cancel.set_id(ja.job().id());
  CHECK(f.jobs.Cancel(b, cancel).status().code() == absl::StatusCode::kNotFound);

  auto la = *f.jobs.List(a, {});
  REQUIRE(la.jobs_size() == 1);
  CHECK(la.jobs(0).id() == ja.job().id());
  CHECK(f.jobs.List(admin, {})->jobs_size() == 2);
  hac::v1::ListJobsRequest other;
  other.set_tenant("a");
  CHECK(f.jobs.List(b, other).status().code() == absl::StatusCode::kPermissionDenied);
  (void)jb;
}

TEST_CASE("Submissions need a tenant token and a valid spec; defaults are applied") {
  Fixture f;
  Principal admin;
  admin.role = Role::kAdmin;
  CHECK(f.jobs.Submit(admin, Req("x")).status().code() == absl::StatusCode::kPermissionDenied);
  Principal a = f.Tenant("a");
  auto bad = Req("x");
  bad.mutable_spec()->mutable_devices(0)->set_count(1000);
  auto st = f.jobs.Submit(a, bad).status();
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(st.message()).find("spec.devices[0].count") != std::string::npos);
  auto ok = *f.jobs.Submit(a, Req("x"));
  CHECK(ok.job().spec().max_runtime().seconds() == 86400);
  CHECK(ok.job().state() == hac::v1::JOB_STATE_PENDING);
  CHECK_FALSE(ok.job().reason().empty());
}

TEST_CASE("A dry run validates but commits nothing") {
  Fixture f;
  Principal a = f.Tenant("a");
  auto r = Req("dry");
  r.set_dry_run(true);
  auto resp = f.jobs.Submit(a, r);
  REQUIRE(resp.ok());
  CHECK(resp->has_dry_run());
  CHECK_FALSE(resp->has_job());
  CHECK(f.jobs.List(a, {})->jobs_size() == 0);
}

TEST_CASE("Watch sends the job now, then its cancellation, then ends") {
  Fixture f;
  Principal a = f.Tenant("a");
  auto job = *f.jobs.Submit(a, Req("w"));
  std::vector<hac::v1::JobState> seen;
  absl::Notification first_sent;
  std::thread watcher([&] {
    hac::v1::WatchJobRequest w;
    w.set_id(job.job().id());
    absl::Status s = f.jobs.Watch(
        a, w,
        [&](const hac::v1::JobEvent& ev) {
          seen.push_back(ev.job().state());
          if (!first_sent.HasBeenNotified()) first_sent.Notify();
          return true;
        },
        [] { return false; });
    CHECK(s.ok());
  });
  first_sent.WaitForNotification();
  hac::v1::CancelJobRequest c;
  c.set_id(job.job().id());
  REQUIRE(f.jobs.Cancel(a, c).ok());
  watcher.join();
  CHECK(seen == std::vector<hac::v1::JobState>{hac::v1::JOB_STATE_PENDING,
                                               hac::v1::JOB_STATE_CANCELLED});
}

}  // namespace
}  // namespace hac::server
