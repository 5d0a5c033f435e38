#pragma once
// Data movement on the CUDA backend, on its one stream (context.cuh). Twin: cpu/memory.hpp.
#include "../../tensor/matrix.hpp"
#include "context.cuh"
#include "tag.cuh"

#include <cstddef>

namespace sparse_distill::backend::cuda_system {

/// Queued. Pageable `host` memory (std::vector, Eigen) may be reused as soon as this returns, since the
/// runtime stages it first; page-locked memory must not change until the stream has reached the copy.
template <class Scalar>
void copy_from_host(tag, const Scalar* host, Scalar* dst, index_t n) {
    cuda_check(cudaMemcpyAsync(dst, host, sizeof(Scalar) * static_cast<std::size_t>(n), cudaMemcpyHostToDevice,
                               cuda_context::get().stream()),
               "cudaMemcpyAsync(host to device)");
}

/// Waits for the copy (and everything queued before it).
template <class Scalar>
void copy_to_host(tag, const Scalar* src, Scalar* host, index_t n) {
    cuda_context& ctx = cuda_context::get();
    cuda_check(cudaMemcpyAsync(host, src, sizeof(Scalar) * static_cast<std::size_t>(n), cudaMemcpyDeviceToHost, ctx.stream()),
               "cudaMemcpyAsync(device to host)");
    ctx.synchronize();
}

/// Waits until every queued op has finished (for timing, or before reading memory another way).
inline void synchronize(tag) { cuda_context::get().synchronize(); }

}  // namespace sparse_distill::backend::cuda_system
