// The agent's side of the NodeService protocol: registration, the one Session stream, and
// reconnection.
//
//   Outbox outbox;                                    // AttemptManager pushes, the session sends
//   ASSIGN_OR_RETURN(auto manager, AttemptManager::Create(..., [&](auto m) { outbox.Push(m); }));
//   ASSIGN_OR_RETURN(auto session, SessionClient::Create(options, manager.get(), &outbox));
//   session->Start();   // background thread until Stop()
//
// Registration: the node credential lives in `token_path` (mode 0600). Without one, RegisterNode
// is called with `authorization: Bearer <join token>` (read from join_token_file) and the returned
// credential is written there. A Session refused with UNAUTHENTICATED or PERMISSION_DENIED deletes
// the credential, so the next attempt registers again with the join token.
//
// Session (auth `Bearer <node credential>`): first an AgentMessage.hello (AttemptManager::Hello),
// then the outbox's messages as they come, a Heartbeat every heartbeat_interval and a UsageReport
// (AttemptManager::Tick) every usage_interval. Server messages go to the AttemptManager as they
// arrive. When the stream breaks, it reconnects after an exponential backoff (initial_backoff,
// doubling, capped at max_backoff, each wait drawn uniformly from [backoff/2, backoff]); the
// backoff starts again from initial_backoff once a session got a server message.
//
// Owner: the composition root. Thread-safety: Start/Stop and the accessors are thread-safe.
#ifndef HAC_AGENT_SESSION_CLIENT_H_
#define HAC_AGENT_SESSION_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/attempt_manager.h"
#include "common/clock.h"
#include "hac/v1/nodes.grpc.pb.h"

namespace hac::agent {

// Messages waiting for the session. Log chunks survive a disconnect (up to max_log_bytes, then
// the newest are dropped); statuses, usage and heartbeats do not, because the next hello (with
// the final counters of the finished attempts it reports, AttemptManager::Hello) and the next
// (cumulative) usage report supersede them. When one Take finds an attempt's RUNNING status and
// its final status both still queued (a short job on a busy node), only the final one is
// taken, with the RUNNING status's time as its start_time: one message less, same facts.
// Owner: the composition root. Thread-safety: thread-safe.
class Outbox {
 public:
  explicit Outbox(int64_t max_log_bytes = int64_t{16} << 20) : max_log_bytes_(max_log_bytes) {}
  void Push(v1::AgentMessage message);
  // Waits up to `timeout` for messages (or Wake()) and takes all queued ones.
  std::vector<v1::AgentMessage> Take(absl::Duration timeout);
  // Drops everything but log chunks (a new session begins with a hello).
  void DropStale();
  // Makes a waiting Take return.
  void Wake();
  size_t size() const;

 private:
  const int64_t max_log_bytes_;
  mutable absl::Mutex mu_;
  std::deque<v1::AgentMessage> queue_ ABSL_GUARDED_BY(mu_);
  int64_t log_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
};

class SessionClient {
 public:
  struct Options {
    // host:port of hacd.
    std::string server;
    // Insecure when null.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    std::string node;
    std::string pool;
    std::string agent_version;
    std::string join_token_file;
    std::string token_path;  // <state-dir>/node.token
    // The devices RegisterNode announces.
    std::vector<v1::Device> devices;
    absl::Duration heartbeat_interval = absl::Seconds(1);
    absl::Duration usage_interval = absl::Seconds(1);
    absl::Duration initial_backoff = absl::Milliseconds(100);
    absl::Duration max_backoff = absl::Seconds(5);
    absl::Duration rpc_timeout = absl::Seconds(10);
    // Not owned; must outlive the client.
    const common::Clock* clock = nullptr;
  };

  // INVALID_ARGUMENT for a missing server, node, token path or clock.
  // `gen` draws the backoff jitter; used only by the client's thread and must outlive it.
  static absl::StatusOr<std::unique_ptr<SessionClient>> Create(Options options,
                                                               AttemptManager* manager,
                                                               Outbox* outbox, absl::BitGenRef gen);
  ~SessionClient();  // Stop()s
  SessionClient(const SessionClient&) = delete;
  SessionClient& operator=(const SessionClient&) = delete;

  void Start();
  // Closes the session and joins the thread. Idempotent.
  void Stop();

  bool connected() const;
  // Sessions opened (hello sent), and sessions that ended.
  int64_t sessions() const;
  int64_t disconnects() const;
  // Successful RegisterNode calls.
  int64_t registrations() const;

 private:
  enum class SessionEnd { kBroken, kRefused, kStopped };
  SessionClient(Options options, AttemptManager* manager, Outbox* outbox, absl::BitGenRef gen);
  void Run();
  absl::StatusOr<std::string> NodeToken();
  absl::Status Register();
  SessionEnd RunSession(const std::string& token, bool* got_message);
  void Dispatch(const v1::ServerMessage& message);
  // Sleeps `d` unless Stop() comes first; false when stopping.
  bool SleepFor(absl::Duration d);

  const Options options_;
  AttemptManager* const manager_;
  Outbox* const outbox_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
  absl::BitGenRef gen_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  int64_t sessions_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t disconnects_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t registrations_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hac::agent

#endif  // HAC_AGENT_SESSION_CLIENT_H_
