// The C API (hacrt.h) over one process-wide Runtime created from the environment on first use.
// This shim is the one place with process-global state: the C API has no handle to carry it.
#include "runtime/hacrt.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "agent/device/device.h"
#include "runtime/runtime.h"

namespace {

using hac::device::Device;
using hac::device::DType;
using hac::device::Kernel;
using hac::device::StreamId;

struct Global {
  std::unique_ptr<hac::runtime::Runtime> runtime;
  absl::Status init_error;
};

Global& GetGlobal() {
  static Global* g = [] {
    auto* g = new Global();
    absl::StatusOr<std::unique_ptr<hac::runtime::Runtime>> rt =
        hac::runtime::Runtime::Create(hac::runtime::RuntimeOptions::FromEnvironment());
    if (rt.ok()) {
      g->runtime = *std::move(rt);
    } else {
      g->init_error = rt.status();
    }
    // Close the devices at exit so a cleanly exiting job releases its memory accounting in the
    // shared segments (a crashing one is reclaimed by the agent's reset instead).
    std::atexit([] { GetGlobal().runtime.reset(); });
    return g;
  }();
  return *g;
}

thread_local int current_device = 0;
thread_local std::string last_message;

}  // namespace

struct hacrtStream {
  int device;
  StreamId id;
};

namespace {

hacrtError_t Fail(hacrtError_t code, std::string message) {
  last_message = std::move(message);
  return code;
}

hacrtError_t FromStatus(const absl::Status& s) {
  if (s.ok()) return HACRT_SUCCESS;
  hacrtError_t code = HACRT_ERROR_INTERNAL;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument: code = HACRT_ERROR_INVALID_VALUE; break;
    case absl::StatusCode::kResourceExhausted: code = HACRT_ERROR_OUT_OF_MEMORY; break;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kPermissionDenied: code = HACRT_ERROR_NO_DEVICE; break;
    case absl::StatusCode::kOutOfRange: code = HACRT_ERROR_INVALID_DEVICE; break;
    case absl::StatusCode::kFailedPrecondition: code = HACRT_ERROR_DEVICE_UNAVAILABLE; break;
    case absl::StatusCode::kUnimplemented: code = HACRT_ERROR_NOT_SUPPORTED; break;
    case absl::StatusCode::kInternal: code = HACRT_ERROR_DEVICE_FAULT; break;
    case absl::StatusCode::kDeadlineExceeded: code = HACRT_ERROR_TIMEOUT; break;
    default: break;
  }
  return Fail(code, std::string(s.message()));
}

hacrtError_t GetRuntime(hac::runtime::Runtime** rt) {
  Global& g = GetGlobal();
  if (!g.init_error.ok()) return FromStatus(g.init_error);
  *rt = g.runtime.get();
  return HACRT_SUCCESS;
}

hacrtError_t CurrentDevice(Device** dev) {
  hac::runtime::Runtime* rt = nullptr;
  if (hacrtError_t e = GetRuntime(&rt); e != HACRT_SUCCESS) return e;
  if (rt->device_count() == 0) {
    return Fail(HACRT_ERROR_NO_DEVICE,
                "no devices: set HAC_VISIBLE_DEVICES (agent) or HAC_LOCAL_DEVICES (local)");
  }
  absl::StatusOr<Device*> d = rt->device(current_device);
  if (!d.ok()) return FromStatus(d.status());
  *dev = *d;
  return HACRT_SUCCESS;
}

hacrtError_t Launch(hacrtStream_t s, const Kernel& k) {
  Device* dev = nullptr;
  if (hacrtError_t e = CurrentDevice(&dev); e != HACRT_SUCCESS) return e;
  if (s != nullptr && s->device != current_device) {
    return Fail(HACRT_ERROR_INVALID_VALUE, "stream belongs to another device");
  }
  return FromStatus(dev->Launch(s == nullptr ? hac::device::kDefaultStream : s->id, k));
}

DType ToDType(hacrtDataType t) { return static_cast<DType>(t); }

}  // namespace

extern "C" {

const char* hacrtGetErrorName(hacrtError_t error) {
  switch (error) {
    case HACRT_SUCCESS: return "HACRT_SUCCESS";
    case HACRT_ERROR_INVALID_VALUE: return "HACRT_ERROR_INVALID_VALUE";
    case HACRT_ERROR_OUT_OF_MEMORY: return "HACRT_ERROR_OUT_OF_MEMORY";
    case HACRT_ERROR_NO_DEVICE: return "HACRT_ERROR_NO_DEVICE";
    case HACRT_ERROR_INVALID_DEVICE: return "HACRT_ERROR_INVALID_DEVICE";
    case HACRT_ERROR_DEVICE_UNAVAILABLE: return "HACRT_ERROR_DEVICE_UNAVAILABLE";
    case HACRT_ERROR_NOT_SUPPORTED: return "HACRT_ERROR_NOT_SUPPORTED";
    case HACRT_ERROR_DEVICE_FAULT: return "HACRT_ERROR_DEVICE_FAULT";
    case HACRT_ERROR_TIMEOUT: return "HACRT_ERROR_TIMEOUT";
    case HACRT_ERROR_INTERNAL: return "HACRT_ERROR_INTERNAL";
  }
  return "HACRT_ERROR_UNKNOWN";
}

const char* hacrtGetLastErrorMessage(void) { return last_message.c_str(); }

hacrtError_t hacrtGetDeviceCount(int* count) {
  if (count == nullptr) return Fail(HACRT_ERROR_INVALID_VALUE, "count is NULL");
  hac::runtime::Runtime* rt = nullptr;
  if (hacrtError_t e = GetRuntime(&rt); e != HACRT_SUCCESS) return e;
  *count = rt->device_count();
  return HACRT_SUCCESS;
}

hacrtError_t hacrtGetDeviceProperties(hacrtDeviceProp* prop, int device) {
  if (prop == nullptr) return Fail(HACRT_ERROR_INVALID_VALUE, "prop is NULL");
  hac::runtime::Runtime* rt = nullptr;
  if (hacrtError_t e = GetRuntime(&rt); e != HACRT_SUCCESS) return e;
  absl::StatusOr<hac::device::DeviceProperties> p = rt->properties(device);
  if (!p.ok()) return FromStatus(p.status());
  std::memset(prop, 0, sizeof(*prop));
  std::memcpy(prop->backend, p->backend, sizeof(prop->backend));
  std::memcpy(prop->model, p->model, sizeof(prop->model));
  std::memcpy(prop->uuid, p->uuid, sizeof(prop->uuid));
  std::strncpy(prop->device_class, hac::device::DeviceClassName(p->device_class),
               sizeof(prop->device_class) - 1);
  prop->memory_bytes = p->memory_bytes;
  prop->compute_units = p->compute_units;
  for (int i = 0; i < 4; ++i) prop->peak_ops_per_s[i] = p->peak_ops_per_s[i];
  return HACRT_SUCCESS;
}

hacrtError_t hacrtSetDevice(int device) {
  hac::runtime::Runtime* rt = nullptr;
  if (hacrtError_t e = GetRuntime(&rt); e != HACRT_SUCCESS) return e;
  absl::StatusOr<Device*> d = rt->device(device);
  if (!d.ok()) return FromStatus(d.status());
  current_device = device;
  return HACRT_SUCCESS;
}

hacrtError_t hacrtGetDevice(int* device) {
  if (device == nullptr) return Fail(HACRT_ERROR_INVALID_VALUE, "device is NULL");
  *device = current_device;
  return HACRT_SUCCESS;
}

hacrtError_t hacrtDeviceGetUsage(hacrtDeviceUsage* usage) {
  if (usage == nullptr) return Fail(HACRT_ERROR_INVALID_VALUE, "usage is NULL");
  Device* dev = nullptr;
  if (hacrtError_t e = CurrentDevice(&dev); e != HACRT_SUCCESS) return e;
  hac::device::DeviceTelemetry t = dev->Telemetry();
  usage->busy_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(t.busy));
  usage->memory_used = t.memory_used;
  usage->kernels_run = t.kernels_run;
  usage->healthy = t.health == hac::device::Health::kHealthy ? 1 : 0;
  return HACRT_SUCCESS;
}

hacrtError_t hacrtDeviceSynchronize(void) {
  Device* dev = nullptr;
  if (hacrtError_t e = CurrentDevice(&dev); e != HACRT_SUCCESS) return e;
  return FromStatus(dev->Synchronize());
}

hacrtError_t hacrtMalloc(void** ptr, size_t bytes) {
  if (ptr == nullptr) return Fail(HACRT_ERROR_INVALID_VALUE, "ptr is NULL");
  Device* dev = nullptr;
  if (hacrtError_t e = CurrentDevice(&dev); e != HACRT_SUCCESS) return e;
  absl::StatusOr<void*> p = dev->Allocate(bytes);
  if (!p.ok()) return FromStatus(p.status());
  *ptr = *p;
  return HACRT_SUCCESS;
}

hacrtError_t hacrtFree(void* ptr) {
  Device* dev = nullptr;
  if (hacrtError_t e = CurrentDevice(&dev); e != HACRT_SUCCESS) return e;
  return FromStatus(dev->Free(ptr));
}

hacrtError_t hacrtMemcpy(void* dst, const void* src, size_t bytes, hacrtMemcpyKind kind) {
  Device* dev = nullptr;
  if (hacrtError_t e = CurrentDevice(&dev); e != HACRT_SUCCESS) return e;
  hac::device::CopyKind k;
  switch (kind) {
    case HACRT_MEMCPY_HOST_TO_DEVICE: k = hac::device::CopyKind::kHostToDevice; break;
    case HACRT_MEMCPY_DEVICE_TO_HOST: k = hac::device::CopyKind::kDeviceToHost; break;
    case HACRT_MEMCPY_DEVICE_TO_DEVICE: k = hac::device::CopyKind::kDeviceToDevice; break;
    default: return Fail(HACRT_ERROR_INVALID_VALUE, "unknown memcpy kind");
  }
  return FromStatus(dev->Copy(dst, src, bytes, k));
}

hacrtError_t hacrtStreamCreate(hacrtStream_t* stream) {
  if (stream == nullptr) return Fail(HACRT_ERROR_INVALID_VALUE, "stream is NULL");
  Device* dev = nullptr;
  if (hacrtError_t e = CurrentDevice(&dev); e != HACRT_SUCCESS) return e;
  absl::StatusOr<StreamId> id = dev->CreateStream();
  if (!id.ok()) return FromStatus(id.status());
  *stream = new hacrtStream{current_device, *id};
  return HACRT_SUCCESS;
}

hacrtError_t hacrtStreamDestroy(hacrtStream_t stream) {
  if (stream == nullptr) return Fail(HACRT_ERROR_INVALID_VALUE, "the default stream cannot be destroyed");
  hac::runtime::Runtime* rt = nullptr;
  if (hacrtError_t e = GetRuntime(&rt); e != HACRT_SUCCESS) return e;
  absl::StatusOr<Device*> d = rt->device(stream->device);
  if (!d.ok()) return FromStatus(d.status());
  absl::Status s = (*d)->DestroyStream(stream->id);
  delete stream;
  return FromStatus(s);
}

hacrtError_t hacrtStreamSynchronize(hacrtStream_t stream) {
  if (stream == nullptr) return hacrtDeviceSynchronize();
  hac::runtime::Runtime* rt = nullptr;
  if (hacrtError_t e = GetRuntime(&rt); e != HACRT_SUCCESS) return e;
  absl::StatusOr<Device*> d = rt->device(stream->device);
  if (!d.ok()) return FromStatus(d.status());
  return FromStatus((*d)->SynchronizeStream(stream->id));
}

hacrtError_t hacrtGemm(hacrtStream_t s, hacrtDataType dtype, int trans_a, int trans_b, int64_t m,
                       int64_t n, int64_t k, float alpha, const void* a, const void* b, float beta,
                       void* c) {
  return Launch(s, Kernel::Gemm(ToDType(dtype), trans_a != 0, trans_b != 0, m, n, k, alpha, a, b,
                                beta, c));
}
hacrtError_t hacrtAdd(hacrtStream_t s, const float* x, const float* y, float* out, int64_t n) {
  return Launch(s, Kernel::Add(x, y, out, n));
}
hacrtError_t hacrtMul(hacrtStream_t s, const float* x, const float* y, float* out, int64_t n) {
  return Launch(s, Kernel::Mul(x, y, out, n));
}
hacrtError_t hacrtRelu(hacrtStream_t s, const float* x, float* out, int64_t n) {
  return Launch(s, Kernel::Relu(x, out, n));
}
hacrtError_t hacrtGelu(hacrtStream_t s, const float* x, float* out, int64_t n) {
  return Launch(s, Kernel::Gelu(x, out, n));
}
hacrtError_t hacrtReluBackward(hacrtStream_t s, const float* dy, const float* x, float* dx,
                               int64_t n) {
  return Launch(s, Kernel::ReluBackward(dy, x, dx, n));
}
hacrtError_t hacrtGeluBackward(hacrtStream_t s, const float* dy, const float* x, float* dx,
                               int64_t n) {
  return Launch(s, Kernel::GeluBackward(dy, x, dx, n));
}
hacrtError_t hacrtAxpy(hacrtStream_t s, float alpha, const float* x, float* y, int64_t n) {
  return Launch(s, Kernel::Axpy(alpha, x, y, n));
}
hacrtError_t hacrtBiasAdd(hacrtStream_t s, const float* x, const float* bias, float* out,
                          int64_t rows, int64_t cols) {
  return Launch(s, Kernel::BiasAdd(x, bias, out, rows, cols));
}
hacrtError_t hacrtSoftmax(hacrtStream_t s, const float* x, float* out, int64_t rows,
                          int64_t cols) {
  return Launch(s, Kernel::Softmax(x, out, rows, cols));
}
hacrtError_t hacrtSoftmaxCrossEntropy(hacrtStream_t s, const float* logits, const int32_t* labels,
                                      float* loss, float* grad, float grad_scale, int64_t rows,
                                      int64_t cols) {
  return Launch(s, Kernel::SoftmaxCrossEntropy(logits, labels, loss, grad, grad_scale, rows, cols));
}
hacrtError_t hacrtReduceSumRows(hacrtStream_t s, const float* x, float* out, int64_t rows,
                                int64_t cols) {
  return Launch(s, Kernel::ReduceRows(hac::device::ReduceOp::kSum, x, out, rows, cols));
}
hacrtError_t hacrtReduceMaxRows(hacrtStream_t s, const float* x, float* out, int64_t rows,
                                int64_t cols) {
  return Launch(s, Kernel::ReduceRows(hac::device::ReduceOp::kMax, x, out, rows, cols));
}
hacrtError_t hacrtReduceSumCols(hacrtStream_t s, const float* x, float* out, int64_t rows,
                                int64_t cols) {
  return Launch(s, Kernel::ReduceCols(x, out, rows, cols));
}
hacrtError_t hacrtCast(hacrtStream_t s, hacrtDataType from, hacrtDataType to, const void* x,
                       void* out, int64_t n) {
  return Launch(s, Kernel::Cast(ToDType(from), ToDType(to), x, out, n));
}
hacrtError_t hacrtQuantize(hacrtStream_t s, const float* x, int8_t* out, float scale, int64_t n) {
  return Launch(s, Kernel::Quantize(x, out, scale, n));
}
hacrtError_t hacrtDequantize(hacrtStream_t s, const int32_t* x, float* out, float scale,
                             int64_t n) {
  return Launch(s, Kernel::Dequantize(x, out, scale, n));
}

}  // extern "C"
