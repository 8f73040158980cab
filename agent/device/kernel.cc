#include "agent/device/kernel.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace hac::device {

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kBF16: return "bf16";
    case DType::kI8: return "i8";
    case DType::kI32: return "i32";
  }
  return "?";
}

int64_t DTypeSize(DType t) {
  switch (t) {
    case DType::kF32: return 4;
    case DType::kBF16: return 2;
    case DType::kI8: return 1;
    case DType::kI32: return 4;
  }
  return 0;
}

const char* DeviceClassName(DeviceClass c) { return c == DeviceClass::kGpu ? "gpu" : "npu"; }

const char* HealthName(Health h) {
  switch (h) {
    case Health::kHealthy: return "healthy";
    case Health::kUnhealthy: return "unhealthy";
    case Health::kFailed: return "failed";
  }
  return "?";
}

const char* OpKindName(OpKind k) {
  switch (k) {
    case OpKind::kGemm: return "gemm";
    case OpKind::kAdd: return "add";
    case OpKind::kMul: return "mul";
    case OpKind::kRelu: return "relu";
    case OpKind::kGelu: return "gelu";
    case OpKind::kReluBackward: return "relu_backward";
    case OpKind::kGeluBackward: return "gelu_backward";
    case OpKind::kAxpy: return "axpy";
    case OpKind::kBiasAdd: return "bias_add";
    case OpKind::kSoftmax: return "softmax";
    case OpKind::kSoftmaxCrossEntropy: return "softmax_cross_entropy";
    case OpKind::kReduceRows: return "reduce_rows";
    case OpKind::kReduceCols: return "reduce_cols";
    case OpKind::kCast: return "cast";
    case OpKind::kQuantize: return "quantize";
    case OpKind::kDequantize: return "dequantize";
    case OpKind::kCopy: return "copy";
  }
  return "?";
}

Kernel Kernel::Gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                    float alpha, const void* a, const void* b, float beta, void* c) {
  Kernel x;
  x.op = OpKind::kGemm;
  x.dtype = dtype;
  x.out_dtype = dtype == DType::kI8 ? DType::kI32 : DType::kF32;
  x.trans_a = trans_a;
  x.trans_b = trans_b;
  x.m = m;
  x.n = n;
  x.k = k;
  x.alpha = alpha;
  x.beta = beta;
  x.a = a;
  x.b = b;
  x.c = c;
  return x;
}

namespace {
Kernel Unary(OpKind op, const void* a, const void* b, void* c, int64_t n) {
  Kernel x;
  x.op = op;
  x.a = a;
  x.b = b;
  x.c = c;
  x.n = n;
  return x;
}
Kernel Rows(OpKind op, const void* a, const void* b, void* c, int64_t rows, int64_t cols) {
  Kernel x;
  x.op = op;
  x.a = a;
  x.b = b;
  x.c = c;
  x.m = rows;
  x.n = cols;
  return x;
}
}  // namespace

Kernel Kernel::Add(const float* x, const float* y, float* out, int64_t n) {
  return Unary(OpKind::kAdd, x, y, out, n);
}
Kernel Kernel::Mul(const float* x, const float* y, float* out, int64_t n) {
  return Unary(OpKind::kMul, x, y, out, n);
}
Kernel Kernel::Relu(const float* x, float* out, int64_t n) {
  return Unary(OpKind::kRelu, x, nullptr, out, n);
}
Kernel Kernel::Gelu(const float* x, float* out, int64_t n) {
  return Unary(OpKind::kGelu, x, nullptr, out, n);
}
Kernel Kernel::ReluBackward(const float* dy, const float* x, float* dx, int64_t n) {
  return Unary(OpKind::kReluBackward, dy, x, dx, n);
}
Kernel Kernel::GeluBackward(const float* dy, const float* x, float* dx, int64_t n) {
  return Unary(OpKind::kGeluBackward, dy, x, dx, n);
}
Kernel Kernel::Axpy(float alpha, const float* x, float* y, int64_t n) {
  Kernel k = Unary(OpKind::kAxpy, x, nullptr, y, n);
  k.alpha = alpha;
  return k;
}
Kernel Kernel::BiasAdd(const float* x, const float* bias, float* out, int64_t rows, int64_t cols) {
  return Rows(OpKind::kBiasAdd, x, bias, out, rows, cols);
}
Kernel Kernel::Softmax(const float* x, float* out, int64_t rows, int64_t cols) {
  return Rows(OpKind::kSoftmax, x, nullptr, out, rows, cols);
}
Kernel Kernel::SoftmaxCrossEntropy(const float* logits, const int32_t* labels, float* loss,
                                   float* grad, float grad_scale, int64_t rows, int64_t cols) {
  Kernel k = Rows(OpKind::kSoftmaxCrossEntropy, logits, labels, loss, rows, cols);
  k.d = grad;
  k.alpha = grad_scale;
  return k;
}
Kernel Kernel::ReduceRows(ReduceOp op, const float* x, float* out, int64_t rows, int64_t cols) {
  Kernel k = Rows(OpKind::kReduceRows, x, nullptr, out, rows, cols);
  k.reduce = op;
  return k;
}
Kernel Kernel::ReduceCols(const float* x, float* out, int64_t rows, int64_t cols) {
  return Rows(OpKind::kReduceCols, x, nullptr, out, rows, cols);
}
Kernel Kernel::Cast(DType from, DType to, const void* x, void* out, int64_t n) {
  Kernel k = Unary(OpKind::kCast, x, nullptr, out, n);
  k.dtype = from;
  k.out_dtype = to;
  return k;
}
Kernel Kernel::Quantize(const float* x, int8_t* out, float scale, int64_t n) {
  Kernel k = Unary(OpKind::kQuantize, x, nullptr, out, n);
  k.alpha = scale;
  return k;
}
Kernel Kernel::Dequantize(const int32_t* x, float* out, float scale, int64_t n) {
  Kernel k = Unary(OpKind::kDequantize, x, nullptr, out, n);
  k.alpha = scale;
  return k;
}
Kernel Kernel::Copy(const void* src, void* dst, int64_t bytes) {
  return Unary(OpKind::kCopy, src, nullptr, dst, bytes);
}

namespace {

constexpr int64_t kMaxDim = int64_t{1} << 31;

absl::Status CheckDim(const char* name, int64_t v) {
  if (v < 0 || v > kMaxDim) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " = ", v, " is outside [0, ", kMaxDim, "]"));
  }
  return absl::OkStatus();
}

// Product with overflow check (all factors already <= 2^31).
absl::Status Bytes(int64_t a, int64_t b, int64_t elem, int64_t* out) {
  __int128 p = static_cast<__int128>(a) * b * elem;
  if (p > std::numeric_limits<int64_t>::max() / 4) {
    return absl::InvalidArgumentError("tensor size overflows");
  }
  *out = static_cast<int64_t>(p);
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateKernel(const Kernel& k, std::vector<Operand>* ops) {
  ops->clear();
  if (absl::Status s = CheckDim("m", k.m); !s.ok()) return s;
  if (absl::Status s = CheckDim("n", k.n); !s.ok()) return s;
  if (absl::Status s = CheckDim("k", k.k); !s.ok()) return s;
  int64_t x = 0, y = 0, z = 0;
  auto add = [&](const void* p, int64_t bytes) { ops->push_back(Operand{p, bytes}); };
  auto status = [](absl::Status s) { return s; };
  switch (k.op) {
    case OpKind::kGemm: {
      int64_t in = 0;
      if (k.dtype == DType::kF32) {
        in = 4;
      } else if (k.dtype == DType::kBF16) {
        in = 2;
      } else if (k.dtype == DType::kI8) {
        in = 1;
        if (k.alpha != 1.0f || (k.beta != 0.0f && k.beta != 1.0f)) {
          return absl::InvalidArgumentError("i8 gemm needs alpha = 1 and beta in {0, 1}");
        }
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("gemm dtype ", DTypeName(k.dtype), " is not one of f32, bf16, i8"));
      }
      int64_t out = k.dtype == DType::kI8 ? 4 : 4;
      if (auto s = Bytes(k.m, k.k, in, &x); !s.ok()) return status(s);
      if (auto s = Bytes(k.k, k.n, in, &y); !s.ok()) return status(s);
      if (auto s = Bytes(k.m, k.n, out, &z); !s.ok()) return status(s);
      if (k.m > 0 && k.n > 0 && k.k > 0) {
        add(k.a, x);
        add(k.b, y);
      }
      add(k.c, z);
      return absl::OkStatus();
    }
    case OpKind::kAdd:
    case OpKind::kMul:
    case OpKind::kReluBackward:
    case OpKind::kGeluBackward:
      if (auto s = Bytes(1, k.n, 4, &x); !s.ok()) return s;
      add(k.a, x);
      add(k.b, x);
      add(k.c, x);
      return absl::OkStatus();
    case OpKind::kRelu:
    case OpKind::kGelu:
    case OpKind::kAxpy:
      if (auto s = Bytes(1, k.n, 4, &x); !s.ok()) return s;
      add(k.a, x);
      add(k.c, x);
      return absl::OkStatus();
    case OpKind::kBiasAdd:
      if (auto s = Bytes(k.m, k.n, 4, &x); !s.ok()) return s;
      add(k.a, x);
      if (k.m > 0) add(k.b, k.n * 4);
      add(k.c, x);
      return absl::OkStatus();
    case OpKind::kSoftmax:
      if (auto s = Bytes(k.m, k.n, 4, &x); !s.ok()) return s;
      add(k.a, x);
      add(k.c, x);
      return absl::OkStatus();
    case OpKind::kSoftmaxCrossEntropy:
      if (k.n == 0 && k.m > 0) {
        return absl::InvalidArgumentError("softmax cross entropy needs at least one class");
      }
      if (auto s = Bytes(k.m, k.n, 4, &x); !s.ok()) return s;
      add(k.a, x);
      add(k.b, k.m * 4);
      add(k.c, k.m * 4);
      add(k.d, x);
      return absl::OkStatus();
    case OpKind::kReduceRows:
      if (auto s = Bytes(k.m, k.n, 4, &x); !s.ok()) return s;
      if (k.reduce == ReduceOp::kMax && k.n == 0 && k.m > 0) {
        return absl::InvalidArgumentError("max over an empty row is undefined (cols = 0)");
      }
      add(k.a, x);
      add(k.c, k.m * 4);
      return absl::OkStatus();
    case OpKind::kReduceCols:
      if (auto s = Bytes(k.m, k.n, 4, &x); !s.ok()) return s;
      add(k.a, x);
      add(k.c, k.n * 4);
      return absl::OkStatus();
    case OpKind::kCast:
      if (!((k.dtype == DType::kF32 && k.out_dtype == DType::kBF16) ||
            (k.dtype == DType::kBF16 && k.out_dtype == DType::kF32))) {
        return absl::InvalidArgumentError(absl::StrCat("cast from ", DTypeName(k.dtype), " to ",
                                                       DTypeName(k.out_dtype),
                                                       " is not supported (f32<->bf16 only)"));
      }
      if (auto s = Bytes(1, k.n, DTypeSize(k.dtype), &x); !s.ok()) return s;
      if (auto s = Bytes(1, k.n, DTypeSize(k.out_dtype), &y); !s.ok()) return s;
      add(k.a, x);
      add(k.c, y);
      return absl::OkStatus();
    case OpKind::kQuantize:
    case OpKind::kDequantize:
      if (!(k.alpha > 0.0f) || !std::isfinite(k.alpha)) {
        return absl::InvalidArgumentError("scale must be positive and finite");
      }
      add(k.a, k.n * (k.op == OpKind::kQuantize ? 4 : 4));
      add(k.c, k.n * (k.op == OpKind::kQuantize ? 1 : 4));
      return absl::OkStatus();
    case OpKind::kCopy: {
      // Blocks copy in parallel, so overlapping ranges would race.
      auto src = reinterpret_cast<uintptr_t>(k.a), dst = reinterpret_cast<uintptr_t>(k.c);
      uint64_t len = static_cast<uint64_t>(k.n);
      if (len > 0 && src < dst + len && dst < src + len) {
        return absl::InvalidArgumentError("copy source and destination overlap");
      }
    }
      add(k.a, k.n);
      add(k.c, k.n);
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("unknown kernel op");
}

int64_t KernelElements(const Kernel& k) {
  switch (k.op) {
    case OpKind::kGemm: return k.m * k.n * k.k;
    case OpKind::kBiasAdd:
    case OpKind::kSoftmax:
    case OpKind::kSoftmaxCrossEntropy:
    case OpKind::kReduceRows:
    case OpKind::kReduceCols: return k.m * k.n;
    default: return k.n;
  }
}

int64_t KernelBytes(const Kernel& k) {
  std::vector<Operand> ops;
  if (!ValidateKernel(k, &ops).ok()) return 0;
  int64_t total = 0;
  for (const Operand& o : ops) total += o.bytes;
  return total;
}

}  // namespace hac::device
