#pragma once
// Deterministic sums on the device: each block reduces its values in a fixed tree (warp shuffles,
// then shared memory), writes one partial per block, and one final block adds the partials in index
// order. For a given size the launch shape is fixed, so a sum is the same on every run.
#include "context.cuh"

#include <algorithm>

namespace sparse_distill::backend::cuda_system {

constexpr int cuda_block = 256;

/// Blocks for a grid-stride pass over n elements: enough to fill the device a few times over.
inline int cuda_grid_for(long long n, int per_block = cuda_block) {
    const long long wanted = (n + per_block - 1) / per_block;
    const long long most = 8LL * cuda_context::get().multiprocessors();
    return static_cast<int>(std::max(1LL, std::min(wanted, most)));
}

/// The column of element i of a row-major matrix with `cols` columns, advanced along a grid-stride loop
/// without a 64-bit division per element (which costs more than the element's own work).
struct cuda_column_walk {
    long long column, step, cols;
    __device__ cuda_column_walk(long long first, long long stride, long long cols_)
        : column(first % cols_), step(stride % cols_), cols(cols_) {}
    __device__ void advance() {
        column += step;
        if (column >= cols) column -= cols;
    }
};

/// Sum of `value` over the block (blockDim.x a multiple of 32, at most 1024); the result is valid in
/// thread 0. `shared` holds 32 doubles. Ends with a barrier, so it may be called again at once.
__device__ inline double cuda_block_sum(double value, double* shared) {
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffffu, value, offset);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) shared[warp] = value;
    __syncthreads();
    const int warps = blockDim.x / 32;
    value = lane < warps ? shared[lane] : 0.0;
    if (warp == 0)
        for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffffu, value, offset);
    __syncthreads();
    return value;
}

/// Block-reduces each thread's Σ|a| and #(a > 0); thread 0 writes them as the block's two partials.
__device__ inline void cuda_write_activation_partials(double abs_sum, double positive, double* shared, double* partials) {
    abs_sum = cuda_block_sum(abs_sum, shared);
    positive = cuda_block_sum(positive, shared);
    if (threadIdx.x == 0) {
        partials[2 * blockIdx.x] = abs_sum;
        partials[2 * blockIdx.x + 1] = positive;
    }
}

/// One block: result[s] = Σ_b partials[b·count + s] for s < count, b in order.
// static: a kernel defined in a header needs internal linkage (kernels cannot be inline).
static __global__ void cuda_sum_partials_kernel(const double* partials, int blocks, int count, double* result) {
    __shared__ double shared[32];
    for (int s = 0; s < count; ++s) {
        double sum = 0;
        for (int b = threadIdx.x; b < blocks; b += blockDim.x) sum += partials[static_cast<long long>(b) * count + s];
        sum = cuda_block_sum(sum, shared);
        if (threadIdx.x == 0) result[s] = sum;
    }
}

/// Adds the per-block partials into result slots [first, first + count) of the context, and returns
/// them on the host, or nullptr while a graph is being captured (they stay in the device slots).
inline const double* cuda_finish_sums(const double* partials, int blocks, int first, int count) {
    cuda_context& ctx = cuda_context::get();
    cuda_sum_partials_kernel<<<1, cuda_block, 0, ctx.stream()>>>(partials, blocks, count, ctx.device_results() + first);
    cuda_check_launch("sum_partials");
    if (ctx.capturing()) return nullptr;
    return ctx.fetch_results(first, count);
}

/// Result slots of the context, one range per kind of reduction.
enum cuda_result_slot : int {
    slot_abs_sum = 0,
    slot_positive_count = 1,
    slot_squared_error = 2,
    slot_selection_abs_sum = 3,  // keep_top_k_*: Σ|a| and #(a > 0) of what is kept (two slots)
    slot_threshold_window = 5,   // threshold_gradient: entries inside the kernel window
};

}  // namespace sparse_distill::backend::cuda_system
