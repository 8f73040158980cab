/* libhacrt: the C API that HAC jobs link to reach their accelerators.
 *
 * A job built once runs unchanged on any backend (emu-gpu, sim-npu): it discovers its devices and
 * what they support at run time (hacrtGetDeviceProperties) and launches the same operations.
 *
 * Which devices a process sees:
 *   HAC_VISIBLE_DEVICES  set by the node agent: comma-separated paths of the device state segments
 *                        the job was given, e.g. "/var/lib/hac/devices/emu-gpu-0.state,...".
 *                        Device i is the i-th path. Everything else (backend, model, parameters,
 *                        faults) is read from the segment. Takes precedence when set (even empty).
 *   HAC_LOCAL_DEVICES    local development without an agent: private devices described by the
 *                        short spec "backend[:count][/key=value...]", comma-separated, e.g.
 *                        "emu-gpu:1,sim-npu:2/clock_mhz=100" (keys as in the node config).
 * With neither set, the device count is 0.
 *
 * Conventions: every call returns hacrtError_t; hacrtGetLastErrorMessage() gives the detail of the
 * calling thread's last failure. The current device is per thread (default 0) and is opened on
 * first use. Memory and operations act on the current device. Streams are in-order; a NULL stream
 * is the device's default stream. Operations are asynchronous: hacrtMemcpy, hacrtFree and the
 * synchronize calls wait for launched work. All tensors are dense row-major; see
 * agent/device/kernel.h for each operation's exact definition. Devices are closed at exit (an
 * atexit handler), releasing this process's memory accounting; do not call hacrt from other threads
 * while the process exits.
 */
#ifndef HAC_RUNTIME_HACRT_H_
#define HAC_RUNTIME_HACRT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hacrtError {
  HACRT_SUCCESS = 0,
  HACRT_ERROR_INVALID_VALUE = 1,       /* bad argument, shape or pointer */
  HACRT_ERROR_OUT_OF_MEMORY = 2,       /* device memory capacity exhausted */
  HACRT_ERROR_NO_DEVICE = 3,           /* no device, or a segment that cannot be attached */
  HACRT_ERROR_INVALID_DEVICE = 4,      /* device index out of range */
  HACRT_ERROR_DEVICE_UNAVAILABLE = 5,  /* unhealthy, or reset by the agent */
  HACRT_ERROR_NOT_SUPPORTED = 6,       /* the backend does not run this op / dtype */
  HACRT_ERROR_DEVICE_FAULT = 7,        /* the device failed (e.g. an injected fault) */
  HACRT_ERROR_TIMEOUT = 8,
  HACRT_ERROR_INTERNAL = 9,
} hacrtError_t;

typedef enum hacrtDataType {
  HACRT_F32 = 0,
  HACRT_BF16 = 1, /* stored as uint16_t */
  HACRT_I8 = 2,
  HACRT_I32 = 3,
} hacrtDataType;

typedef enum hacrtMemcpyKind {
  HACRT_MEMCPY_HOST_TO_DEVICE = 0,
  HACRT_MEMCPY_DEVICE_TO_HOST = 1,
  HACRT_MEMCPY_DEVICE_TO_DEVICE = 2,
} hacrtMemcpyKind;

typedef struct hacrtStream* hacrtStream_t;

typedef struct hacrtDeviceProp {
  char backend[16];      /* "emu-gpu", "sim-npu" */
  char model[32];        /* "egpu-s", "atom-sim", ... */
  char uuid[40];
  char device_class[8];  /* "gpu", "npu" */
  uint64_t memory_bytes;
  uint32_t compute_units;
  /* Peak GEMM operations per second by hacrtDataType (index); 0 = GEMM not supported in it. */
  double peak_ops_per_s[4];
} hacrtDeviceProp;

typedef struct hacrtDeviceUsage {
  uint64_t busy_ns;      /* time kernels were executing */
  uint64_t memory_used;  /* bytes, all processes on the device */
  uint64_t kernels_run;
  int healthy;           /* 1 healthy, 0 unhealthy or failed */
} hacrtDeviceUsage;

const char* hacrtGetErrorName(hacrtError_t error);
const char* hacrtGetLastErrorMessage(void);

hacrtError_t hacrtGetDeviceCount(int* count);
hacrtError_t hacrtGetDeviceProperties(hacrtDeviceProp* prop, int device);
hacrtError_t hacrtSetDevice(int device);
hacrtError_t hacrtGetDevice(int* device);
hacrtError_t hacrtDeviceGetUsage(hacrtDeviceUsage* usage);
hacrtError_t hacrtDeviceSynchronize(void);

hacrtError_t hacrtMalloc(void** ptr, size_t bytes);
hacrtError_t hacrtFree(void* ptr);
hacrtError_t hacrtMemcpy(void* dst, const void* src, size_t bytes, hacrtMemcpyKind kind);

hacrtError_t hacrtStreamCreate(hacrtStream_t* stream);
hacrtError_t hacrtStreamDestroy(hacrtStream_t stream);
hacrtError_t hacrtStreamSynchronize(hacrtStream_t stream);

/* c[m,n] = alpha * op(a) op(b) + beta * c. F32: all f32. BF16: a, b bf16, c f32.
 * I8: a, b int8, c int32, alpha 1, beta 0 or 1. */
hacrtError_t hacrtGemm(hacrtStream_t s, hacrtDataType dtype, int trans_a, int trans_b, int64_t m,
                       int64_t n, int64_t k, float alpha, const void* a, const void* b, float beta,
                       void* c);
hacrtError_t hacrtAdd(hacrtStream_t s, const float* x, const float* y, float* out, int64_t n);
hacrtError_t hacrtMul(hacrtStream_t s, const float* x, const float* y, float* out, int64_t n);
hacrtError_t hacrtRelu(hacrtStream_t s, const float* x, float* out, int64_t n);
hacrtError_t hacrtGelu(hacrtStream_t s, const float* x, float* out, int64_t n);
hacrtError_t hacrtReluBackward(hacrtStream_t s, const float* dy, const float* x, float* dx,
                               int64_t n);
hacrtError_t hacrtGeluBackward(hacrtStream_t s, const float* dy, const float* x, float* dx,
                               int64_t n);
hacrtError_t hacrtAxpy(hacrtStream_t s, float alpha, const float* x, float* y, int64_t n);
hacrtError_t hacrtBiasAdd(hacrtStream_t s, const float* x, const float* bias, float* out,
                          int64_t rows, int64_t cols);
hacrtError_t hacrtSoftmax(hacrtStream_t s, const float* x, float* out, int64_t rows,
                          int64_t cols);
hacrtError_t hacrtSoftmaxCrossEntropy(hacrtStream_t s, const float* logits, const int32_t* labels,
                                      float* loss, float* grad, float grad_scale, int64_t rows,
                                      int64_t cols);
hacrtError_t hacrtReduceSumRows(hacrtStream_t s, const float* x, float* out, int64_t rows,
                                int64_t cols);
hacrtError_t hacrtReduceMaxRows(hacrtStream_t s, const float* x, float* out, int64_t rows,
                                int64_t cols);
hacrtError_t hacrtReduceSumCols(hacrtStream_t s, const float* x, float* out, int64_t rows,
                                int64_t cols);
hacrtError_t hacrtCast(hacrtStream_t s, hacrtDataType from, hacrtDataType to, const void* x,
                       void* out, int64_t n);
hacrtError_t hacrtQuantize(hacrtStream_t s, const float* x, int8_t* out, float scale, int64_t n);
hacrtError_t hacrtDequantize(hacrtStream_t s, const int32_t* x, float* out, float scale,
                             int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* HAC_RUNTIME_HACRT_H_ */
