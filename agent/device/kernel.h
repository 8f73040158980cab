// Kernel: one device operation as a plain value (operation, shapes, scalars, device pointers).
//
// The runtime builds kernels with the named constructors below and launches them on a stream;
// every backend executes the same description. All tensors are dense and row-major. Shapes may be
// empty (a zero dimension makes the kernel a no-op that still counts as a kernel run).
//
// Operations (x, y, out are element arrays of n elements unless stated; [r, c] is a matrix):
//   Gemm        c[m,n] = alpha * op(a)[m,k] * op(b)[k,n] + beta * c. op() transposes when asked
//               (a is stored [k,m] when trans_a). dtype f32: all f32. bf16: a, b bf16, c f32 with
//               f32 accumulation. i8: a, b int8, c int32 with exact int32 accumulation; alpha must
//               be 1 and beta 0 (overwrite) or 1 (accumulate).
//   Add/Mul     out = x + y / x * y                  Relu/Gelu  out = f(x) (tanh-form GELU)
//   ReluBackward/GeluBackward  out = dy * f'(x)    (a = dy, b = x)
//   Axpy        y += alpha * x                      (a = x, c = y)
//   BiasAdd     out[r,c] = x[r,c] + bias[c]
//   Softmax     out[r,:] = softmax(x[r,:])
//   SoftmaxCrossEntropy  logits[r,c], labels int32[r] -> loss f32[r] (-log p[label]) and
//               grad[r,c] = alpha * (softmax - onehot). A label outside [0, c) gives loss NaN and
//               a zero gradient row.
//   ReduceRows  out[r] = sum or max over x[r,:]     ReduceCols out[c] = sum over x[:,c]
//   Cast        f32 -> bf16 (round to nearest even) or bf16 -> f32 (exact)
//   Quantize    f32 -> int8: clamp(round_half_even(x / scale), -127, 127)
//   Dequantize  int32 -> f32: x * scale
//   Copy        device-to-device byte copy of n bytes; the ranges must not overlap
#ifndef HAC_AGENT_DEVICE_KERNEL_H_
#define HAC_AGENT_DEVICE_KERNEL_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "agent/device/properties.h"

namespace hac::device {

enum class OpKind : uint32_t {
  kGemm,
  kAdd,
  kMul,
  kRelu,
  kGelu,
  kReluBackward,
  kGeluBackward,
  kAxpy,
  kBiasAdd,
  kSoftmax,
  kSoftmaxCrossEntropy,
  kReduceRows,
  kReduceCols,
  kCast,
  kQuantize,
  kDequantize,
  kCopy,
};
const char* OpKindName(OpKind k);

enum class ReduceOp : uint32_t { kSum, kMax };

struct Kernel {
  OpKind op = OpKind::kCopy;
  DType dtype = DType::kF32;      // input type (Gemm, Cast)
  DType out_dtype = DType::kF32;  // output type (Gemm, Cast)
  ReduceOp reduce = ReduceOp::kSum;
  int64_t m = 0, n = 0, k = 0;    // rows, cols (or element count in n), reduction
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 0.0f;
  const void* a = nullptr;
  const void* b = nullptr;
  void* c = nullptr;
  void* d = nullptr;

  static Kernel Gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                     float alpha, const void* a, const void* b, float beta, void* c);
  static Kernel Add(const float* x, const float* y, float* out, int64_t n);
  static Kernel Mul(const float* x, const float* y, float* out, int64_t n);
  static Kernel Relu(const float* x, float* out, int64_t n);
  static Kernel Gelu(const float* x, float* out, int64_t n);
  static Kernel ReluBackward(const float* dy, const float* x, float* dx, int64_t n);
  static Kernel GeluBackward(const float* dy, const float* x, float* dx, int64_t n);
  static Kernel Axpy(float alpha, const float* x, float* y, int64_t n);
  static Kernel BiasAdd(const float* x, const float* bias, float* out, int64_t rows, int64_t cols);
  static Kernel Softmax(const float* x, float* out, int64_t rows, int64_t cols);
  static Kernel SoftmaxCrossEntropy(const float* logits, const int32_t* labels, float* loss,
                                    float* grad, float grad_scale, int64_t rows, int64_t cols);
  static Kernel ReduceRows(ReduceOp op, const float* x, float* out, int64_t rows, int64_t cols);
  static Kernel ReduceCols(const float* x, float* out, int64_t rows, int64_t cols);
  static Kernel Cast(DType from, DType to, const void* x, void* out, int64_t n);
  static Kernel Quantize(const float* x, int8_t* out, float scale, int64_t n);
  static Kernel Dequantize(const int32_t* x, float* out, float scale, int64_t n);
  static Kernel Copy(const void* src, void* dst, int64_t bytes);
};

// One device buffer a kernel reads or writes.
struct Operand {
  const void* ptr;
  int64_t bytes;
};

// Checks shapes, types and scalars (INVALID_ARGUMENT naming the field) and lists the operands with
// the bytes the kernel touches, for the device to check against its allocations.
absl::Status ValidateKernel(const Kernel& k, std::vector<Operand>* operands);

// Elements processed (for the vector-unit timing model) and bytes moved (all operands).
int64_t KernelElements(const Kernel& k);
int64_t KernelBytes(const Kernel& k);

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_KERNEL_H_
