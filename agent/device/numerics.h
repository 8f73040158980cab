// Number formats shared by the backends, the runtime and the workloads: bfloat16 conversion and
// per-tensor symmetric int8 quantization. Pure functions; thread-safe.
#ifndef HAC_AGENT_DEVICE_NUMERICS_H_
#define HAC_AGENT_DEVICE_NUMERICS_H_

#include <cmath>
#include <cstdint>
#include <cstring>

namespace hac::device {

// fp32 -> bf16, round to nearest even; NaN stays a (quiet) NaN.
inline uint16_t FloatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// bf16 -> fp32, exact.
inline float Bf16ToFloat(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Per-tensor symmetric quantization: scale = max|x| / 127 (1 when the tensor is all zeros).
inline float QuantizationScale(const float* x, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::fmax(m, std::fabs(x[i]));
  return m > 0.0f ? m / 127.0f : 1.0f;
}

// clamp(round_half_even(x / scale), -127, 127).
inline int8_t QuantizeValue(float x, float scale) {
  float q = std::nearbyint(x / scale);
  if (!(q >= -127.0f)) q = -127.0f;  // also maps NaN to -127
  if (q > 127.0f) q = 127.0f;
  return static_cast<int8_t>(q);
}

inline void QuantizeTensor(const float* x, int64_t n, float scale, int8_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = QuantizeValue(x[i], scale);
}

}  // namespace hac::device

#endif  // HAC_AGENT_DEVICE_NUMERICS_H_
