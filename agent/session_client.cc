#include "agent/session_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace hac::agent {
namespace {

absl::StatusOr<std::string> ReadTrimmed(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

// Writes `content` to `path` with mode 0600 from the first byte, atomically (rename).
absl::Status WritePrivateFile(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot write ", tmp));
  fchmod(fd, 0600);
  bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = fsync(fd) == 0 && ok;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

std::string Describe(const grpc::Status& s) {
  return absl::StrCat("code ", static_cast<int>(s.error_code()), ": ", s.error_message());
}

}  // namespace

// --- Outbox ---

void Outbox::Push(v1::AgentMessage message) {
  absl::MutexLock lock(&mu_);
  if (message.has_log()) {
    int64_t size = static_cast<int64_t>(message.log().data().size());
    if (log_bytes_ + size > max_log_bytes_) return;  // the log file on disk still has it
    log_bytes_ += size;
  }
  queue_.push_back(std::move(message));
}

std::vector<v1::AgentMessage> Outbox::Take(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || woken_; };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  woken_ = false;
  std::vector<v1::AgentMessage> out(std::make_move_iterator(queue_.begin()),
                                    std::make_move_iterator(queue_.end()));
  queue_.clear();
  log_bytes_ = 0;
  // RUNNING statuses whose attempt's final status is taken too go out as its start_time.
  absl::flat_hash_map<std::string, size_t> running;  // attempt id -> index in out
  bool dropped = false;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i].has_status()) continue;
    const v1::AttemptStatus& st = out[i].status();
    if (st.state() == v1::ATTEMPT_STATE_RUNNING) {
      running[st.attempt_id()] = i;
      continue;
    }
    auto r = running.find(st.attempt_id());
    if (r == running.end() || st.state() == v1::ATTEMPT_STATE_UNSPECIFIED) continue;
    *out[i].mutable_status()->mutable_start_time() = out[r->second].status().time();
    out[r->second].Clear();
    running.erase(r);
    dropped = true;
  }
  if (dropped) {
    out.erase(std::remove_if(out.begin(), out.end(),
                             [](const v1::AgentMessage& m) {
                               return m.msg_case() == v1::AgentMessage::MSG_NOT_SET;
                             }),
              out.end());
  }
  return out;
}

void Outbox::DropStale() {
  absl::MutexLock lock(&mu_);
  std::deque<v1::AgentMessage> kept;
  for (v1::AgentMessage& m : queue_) {
    // Output is not repeated by the hello: keep it. (Final usage is: the hello carries the
    // final counters of every finished attempt it reports.)
    if (m.has_log()) kept.push_back(std::move(m));
  }
  queue_.swap(kept);
}

void Outbox::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

size_t Outbox::size() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

// --- SessionClient ---

absl::StatusOr<std::unique_ptr<SessionClient>> SessionClient::Create(Options options,
                                                                     AttemptManager* manager,
                                                                     Outbox* outbox,
                                                                     absl::BitGenRef gen) {
  if (options.server.empty()) return absl::InvalidArgumentError("--server is required");
  if (options.node.empty()) return absl::InvalidArgumentError("--node is required");
  if (options.token_path.empty()) return absl::InvalidArgumentError("token path is required");
  if (options.clock == nullptr) return absl::InvalidArgumentError("SessionClient: clock required");
  if (manager == nullptr || outbox == nullptr) {
    return absl::InvalidArgumentError("SessionClient: manager and outbox required");
  }
  if (options.max_backoff < options.initial_backoff) options.max_backoff = options.initial_backoff;
  return std::unique_ptr<SessionClient>(
      new SessionClient(std::move(options), manager, outbox, gen));
}

SessionClient::SessionClient(Options options, AttemptManager* manager, Outbox* outbox,
                             absl::BitGenRef gen)
    : options_(std::move(options)), manager_(manager), outbox_(outbox), gen_(gen) {
  auto creds = options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  // Reconnection is ours (with our backoff); keep gRPC's own retry short so it does not add to it.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.max_backoff)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  channel_ = grpc::CreateCustomChannel(options_.server, creds, args);
  stub_ = v1::NodeService::NewStub(channel_);
}

SessionClient::~SessionClient() { Stop(); }

void SessionClient::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void SessionClient::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (current_ != nullptr) current_->TryCancel();
  }
  outbox_->Wake();
  if (thread_.joinable()) thread_.join();
}

bool SessionClient::connected() const {
  absl::MutexLock lock(&mu_);
  return connected_;
}

int64_t SessionClient::sessions() const {
  absl::MutexLock lock(&mu_);
  return sessions_;
}

int64_t SessionClient::disconnects() const {
  absl::MutexLock lock(&mu_);
  return disconnects_;
}

int64_t SessionClient::registrations() const {
  absl::MutexLock lock(&mu_);
  return registrations_;
}

bool SessionClient::SleepFor(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

absl::StatusOr<std::string> SessionClient::NodeToken() {
  if (absl::StatusOr<std::string> token = ReadTrimmed(options_.token_path);
      token.ok() && !token->empty()) {
    return token;
  }
  if (absl::Status s = Register(); !s.ok()) return s;
  return ReadTrimmed(options_.token_path);
}

absl::Status SessionClient::Register() {
  if (options_.join_token_file.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no node credential in ", options_.token_path, " and no --join-token-file"));
  }
  absl::StatusOr<std::string> join = ReadTrimmed(options_.join_token_file);
  if (!join.ok()) return join.status();
  v1::RegisterNodeRequest request;
  request.set_name(options_.node);
  request.set_pool(options_.pool);
  request.set_agent_version(options_.agent_version);
  for (const v1::Device& d : options_.devices) *request.add_devices() = d;
  v1::RegisterNodeResponse response;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + *join);
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.rpc_timeout));
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    current_ = &ctx;  // so Stop() does not wait for the deadline
  }
  grpc::Status status = stub_->RegisterNode(&ctx, request, &response);
  {
    absl::MutexLock lock(&mu_);
    current_ = nullptr;
  }
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("RegisterNode: ", Describe(status)));
  }
  if (response.node_token().empty()) {
    return absl::UnavailableError("RegisterNode returned no node credential");
  }
  if (absl::Status s = WritePrivateFile(options_.token_path, response.node_token() + "\n");
      !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  ++registrations_;
  HAC_LOG(INFO) << "registered node " << options_.node << " in pool " << options_.pool;
  return absl::OkStatus();
}

void SessionClient::Run() {
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    absl::StatusOr<std::string> token = NodeToken();
    bool got_message = false;
    if (!token.ok()) {
      HAC_LOG(WARNING) << "cannot register: " << token.status().message();
    } else {
      SessionEnd end = RunSession(*token, &got_message);
      if (end == SessionEnd::kStopped) return;
      if (end == SessionEnd::kRefused) {
        // The next turn registers again with the join token (after the backoff, so a server
        // that refuses every credential is not hammered).
        HAC_LOG(WARNING) << "node credential refused; registering again with the join token";
        unlink(options_.token_path.c_str());
      }
    }
    if (got_message) backoff = options_.initial_backoff;
    absl::Duration wait = absl::Microseconds(absl::Uniform<int64_t>(
        gen_, absl::ToInt64Microseconds(backoff) / 2, absl::ToInt64Microseconds(backoff) + 1));
    if (!SleepFor(wait)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

SessionClient::SessionEnd SessionClient::RunSession(const std::string& token, bool* got_message) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return SessionEnd::kStopped;
    current_ = &ctx;
  }
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ServerMessage>> stream =
      stub_->Session(&ctx);
  // Statuses queued before this point are superseded by the hello.
  outbox_->DropStale();
  v1::AgentMessage hello;
  *hello.mutable_hello() = manager_->Hello();
  bool broken = !stream->Write(hello);
  if (!broken) {
    absl::MutexLock lock(&mu_);
    connected_ = true;
    ++sessions_;
  }

  absl::Mutex reader_mu;
  bool reader_done = false;
  std::thread reader([&] {
    v1::ServerMessage message;
    while (stream->Read(&message)) {
      *got_message = true;
      Dispatch(message);
    }
    absl::MutexLock lock(&reader_mu);
    reader_done = true;
    outbox_->Wake();
  });

  const common::Clock& clock = *options_.clock;
  absl::Time next_heartbeat = clock.MonotonicNow() + options_.heartbeat_interval;
  absl::Time next_usage = clock.MonotonicNow() + options_.usage_interval;
  while (!broken) {
    {
      absl::MutexLock lock(&reader_mu);
      if (reader_done) break;
    }
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    absl::Time now = clock.MonotonicNow();
    // What is queued goes out together: one transport write for all of it.
    std::vector<v1::AgentMessage> batch = outbox_->Take(std::min(next_heartbeat, next_usage) - now);
    for (size_t i = 0; i < batch.size(); ++i) {
      const grpc::WriteOptions options =
          i + 1 < batch.size() ? grpc::WriteOptions().set_buffer_hint() : grpc::WriteOptions();
      if (!stream->Write(batch[i], options)) {
        broken = true;
        break;
      }
    }
    now = clock.MonotonicNow();
    if (!broken && now >= next_heartbeat) {
      v1::AgentMessage m;
      *m.mutable_heartbeat() = manager_->Heartbeat();
      broken = !stream->Write(m);
      next_heartbeat = now + options_.heartbeat_interval;
    }
    if (!broken && now >= next_usage) {
      manager_->Tick();  // queued; written on the next turn
      next_usage = now + options_.usage_interval;
    }
  }
  bool reader_finished;
  {
    absl::MutexLock lock(&reader_mu);
    reader_finished = reader_done;
  }
  if (!reader_finished) ctx.TryCancel();
  reader.join();
  grpc::Status status = stream->Finish();
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    current_ = nullptr;
    if (connected_) ++disconnects_;
    connected_ = false;
    stopping = stopping_;
  }
  if (stopping) return SessionEnd::kStopped;
  HAC_LOG(WARNING) << "session with " << options_.server << " ended (" << Describe(status) << ")";
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
      status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    return SessionEnd::kRefused;
  }
  return SessionEnd::kBroken;
}

void SessionClient::Dispatch(const v1::ServerMessage& message) {
  switch (message.msg_case()) {
    case v1::ServerMessage::kAssignment:
      manager_->OnAssignment(message.assignment());
      break;
    case v1::ServerMessage::kCancel:
      manager_->OnCancel(message.cancel());
      break;
    case v1::ServerMessage::kDrain:
      manager_->OnDrain(message.drain());
      break;
    case v1::ServerMessage::kReconcile:
      manager_->OnReconcile(message.reconcile());
      break;
    case v1::ServerMessage::kStatusAck:
      manager_->OnStatusAck(message.status_ack());
      break;
    case v1::ServerMessage::kUsageAck:
    case v1::ServerMessage::MSG_NOT_SET:
      break;
  }
}

}  // namespace hac::agent
