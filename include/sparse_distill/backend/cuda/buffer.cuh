#pragma once
// Owning device memory: the CUDA policy's `buffer`, the twin of cpu/buffer.hpp's host_buffer (resize,
// set_zero, data, size). Copies are deep (device to device on the backend's stream); moves steal.
#include "../../tensor/matrix.hpp"
#include "context.cuh"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace sparse_distill::backend::cuda_system {

template <class Scalar>
class device_buffer {
public:
    device_buffer() = default;
    explicit device_buffer(index_t n) { resize(n); }
    device_buffer(const device_buffer& other) {
        allocate(other.size_);
        copy_from(other);
    }
    device_buffer& operator=(const device_buffer& other) {
        if (this != &other) {
            if (other.size_ != size_) {
                release();
                allocate(other.size_);
            }
            copy_from(other);
        }
        return *this;
    }
    device_buffer(device_buffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    device_buffer& operator=(device_buffer&& other) noexcept {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    ~device_buffer() { release(); }

    /// Resizes to n elements, all zero.
    void resize(index_t n) {
        if (n != size_) {
            release();
            allocate(n);
        }
        set_zero();
    }
    void set_zero() {
        if (size_ > 0)
            cuda_check(cudaMemsetAsync(data_, 0, bytes(size_), cuda_context::get().stream()), "cudaMemsetAsync(buffer)");
    }
    Scalar* data() { return data_; }
    const Scalar* data() const { return data_; }
    index_t size() const { return size_; }

private:
    static std::size_t bytes(index_t n) { return sizeof(Scalar) * static_cast<std::size_t>(n); }
    void allocate(index_t n) {
        if (n < 0) throw std::invalid_argument("device_buffer: negative size " + std::to_string(n));
        if (n > 0) {
            cuda_check(cudaMalloc(reinterpret_cast<void**>(&data_), bytes(n)), "cudaMalloc(buffer)");
            cuda_context::get().note_allocation();
        }
        size_ = n;
    }
    void copy_from(const device_buffer& other) {
        if (size_ > 0)
            cuda_check(cudaMemcpyAsync(data_, other.data_, bytes(size_), cudaMemcpyDeviceToDevice, cuda_context::get().stream()),
                       "cudaMemcpyAsync(buffer copy)");
    }
    // cudaFree waits for the device, so no queued kernel still uses the memory.
    void release() noexcept {
        if (data_) {
            cudaFree(data_);
            cuda_context::get().note_allocation();
        }
        data_ = nullptr;
        size_ = 0;
    }

    Scalar* data_ = nullptr;
    index_t size_ = 0;
};

}  // namespace sparse_distill::backend::cuda_system
