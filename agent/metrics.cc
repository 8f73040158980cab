#include "agent/metrics.h"

#include "absl/strings/str_cat.h"

namespace hac::agent {

AgentMetrics::AgentMetrics(int device_count) : registry_(std::make_shared<prometheus::Registry>()) {
  running_ = &prometheus::BuildGauge()
                  .Name("hac_agent_attempts_running")
                  .Help("Attempts whose process runs on this node")
                  .Register(*registry_)
                  .Add({});
  connected_ = &prometheus::BuildGauge()
                    .Name("hac_agent_session_connected")
                    .Help("1 while the session with hacd is open")
                    .Register(*registry_)
                    .Add({});
  draining_ = &prometheus::BuildGauge()
                   .Name("hac_agent_draining")
                   .Help("1 after hacd asked the node to drain")
                   .Register(*registry_)
                   .Add({});
  reconnects_ = &prometheus::BuildCounter()
                     .Name("hac_agent_session_reconnects_total")
                     .Help("Sessions with hacd that ended (each is followed by a reconnect)")
                     .Register(*registry_)
                     .Add({});
  auto& busy = prometheus::BuildCounter()
                   .Name("hac_agent_device_busy_seconds_total")
                   .Help("Time each device spent running kernels since the agent started")
                   .Register(*registry_);
  for (int i = 0; i < device_count; ++i) {
    busy_.push_back(&busy.Add({{"device", absl::StrCat(i)}}));
    busy_reported_.push_back(absl::ZeroDuration());
  }
}

void AgentMetrics::Update(const AttemptManager& manager, const NodeDevices& devices,
                          const SessionClient& session) {
  running_->Set(manager.running());
  connected_->Set(session.connected() ? 1 : 0);
  draining_->Set(manager.draining() ? 1 : 0);
  int64_t disconnects = session.disconnects();
  if (disconnects > disconnects_reported_) {
    reconnects_->Increment(static_cast<double>(disconnects - disconnects_reported_));
    disconnects_reported_ = disconnects;
  }
  for (size_t i = 0; i < busy_.size() && static_cast<int>(i) < devices.size(); ++i) {
    absl::Duration total = devices.TotalBusy(static_cast<int>(i));
    if (total > busy_reported_[i]) {
      busy_[i]->Increment(absl::ToDoubleSeconds(total - busy_reported_[i]));
      busy_reported_[i] = total;
    }
  }
}

}  // namespace hac::agent
