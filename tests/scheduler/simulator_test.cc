// hac-sim's trace parsing and metrics on tiny hand-checked cases (the simulator links the same
// scheduler library, so these also exercise it end to end).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/scheduler/simulator.h"
#include "bench/scheduler/trace.h"

namespace hac::sim {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::filesystem::path p = std::filesystem::temp_directory_path() /
                            ("hac_sim_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p.string();
}

TEST_CASE("LoadTrace reads the Philly format, sorts by time and turns big jobs into gangs") {
  std::string path = WriteTemp("philly.csv",
                               "timestamp,duration,num_gpus,gpu_time,cluster\n"
                               "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
                               "2017-10-09 06:13:03,2951.0,12,35412.0,6214e9\n"
                               "2017-10-09 06:13:36,0.0,32,0.0,6214e9\n");
  auto t = LoadTrace(path);
  REQUIRE(t.ok());
  REQUIRE(t->size() == 3);
  // Sorted: 06:13:03 (12 gpu -> 2 nodes x 6), 06:13:36 (32 -> 4 x 8, duration 0 -> 1s), 07:01:55.
  CHECK((*t)[0].tenant == "6214e9");
  CHECK((*t)[0].alternatives[0].nodes == 2);
  CHECK((*t)[0].alternatives[0].count == 6);
  CHECK((*t)[0].duration == absl::Seconds(2951));
  CHECK((*t)[1].alternatives[0].nodes == 4);
  CHECK((*t)[1].alternatives[0].count == 8);
  CHECK((*t)[1].duration == absl::Seconds(1));
  CHECK((*t)[2].submit - (*t)[0].submit == absl::Seconds(48 * 60 + 52));
  std::filesystem::remove(path);
}

TEST_CASE("LoadTrace reads the native format with priorities and alternatives") {
  std::string path = WriteTemp("native.csv",
                               "submit_time,duration,devices,tenant,priority,alternatives\n"
                               "10,100,2,a,3,\n"
                               "0,50,1,b,,gpu:1:1.0|npu:2:3.0\n");
  auto t = LoadTrace(path);
  REQUIRE(t.ok());
  REQUIRE(t->size() == 2);
  CHECK((*t)[0].tenant == "b");
  REQUIRE((*t)[0].alternatives.size() == 2);
  CHECK((*t)[0].alternatives[1].device_class == "npu");
  CHECK((*t)[0].alternatives[1].count == 2);
  CHECK((*t)[0].alternatives[1].relative_speed == 3.0);
  CHECK((*t)[1].priority == 3);
  CHECK((*t)[1].alternatives[0].count == 2);
  std::filesystem::remove(path);

  std::string bad = WriteTemp("bad.csv", "submit_time,duration,devices,tenant\nx,1,1,a\n");
  auto err = LoadTrace(bad);
  REQUIRE_FALSE(err.ok());
  CHECK(std::string(err.status().message()).find(":2: submit_time") != std::string::npos);
  std::filesystem::remove(bad);
}

TEST_CASE("LoadCluster reads pools and prices") {
  std::string path = WriteTemp("cluster.txt", "# two pools\npool g 3 8 gpu v100\npool n 2 4 npu\nprice npu 0.5\n");
  auto c = LoadCluster(path);
  REQUIRE(c.ok());
  CHECK(c->Devices() == 32);
  CHECK(c->pools[1].model == "npu");
  CHECK(c->price.at("npu") == 0.5);
  std::filesystem::remove(path);
  CHECK(DefaultCluster().Devices() == 640);
}

TEST_CASE("Simulate reports the metrics of a hand-checked schedule") {
  // One node of 2 gpus. a: 2 gpus for 100s at t=0; b: 1 gpu for 50s at t=10; c: 1 gpu for 10s
  // at t=20. FIFO: a 0-100, b 100-150, c 100-110.
  std::vector<TraceJob> trace;
  auto job = [](double at, double dur, int n, const std::string& tenant) {
    TraceJob j;
    j.submit = absl::UnixEpoch() + absl::Seconds(at);
    j.duration = absl::Seconds(dur);
    j.tenant = tenant;
    scheduler::DeviceRequest r;
    r.device_class = "gpu";
    r.count = n;
    j.alternatives.push_back(r);
    return j;
  };
  trace.push_back(job(0, 100, 2, "x"));
  trace.push_back(job(10, 50, 1, "x"));
  trace.push_back(job(20, 10, 1, "y"));
  ClusterSpec cluster;
  cluster.pools.push_back(PoolSpec{"p", 1, 2, "gpu", "v100"});
  auto r = Simulate(trace, cluster, "fifo", scheduler::FifoConfig());
  REQUIRE(r.ok());
  CHECK(r->completed == 3);
  // JCTs 100, 140, 90: avg 110, median 100; queueing 0, 90, 80.
  CHECK(r->jct_avg == Approx(110));
  CHECK(r->jct_median == Approx(100));
  CHECK(r->queue_avg == Approx(170.0 / 3));
  CHECK(r->makespan == Approx(150));
  // Busy 2x100 + 50 + 10 = 260 device-seconds of 2 x 150.
  CHECK(r->utilization == Approx(260.0 / 300));
  // Tenant x: (100/100 + 50/140) / 2 = 0.6786; y: 10/90 = 0.111. Jain = (sum)^2 / (2 sum sq).
  double x = (1.0 + 50.0 / 140) / 2, y = 10.0 / 90;
  CHECK(r->jain == Approx((x + y) * (x + y) / (2 * (x * x + y * y))));
}

}  // namespace
}  // namespace hac::sim
