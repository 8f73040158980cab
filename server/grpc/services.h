// The gRPC services of hac.v1: thin adapters from the generated service classes to the
// gRPC-free managers (JobManager, AdminManager). Services a later release implements answer
// UNIMPLEMENTED with a message saying so.
//
// Thread-safe (sync gRPC services, each call on a gRPC thread; SubmitJob is asynchronous).
#ifndef HAC_SERVER_GRPC_SERVICES_H_
#define HAC_SERVER_GRPC_SERVICES_H_

#include "hac/v1/admin.grpc.pb.h"
#include "hac/v1/billing.grpc.pb.h"
#include "hac/v1/jobs.grpc.pb.h"
#include "hac/v1/nodes.grpc.pb.h"
#include "hac/v1/pools.grpc.pb.h"
#include "server/admin.h"
#include "server/billing_manager.h"
#include "server/cluster.h"
#include "server/grpc/rpc.h"
#include "server/jobs.h"

namespace hac::server::grpc_glue {

// SubmitJob is asynchronous: AsyncSubmitServer (server/grpc/async_submit.h) serves it.
class JobServiceImpl final
    : public hac::v1::JobService::WithAsyncMethod_SubmitJob<hac::v1::JobService::Service> {
 public:
  JobServiceImpl(Rpc& rpc, JobManager& jobs) : rpc_(rpc), jobs_(jobs) {}
  grpc::Status GetJob(grpc::ServerContext* ctx, const hac::v1::GetJobRequest* req,
                      hac::v1::Job* resp) override;
  grpc::Status ListJobs(grpc::ServerContext* ctx, const hac::v1::ListJobsRequest* req,
                        hac::v1::ListJobsResponse* resp) override;
  grpc::Status CancelJob(grpc::ServerContext* ctx, const hac::v1::CancelJobRequest* req,
                         hac::v1::Job* resp) override;
  grpc::Status WatchJob(grpc::ServerContext* ctx, const hac::v1::WatchJobRequest* req,
                        grpc::ServerWriter<hac::v1::JobEvent>* writer) override;
  grpc::Status GetJobLogs(grpc::ServerContext* ctx, const hac::v1::GetJobLogsRequest* req,
                          grpc::ServerWriter<hac::v1::LogChunk>* writer) override;

 private:
  Rpc& rpc_;
  JobManager& jobs_;
};

class AdminServiceImpl final : public hac::v1::AdminService::Service {
 public:
  AdminServiceImpl(Rpc& rpc, AdminManager& admin) : rpc_(rpc), admin_(admin) {}
  grpc::Status CreateTenant(grpc::ServerContext* ctx, const hac::v1::CreateTenantRequest* req,
                            hac::v1::CreateTenantResponse* resp) override;
  grpc::Status ListTenants(grpc::ServerContext* ctx, const hac::v1::ListTenantsRequest* req,
                           hac::v1::ListTenantsResponse* resp) override;
  grpc::Status CreateToken(grpc::ServerContext* ctx, const hac::v1::CreateTokenRequest* req,
                           hac::v1::CreateTokenResponse* resp) override;
  grpc::Status RevokeToken(grpc::ServerContext* ctx, const hac::v1::RevokeTokenRequest* req,
                           hac::v1::TokenInfo* resp) override;
  grpc::Status ListTokens(grpc::ServerContext* ctx, const hac::v1::ListTokensRequest* req,
                          hac::v1::ListTokensResponse* resp) override;
  grpc::Status SetQuota(grpc::ServerContext* ctx, const hac::v1::SetQuotaRequest* req,
                        hac::v1::Quota* resp) override;
  grpc::Status ListQuotas(grpc::ServerContext* ctx, const hac::v1::ListQuotasRequest* req,
                          hac::v1::ListQuotasResponse* resp) override;
  grpc::Status DeleteQuota(grpc::ServerContext* ctx, const hac::v1::DeleteQuotaRequest* req,
                           hac::v1::DeleteQuotaResponse* resp) override;
  grpc::Status CreateJoinToken(grpc::ServerContext* ctx,
                               const hac::v1::CreateJoinTokenRequest* req,
                               hac::v1::CreateJoinTokenResponse* resp) override;
  grpc::Status GetSchedulerConfig(grpc::ServerContext* ctx,
                                  const hac::v1::GetSchedulerConfigRequest* req,
                                  hac::v1::SchedulerConfig* resp) override;
  grpc::Status SetSchedulerConfig(grpc::ServerContext* ctx, const hac::v1::SchedulerConfig* req,
                                  hac::v1::SchedulerConfig* resp) override;
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const hac::v1::WhoAmIRequest* req,
                      hac::v1::WhoAmIResponse* resp) override;

 private:
  Rpc& rpc_;
  AdminManager& admin_;
};

// The agent protocol.
class NodeServiceImpl final : public hac::v1::NodeService::Service {
 public:
  NodeServiceImpl(Rpc& rpc, ClusterManager& cluster) : rpc_(rpc), cluster_(cluster) {}
  grpc::Status RegisterNode(grpc::ServerContext* ctx, const hac::v1::RegisterNodeRequest* req,
                            hac::v1::RegisterNodeResponse* resp) override;
  grpc::Status Session(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<hac::v1::ServerMessage, hac::v1::AgentMessage>* stream) override;

 private:
  Rpc& rpc_;
  ClusterManager& cluster_;
};

// Nodes (ListNodes, GetNode, Cordon, Uncordon, Drain); pools arrive with the node-pool release.
class PoolServiceImpl final : public hac::v1::PoolService::Service {
 public:
  PoolServiceImpl(Rpc& rpc, ClusterManager& cluster) : rpc_(rpc), cluster_(cluster) {}
  grpc::Status CreatePool(grpc::ServerContext* ctx, const hac::v1::CreatePoolRequest*,
                          hac::v1::Pool*) override;
  grpc::Status GetPool(grpc::ServerContext* ctx, const hac::v1::GetPoolRequest*,
                       hac::v1::Pool*) override;
  grpc::Status ListPools(grpc::ServerContext* ctx, const hac::v1::ListPoolsRequest*,
                         hac::v1::ListPoolsResponse*) override;
  grpc::Status ScalePool(grpc::ServerContext* ctx, const hac::v1::ScalePoolRequest*,
                         hac::v1::Pool*) override;
  grpc::Status DeletePool(grpc::ServerContext* ctx, const hac::v1::DeletePoolRequest*,
                          hac::v1::DeletePoolResponse*) override;
  grpc::Status ListNodes(grpc::ServerContext* ctx, const hac::v1::ListNodesRequest*,
                         hac::v1::ListNodesResponse*) override;
  grpc::Status GetNode(grpc::ServerContext* ctx, const hac::v1::GetNodeRequest*,
                       hac::v1::Node*) override;
  grpc::Status CordonNode(grpc::ServerContext* ctx, const hac::v1::NodeActionRequest*,
                          hac::v1::Node*) override;
  grpc::Status UncordonNode(grpc::ServerContext* ctx, const hac::v1::NodeActionRequest*,
                            hac::v1::Node*) override;
  grpc::Status DrainNode(grpc::ServerContext* ctx, const hac::v1::NodeActionRequest*,
                         hac::v1::Node*) override;

 private:
  Rpc& rpc_;
  ClusterManager& cluster_;
};

class BillingServiceImpl final : public hac::v1::BillingService::Service {
 public:
  BillingServiceImpl(Rpc& rpc, BillingManager& billing) : rpc_(rpc), billing_(billing) {}
  grpc::Status GetUsage(grpc::ServerContext* ctx, const hac::v1::GetUsageRequest*,
                        hac::v1::GetUsageResponse*) override;
  grpc::Status GetBill(grpc::ServerContext* ctx, const hac::v1::GetBillRequest*,
                       hac::v1::Bill*) override;
  grpc::Status ListPrices(grpc::ServerContext* ctx, const hac::v1::ListPricesRequest*,
                          hac::v1::ListPricesResponse*) override;
  grpc::Status SetPrice(grpc::ServerContext* ctx, const hac::v1::SetPriceRequest*,
                        hac::v1::Price*) override;
  grpc::Status CloseInvoice(grpc::ServerContext* ctx, const hac::v1::CloseInvoiceRequest*,
                            hac::v1::CloseInvoiceResponse*) override;
  grpc::Status ListInvoices(grpc::ServerContext* ctx, const hac::v1::ListInvoicesRequest*,
                            hac::v1::ListInvoicesResponse*) override;
  grpc::Status SetBudget(grpc::ServerContext* ctx, const hac::v1::SetBudgetRequest*,
                         hac::v1::Budget*) override;
  grpc::Status GetBudget(grpc::ServerContext* ctx, const hac::v1::GetBudgetRequest*,
                         hac::v1::Budget*) override;

 private:
  Rpc& rpc_;
  BillingManager& billing_;
};

}  // namespace hac::server::grpc_glue

#endif  // HAC_SERVER_GRPC_SERVICES_H_
