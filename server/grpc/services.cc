#include "server/grpc/services.h"

namespace hac::server::grpc_glue {

using grpc::ServerContext;
using grpc::Status;

// ---- JobService ----

Status JobServiceImpl::GetJob(ServerContext* ctx, const hac::v1::GetJobRequest* req,
                              hac::v1::Job* resp) {
  return rpc_.Unary("GetJob", ctx, resp, [&](const Principal& p) { return jobs_.Get(p, *req); });
}

Status JobServiceImpl::ListJobs(ServerContext* ctx, const hac::v1::ListJobsRequest* req,
                                hac::v1::ListJobsResponse* resp) {
  return rpc_.Unary("ListJobs", ctx, resp, [&](const Principal& p) { return jobs_.List(p, *req); });
}

Status JobServiceImpl::CancelJob(ServerContext* ctx, const hac::v1::CancelJobRequest* req,
                                 hac::v1::Job* resp) {
  return rpc_.Unary("CancelJob", ctx, resp, [&](const Principal& p) { return jobs_.Cancel(p, *req); });
}

Status JobServiceImpl::WatchJob(ServerContext* ctx, const hac::v1::WatchJobRequest* req,
                                grpc::ServerWriter<hac::v1::JobEvent>* writer) {
  return rpc_.Run("WatchJob", ctx, [&](const Principal& p) {
    return jobs_.Watch(
        p, *req, [&](const hac::v1::JobEvent& ev) { return writer->Write(ev); },
        [&] { return ctx->IsCancelled(); });
  });
}

Status JobServiceImpl::GetJobLogs(ServerContext* ctx, const hac::v1::GetJobLogsRequest* req,
                                  grpc::ServerWriter<hac::v1::LogChunk>* writer) {
  return rpc_.Run("GetJobLogs", ctx, [&](const Principal& p) {
    return jobs_.Logs(
        p, *req, [&](const hac::v1::LogChunk& c) { return writer->Write(c); },
        [&] { return ctx->IsCancelled(); });
  });
}

// ---- AdminService ----

Status AdminServiceImpl::CreateTenant(ServerContext* ctx, const hac::v1::CreateTenantRequest* req,
                                      hac::v1::CreateTenantResponse* resp) {
  return rpc_.Unary("CreateTenant", ctx, resp,
                    [&](const Principal& p) { return admin_.CreateTenant(p, *req); });
}

Status AdminServiceImpl::ListTenants(ServerContext* ctx, const hac::v1::ListTenantsRequest*,
                                     hac::v1::ListTenantsResponse* resp) {
  return rpc_.Unary("ListTenants", ctx, resp,
                    [&](const Principal& p) { return admin_.ListTenants(p); });
}

Status AdminServiceImpl::CreateToken(ServerContext* ctx, const hac::v1::CreateTokenRequest* req,
                                     hac::v1::CreateTokenResponse* resp) {
  return rpc_.Unary("CreateToken", ctx, resp,
                    [&](const Principal& p) { return admin_.CreateToken(p, *req); });
}

Status AdminServiceImpl::RevokeToken(ServerContext* ctx, const hac::v1::RevokeTokenRequest* req,
                                     hac::v1::TokenInfo* resp) {
  return rpc_.Unary("RevokeToken", ctx, resp,
                    [&](const Principal& p) { return admin_.RevokeToken(p, *req); });
}

Status AdminServiceImpl::ListTokens(ServerContext* ctx, const hac::v1::ListTokensRequest* req,
                                    hac::v1::ListTokensResponse* resp) {
  return rpc_.Unary("ListTokens", ctx, resp,
                    [&](const Principal& p) { return admin_.ListTokens(p, *req); });
}

Status AdminServiceImpl::SetQuota(ServerContext* ctx, const hac::v1::SetQuotaRequest* req,
                                  hac::v1::Quota* resp) {
  return rpc_.Unary("SetQuota", ctx, resp,
                    [&](const Principal& p) { return admin_.SetQuota(p, *req); });
}

Status AdminServiceImpl::ListQuotas(ServerContext* ctx, const hac::v1::ListQuotasRequest* req,
                                    hac::v1::ListQuotasResponse* resp) {
  return rpc_.Unary("ListQuotas", ctx, resp,
                    [&](const Principal& p) { return admin_.ListQuotas(p, *req); });
}

Status AdminServiceImpl::DeleteQuota(ServerContext* ctx, const hac::v1::DeleteQuotaRequest* req,
                                     hac::v1::DeleteQuotaResponse*) {
  return rpc_.Run("DeleteQuota", ctx,
                  [&](const Principal& p) { return admin_.DeleteQuota(p, *req); });
}

Status AdminServiceImpl::CreateJoinToken(ServerContext* ctx,
                                         const hac::v1::CreateJoinTokenRequest* req,
                                         hac::v1::CreateJoinTokenResponse* resp) {
  return rpc_.Unary("CreateJoinToken", ctx, resp,
                    [&](const Principal& p) { return admin_.CreateJoinToken(p, *req); });
}

Status AdminServiceImpl::GetSchedulerConfig(ServerContext* ctx,
                                            const hac::v1::GetSchedulerConfigRequest*,
                                            hac::v1::SchedulerConfig* resp) {
  return rpc_.Unary("GetSchedulerConfig", ctx, resp,
                    [&](const Principal& p) { return admin_.GetSchedulerConfig(p); });
}

Status AdminServiceImpl::SetSchedulerConfig(ServerContext* ctx,
                                            const hac::v1::SchedulerConfig* req,
                                            hac::v1::SchedulerConfig* resp) {
  return rpc_.Unary("SetSchedulerConfig", ctx, resp,
                    [&](const Principal& p) { return admin_.SetSchedulerConfig(p, *req); });
}

Status AdminServiceImpl::WhoAmI(ServerContext* ctx, const hac::v1::WhoAmIRequest*,
                                hac::v1::WhoAmIResponse* resp) {
  return rpc_.Unary("WhoAmI", ctx, resp, [&](const Principal& p) { return admin_.WhoAmI(p); });
}

// ---- Services of later releases ----

namespace {
constexpr char kPools[] = "node pools arrive with the node-pool release";
}  // namespace

Status NodeServiceImpl::RegisterNode(ServerContext* ctx, const hac::v1::RegisterNodeRequest* req,
                                     hac::v1::RegisterNodeResponse* resp) {
  return rpc_.Unary("RegisterNode", ctx, resp,
                    [&](const Principal& p) { return cluster_.RegisterNode(p, *req); });
}

namespace {
class GrpcSessionStream final : public SessionStream {
 public:
  explicit GrpcSessionStream(
      grpc::ServerReaderWriter<hac::v1::ServerMessage, hac::v1::AgentMessage>* s)
      : s_(s) {}
  bool Read(hac::v1::AgentMessage* msg) override { return s_->Read(msg); }
  bool Write(const hac::v1::ServerMessage& msg, bool more) override {
    return s_->Write(msg, more ? grpc::WriteOptions().set_buffer_hint() : grpc::WriteOptions());
  }

 private:
  grpc::ServerReaderWriter<hac::v1::ServerMessage, hac::v1::AgentMessage>* s_;
};
}  // namespace

Status NodeServiceImpl::Session(
    ServerContext* ctx,
    grpc::ServerReaderWriter<hac::v1::ServerMessage, hac::v1::AgentMessage>* stream) {
  return rpc_.Run("Session", ctx, [&](const Principal& p) {
    GrpcSessionStream s(stream);
    return cluster_.RunSession(p, s);
  });
}

Status PoolServiceImpl::CreatePool(ServerContext* ctx, const hac::v1::CreatePoolRequest*,
                                   hac::v1::Pool*) {
  return rpc_.NotYet("CreatePool", ctx, kPools);
}
Status PoolServiceImpl::GetPool(ServerContext* ctx, const hac::v1::GetPoolRequest*,
                                hac::v1::Pool*) {
  return rpc_.NotYet("GetPool", ctx, kPools);
}
Status PoolServiceImpl::ListPools(ServerContext* ctx, const hac::v1::ListPoolsRequest*,
                                  hac::v1::ListPoolsResponse*) {
  return rpc_.NotYet("ListPools", ctx, kPools);
}
Status PoolServiceImpl::ScalePool(ServerContext* ctx, const hac::v1::ScalePoolRequest*,
                                  hac::v1::Pool*) {
  return rpc_.NotYet("ScalePool", ctx, kPools);
}
Status PoolServiceImpl::DeletePool(ServerContext* ctx, const hac::v1::DeletePoolRequest*,
                                   hac::v1::DeletePoolResponse*) {
  return rpc_.NotYet("DeletePool", ctx, kPools);
}
Status PoolServiceImpl::ListNodes(ServerContext* ctx, const hac::v1::ListNodesRequest* req,
                                  hac::v1::ListNodesResponse* resp) {
  return rpc_.Unary("ListNodes", ctx, resp,
                    [&](const Principal& p) { return cluster_.ListNodes(p, *req); });
}
Status PoolServiceImpl::GetNode(ServerContext* ctx, const hac::v1::GetNodeRequest* req,
                                hac::v1::Node* resp) {
  return rpc_.Unary("GetNode", ctx, resp,
                    [&](const Principal& p) { return cluster_.GetNode(p, req->name()); });
}
Status PoolServiceImpl::CordonNode(ServerContext* ctx, const hac::v1::NodeActionRequest* req,
                                   hac::v1::Node* resp) {
  return rpc_.Unary("CordonNode", ctx, resp, [&](const Principal& p) {
    return cluster_.SetNodeState(p, req->name(), hac::v1::NODE_STATE_CORDONED);
  });
}
Status PoolServiceImpl::UncordonNode(ServerContext* ctx, const hac::v1::NodeActionRequest* req,
                                     hac::v1::Node* resp) {
  return rpc_.Unary("UncordonNode", ctx, resp, [&](const Principal& p) {
    return cluster_.SetNodeState(p, req->name(), hac::v1::NODE_STATE_READY);
  });
}
Status PoolServiceImpl::DrainNode(ServerContext* ctx, const hac::v1::NodeActionRequest* req,
                                  hac::v1::Node* resp) {
  return rpc_.Unary("DrainNode", ctx, resp, [&](const Principal& p) {
    return cluster_.SetNodeState(p, req->name(), hac::v1::NODE_STATE_DRAINING);
  });
}

Status BillingServiceImpl::GetUsage(ServerContext* ctx, const hac::v1::GetUsageRequest* req,
                                    hac::v1::GetUsageResponse* resp) {
  return rpc_.Unary("GetUsage", ctx, resp, [&](const Principal& p) { return billing_.GetUsage(p, *req); });
}
Status BillingServiceImpl::GetBill(ServerContext* ctx, const hac::v1::GetBillRequest* req,
                                   hac::v1::Bill* resp) {
  return rpc_.Unary("GetBill", ctx, resp, [&](const Principal& p) { return billing_.GetBill(p, *req); });
}
Status BillingServiceImpl::ListPrices(ServerContext* ctx, const hac::v1::ListPricesRequest*,
                                      hac::v1::ListPricesResponse* resp) {
  return rpc_.Unary("ListPrices", ctx, resp, [&](const Principal& p) { return billing_.ListPrices(p); });
}
Status BillingServiceImpl::SetPrice(ServerContext* ctx, const hac::v1::SetPriceRequest* req,
                                    hac::v1::Price* resp) {
  return rpc_.Unary("SetPrice", ctx, resp, [&](const Principal& p) { return billing_.SetPrice(p, *req); });
}
Status BillingServiceImpl::CloseInvoice(ServerContext* ctx, const hac::v1::CloseInvoiceRequest* req,
                                        hac::v1::CloseInvoiceResponse* resp) {
  return rpc_.Unary("CloseInvoice", ctx, resp, [&](const Principal& p) { return billing_.CloseInvoice(p, *req); });
}
Status BillingServiceImpl::ListInvoices(ServerContext* ctx, const hac::v1::ListInvoicesRequest* req,
                                        hac::v1::ListInvoicesResponse* resp) {
  return rpc_.Unary("ListInvoices", ctx, resp, [&](const Principal& p) { return billing_.ListInvoices(p, *req); });
}
Status BillingServiceImpl::SetBudget(ServerContext* ctx, const hac::v1::SetBudgetRequest* req,
                                     hac::v1::Budget* resp) {
  return rpc_.Unary("SetBudget", ctx, resp, [&](const Principal& p) { return billing_.SetBudget(p, *req); });
}
Status BillingServiceImpl::GetBudget(ServerContext* ctx, const hac::v1::GetBudgetRequest* req,
                                     hac::v1::Budget* resp) {
  return rpc_.Unary("GetBudget", ctx, resp, [&](const Principal& p) { return billing_.GetBudget(p, *req); });
}

}  // namespace hac::server::grpc_glue
