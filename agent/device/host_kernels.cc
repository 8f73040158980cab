#include "agent/device/host_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "agent/device/numerics.h"

namespace hac::device {
namespace {

constexpr int64_t kElemBlock = int64_t{1} << 14;  // elements per elementwise block
constexpr int64_t kColBlock = 64;                 // columns per ReduceCols block
constexpr int64_t kCopyBlock = int64_t{1} << 18;  // bytes per copy block
constexpr float kGeluC = 0.7978845608028654f;     // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t RowsPerBlock(int64_t cols) { return std::max<int64_t>(1, kElemBlock / std::max<int64_t>(cols, 1)); }

void Elementwise(const Kernel& k, int64_t lo, int64_t hi) {
  const float* x = static_cast<const float*>(k.a);
  const float* y = static_cast<const float*>(k.b);
  float* out = static_cast<float*>(k.c);
  switch (k.op) {
    case OpKind::kAdd:
      for (int64_t i = lo; i < hi; ++i) out[i] = x[i] + y[i];
      return;
    case OpKind::kMul:
      for (int64_t i = lo; i < hi; ++i) out[i] = x[i] * y[i];
      return;
    case OpKind::kRelu:
      for (int64_t i = lo; i < hi; ++i) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case OpKind::kGelu:
      for (int64_t i = lo; i < hi; ++i) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + std::tanh(kGeluC * (v + kGeluA * v * v * v)));
      }
      return;
    case OpKind::kReluBackward:  // x = dy, y = forward input
      for (int64_t i = lo; i < hi; ++i) out[i] = y[i] > 0.0f ? x[i] : 0.0f;
      return;
    case OpKind::kGeluBackward:
      for (int64_t i = lo; i < hi; ++i) {
        float v = y[i];
        float t = std::tanh(kGeluC * (v + kGeluA * v * v * v));
        float d = 0.5f * (1.0f + t) +
                  0.5f * v * (1.0f - t * t) * kGeluC * (1.0f + 3.0f * kGeluA * v * v);
        out[i] = x[i] * d;
      }
      return;
    case OpKind::kAxpy:
      for (int64_t i = lo; i < hi; ++i) out[i] += k.alpha * x[i];
      return;
    case OpKind::kCast:
      if (k.dtype == DType::kF32) {
        uint16_t* o = static_cast<uint16_t*>(k.c);
        for (int64_t i = lo; i < hi; ++i) o[i] = FloatToBf16(x[i]);
      } else {
        const uint16_t* h = static_cast<const uint16_t*>(k.a);
        for (int64_t i = lo; i < hi; ++i) out[i] = Bf16ToFloat(h[i]);
      }
      return;
    case OpKind::kQuantize: {
      int8_t* o = static_cast<int8_t*>(k.c);
      for (int64_t i = lo; i < hi; ++i) o[i] = QuantizeValue(x[i], k.alpha);
      return;
    }
    case OpKind::kDequantize: {
      const int32_t* q = static_cast<const int32_t*>(k.a);
      for (int64_t i = lo; i < hi; ++i) out[i] = static_cast<float>(q[i]) * k.alpha;
      return;
    }
    default:
      return;
  }
}

void RowOp(const Kernel& k, int64_t r0, int64_t r1) {
  const float* x = static_cast<const float*>(k.a);
  const int64_t cols = k.n;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * cols;
    switch (k.op) {
      case OpKind::kBiasAdd: {
        const float* bias = static_cast<const float*>(k.b);
        float* out = static_cast<float*>(k.c) + r * cols;
        for (int64_t j = 0; j < cols; ++j) out[j] = row[j] + bias[j];
        break;
      }
      case OpKind::kSoftmax: {
        float* out = static_cast<float*>(k.c) + r * cols;
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, row[j]);
        float sum = 0.0f;
        for (int64_t j = 0; j < cols; ++j) {
          out[j] = std::exp(row[j] - mx);
          sum += out[j];
        }
        float inv = 1.0f / sum;
        for (int64_t j = 0; j < cols; ++j) out[j] *= inv;
        break;
      }
      case OpKind::kSoftmaxCrossEntropy: {
        int32_t label = static_cast<const int32_t*>(k.b)[r];
        float* loss = static_cast<float*>(k.c) + r;
        float* grad = static_cast<float*>(k.d) + r * cols;
        if (label < 0 || label >= cols) {
          *loss = std::numeric_limits<float>::quiet_NaN();
          for (int64_t j = 0; j < cols; ++j) grad[j] = 0.0f;
          break;
        }
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, row[j]);
        float sum = 0.0f;
        for (int64_t j = 0; j < cols; ++j) sum += std::exp(row[j] - mx);
        *loss = std::log(sum) - (row[label] - mx);
        float inv = 1.0f / sum;
        for (int64_t j = 0; j < cols; ++j) {
          float p = std::exp(row[j] - mx) * inv;
          grad[j] = k.alpha * (p - (j == label ? 1.0f : 0.0f));
        }
        break;
      }
      case OpKind::kReduceRows: {
        float* out = static_cast<float*>(k.c) + r;
        if (k.reduce == ReduceOp::kSum) {
          float s = 0.0f;
          for (int64_t j = 0; j < cols; ++j) s += row[j];
          *out = s;
        } else {
          float m = row[0];
          for (int64_t j = 1; j < cols; ++j) m = std::max(m, row[j]);
          *out = m;
        }
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace

int64_t GridBlocks(const Kernel& k) {
  switch (k.op) {
    case OpKind::kGemm:
      if (k.m == 0 || k.n == 0) return 0;
      return CeilDiv(k.m, GemmTileRows(k.m)) * CeilDiv(k.n, kGemmTileN);
    case OpKind::kBiasAdd:
    case OpKind::kSoftmax:
    case OpKind::kSoftmaxCrossEntropy:
    case OpKind::kReduceRows:
      if (k.m == 0) return 0;
      return CeilDiv(k.m, RowsPerBlock(k.n));
    case OpKind::kReduceCols:
      return CeilDiv(k.n, kColBlock);
    case OpKind::kCopy:
      return CeilDiv(k.n, kCopyBlock);
    default:
      return CeilDiv(k.n, kElemBlock);
  }
}

void RunBlock(const Kernel& k, int64_t block) {
  switch (k.op) {
    case OpKind::kGemm: {
      int64_t tiles_n = CeilDiv(k.n, kGemmTileN);
      int64_t tm = GemmTileRows(k.m);
      int64_t i0 = (block / tiles_n) * tm, j0 = (block % tiles_n) * kGemmTileN;
      int64_t i1 = std::min(k.m, i0 + tm), j1 = std::min(k.n, j0 + kGemmTileN);
      if (k.dtype == DType::kI8) {
        GemmTileI8(k, i0, i1, j0, j1);
      } else {
        GemmTileF32(k, i0, i1, j0, j1);
      }
      return;
    }
    case OpKind::kBiasAdd:
    case OpKind::kSoftmax:
    case OpKind::kSoftmaxCrossEntropy:
    case OpKind::kReduceRows: {
      int64_t rows = RowsPerBlock(k.n);
      RowOp(k, block * rows, std::min(k.m, (block + 1) * rows));
      return;
    }
    case OpKind::kReduceCols: {
      int64_t c0 = block * kColBlock, c1 = std::min(k.n, c0 + kColBlock);
      const float* x = static_cast<const float*>(k.a);
      float* out = static_cast<float*>(k.c);
      for (int64_t j = c0; j < c1; ++j) out[j] = 0.0f;
      for (int64_t r = 0; r < k.m; ++r) {
        for (int64_t j = c0; j < c1; ++j) out[j] += x[r * k.n + j];
      }
      return;
    }
    case OpKind::kCopy: {
      int64_t lo = block * kCopyBlock, hi = std::min(k.n, lo + kCopyBlock);
      std::memmove(static_cast<char*>(k.c) + lo, static_cast<const char*>(k.a) + lo,
                   static_cast<size_t>(hi - lo));
      return;
    }
    default:
      Elementwise(k, block * kElemBlock, std::min(k.n, (block + 1) * kElemBlock));
      return;
  }
}

}  // namespace hac::device
