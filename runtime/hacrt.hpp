// A thin C++ layer over hacrt.h for jobs written in C++: errors as a small value type with the
// message attached, and RAII for device buffers and streams. No exceptions.
//
//   hacrt::Buffer<float> x;
//   if (hacrt::Error e = hacrt::Buffer<float>::Allocate(n, &x); !e.ok()) { ...e.message()... }
//   HACRT_RETURN_IF_ERROR(x.CopyFrom(host.data()));
//   HACRT_RETURN_IF_ERROR(hacrt::Wrap(hacrtRelu(nullptr, x.get(), x.get(), n)));
//
// Thread-safety: as the C API (any thread; the current device is per thread). A Buffer or Stream
// is owned by one piece of code and must be destroyed on a thread whose current device is its own.
#ifndef HAC_RUNTIME_HACRT_HPP_
#define HAC_RUNTIME_HACRT_HPP_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "runtime/hacrt.h"

namespace hacrt {

// An error code with the message hacrt gave for it. ok() for HACRT_SUCCESS.
class Error {
 public:
  Error() = default;
  Error(hacrtError_t code, std::string message) : code_(code), message_(std::move(message)) {}
  bool ok() const { return code_ == HACRT_SUCCESS; }
  hacrtError_t code() const { return code_; }
  const std::string& message() const { return message_; }
  // "HACRT_ERROR_OUT_OF_MEMORY: allocating ... exceeds the memory capacity"
  std::string ToString() const {
    return ok() ? std::string("HACRT_SUCCESS") : std::string(hacrtGetErrorName(code_)) + ": " + message_;
  }

 private:
  hacrtError_t code_ = HACRT_SUCCESS;
  std::string message_;
};

inline Error Wrap(hacrtError_t code) {
  return code == HACRT_SUCCESS ? Error() : Error(code, hacrtGetLastErrorMessage());
}

#define HACRT_RETURN_IF_ERROR(expr)                    \
  do {                                                 \
    if (::hacrt::Error hacrt_e_ = (expr); !hacrt_e_.ok()) \
      return hacrt_e_;                                 \
  } while (0)

// Device memory for n elements of T. Movable, not copyable; frees on destruction.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  ~Buffer() { Reset(); }
  Buffer(Buffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      Reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  static Error Allocate(size_t n, Buffer* out) {
    void* p = nullptr;
    HACRT_RETURN_IF_ERROR(Wrap(hacrtMalloc(&p, n * sizeof(T))));
    out->Reset();
    out->ptr_ = static_cast<T*>(p);
    out->size_ = n;
    return Error();
  }
  T* get() const { return ptr_; }
  size_t size() const { return size_; }
  Error CopyFrom(const T* host) {
    return Wrap(hacrtMemcpy(ptr_, host, size_ * sizeof(T), HACRT_MEMCPY_HOST_TO_DEVICE));
  }
  Error CopyTo(T* host) const {
    return Wrap(hacrtMemcpy(host, ptr_, size_ * sizeof(T), HACRT_MEMCPY_DEVICE_TO_HOST));
  }
  Error CopyTo(std::vector<T>* host) const {
    host->resize(size_);
    return CopyTo(host->data());
  }
  void Reset() {
    if (ptr_ != nullptr) hacrtFree(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }

 private:
  T* ptr_ = nullptr;
  size_t size_ = 0;
};

// A stream on the current device. Movable; destroyed with the object.
class Stream {
 public:
  Stream() = default;
  ~Stream() {
    if (s_ != nullptr) hacrtStreamDestroy(s_);
  }
  Stream(Stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  static Error Create(Stream* out) { return Wrap(hacrtStreamCreate(&out->s_)); }
  hacrtStream_t get() const { return s_; }
  Error Synchronize() const { return Wrap(hacrtStreamSynchronize(s_)); }

 private:
  hacrtStream_t s_ = nullptr;
};

}  // namespace hacrt

#endif  // HAC_RUNTIME_HACRT_HPP_
