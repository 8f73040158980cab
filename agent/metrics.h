// AgentMetrics: hac-agent's Prometheus metrics, refreshed from the agent's objects by Update().
//
//   hac_agent_attempts_running                 gauge: attempts whose process runs
//   hac_agent_device_busy_seconds_total{device} counter: device busy time since the agent started
//   hac_agent_session_reconnects_total         counter: sessions that ended and were reopened
//   hac_agent_session_connected                gauge: 1 while a session is open
//   hac_agent_draining                         gauge: 1 after a Drain request
//
// Owner: the composition root (expose registry() with prometheus::Exposer). Thread-safety:
// Update() from one thread at a time; scraping is concurrent-safe (prometheus-cpp).
#ifndef HAC_AGENT_METRICS_H_
#define HAC_AGENT_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "agent/attempt_manager.h"
#include "agent/node_devices.h"
#include "agent/session_client.h"

namespace hac::agent {

class AgentMetrics {
 public:
  explicit AgentMetrics(int device_count);
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  void Update(const AttemptManager& manager, const NodeDevices& devices,
              const SessionClient& session);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* running_;
  prometheus::Gauge* connected_;
  prometheus::Gauge* draining_;
  prometheus::Counter* reconnects_;
  std::vector<prometheus::Counter*> busy_;
  std::vector<absl::Duration> busy_reported_;
  int64_t disconnects_reported_ = 0;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_METRICS_H_
