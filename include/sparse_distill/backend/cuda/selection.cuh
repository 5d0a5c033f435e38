#pragma once
// The passes of the sparse architectures (nn/sparsity.hpp) on the device:
//   keep_top_k_per_row:  TopK, one block per row, radix select of the k-th largest value;
//   keep_top_k_of_batch: BatchTopK, the same select over the whole matrix (global histograms);
//   jump_activate:       JumpReLU, z += bias; a = z·H(z − θ);
//   threshold_gradient:  JumpReLU's straight-through gradient of log θ, one thread per latent;
//   masked_relu:         relu of the columns a mask selects (AuxK's dead latents).
// A radix select finds the k-th largest value v exactly, 8 bits of its order-preserving key at a
// time (4 passes for float, 8 for double), without sorting; every entry ≥ v is kept, ties included:
// the rule of the CPU twin (cpu/selection.hpp), so both keep the same entries.
#include "../../tensor/view.hpp"
#include "../activation_sums.hpp"
#include "reduce.cuh"
#include "tag.cuh"

#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace sparse_distill::backend::cuda_system {

/// The unsigned key of a float or double whose order is the values' order (sign bit flipped for
/// non-negative values, every bit for negative ones).
template <class Scalar>
using cuda_order_key = std::conditional_t<sizeof(Scalar) == 4, std::uint32_t, unsigned long long>;

template <class Scalar>
__device__ inline cuda_order_key<Scalar> cuda_to_order_key(Scalar v) {
    using Key = cuda_order_key<Scalar>;
    constexpr Key sign = Key(1) << (8 * sizeof(Key) - 1);
    Key bits;
    if constexpr (sizeof(Scalar) == 4) bits = __float_as_uint(v);
    else bits = static_cast<Key>(__double_as_longlong(v));
    return (bits & sign) ? ~bits : (bits | sign);
}

/// Picks the radix digit holding the `remaining`-th largest key among those counted in `histogram`
/// (256 bins, high digit first): adds it to *prefix at `shift` and leaves in *remaining the rank
/// within that digit. One thread.
template <class Key>
__device__ inline void cuda_pick_digit(const unsigned long long* histogram, Key* prefix, long long* remaining, int shift) {
    long long above = 0;
    for (int d = 255; d >= 0; --d) {
        const long long here = static_cast<long long>(histogram[d]);
        if (above + here >= *remaining) {
            *prefix |= Key(d) << shift;
            *remaining -= above;
            return;
        }
        above += here;
    }
}

/// One block per row: the k-th largest key of the row by radix select, then every entry below it
/// zeroed; partials[2·row] = Σ|kept|, partials[2·row + 1] = #(kept > 0).
template <class Scalar>
__global__ void cuda_row_top_k_kernel(Scalar* a, long long cols, long long k, double* partials) {
    using Key = cuda_order_key<Scalar>;
    __shared__ unsigned long long histogram[256];
    __shared__ Key prefix;
    __shared__ long long remaining;
    __shared__ double shared[32];
    Scalar* row = a + static_cast<long long>(blockIdx.x) * cols;
    if (threadIdx.x == 0) {
        prefix = 0;
        remaining = k;
    }
    Key mask = 0;
    for (int shift = 8 * int(sizeof(Key)) - 8; shift >= 0; shift -= 8) {
        for (int d = threadIdx.x; d < 256; d += blockDim.x) histogram[d] = 0;
        __syncthreads();
        const Key want = prefix;
        for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
            const Key key = cuda_to_order_key(row[j]);
            if ((key & mask) == want) atomicAdd(&histogram[(key >> shift) & 255u], 1ull);
        }
        __syncthreads();
        if (threadIdx.x == 0) cuda_pick_digit(histogram, &prefix, &remaining, shift);
        mask |= Key(255) << shift;
        __syncthreads();
    }
    const Key keep_from = prefix;
    double abs_sum = 0, positive = 0;
    for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
        Scalar v = row[j];
        if (cuda_to_order_key(v) < keep_from) row[j] = v = Scalar(0);
        abs_sum += static_cast<double>(v < Scalar(0) ? -v : v);
        positive += v > Scalar(0) ? 1.0 : 0.0;
    }
    cuda_write_activation_partials(abs_sum, positive, shared, partials);
}

/// The batch-wide select, pass `shift`: counts the keys that match state->prefix on the digits above.
template <class Scalar>
__global__ void cuda_batch_histogram_kernel(const Scalar* a, long long n, int shift,
                                            const cuda_order_key<Scalar>* prefix, cuda_order_key<Scalar> mask,
                                            unsigned long long* histogram) {
    using Key = cuda_order_key<Scalar>;
    __shared__ unsigned long long local[256];
    for (int d = threadIdx.x; d < 256; d += blockDim.x) local[d] = 0;
    __syncthreads();
    const Key want = *prefix;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        const Key key = cuda_to_order_key(a[i]);
        if ((key & mask) == want) atomicAdd(&local[(key >> shift) & 255u], 1ull);
    }
    __syncthreads();
    for (int d = threadIdx.x; d < 256; d += blockDim.x)
        if (local[d]) atomicAdd(&histogram[d], local[d]);
}

template <class Key>
__global__ void cuda_batch_pick_kernel(unsigned long long* histogram, Key* prefix, long long* remaining, int shift) {
    if (threadIdx.x == 0 && blockIdx.x == 0) cuda_pick_digit(histogram, prefix, remaining, shift);
    __syncthreads();
    for (int d = threadIdx.x; d < 256; d += blockDim.x) histogram[d] = 0;
}

/// Zeroes the entries below the selected key; per block Σ|kept| and #(kept > 0), and the smallest
/// positive kept key (atomicMin: the same result in any order).
template <class Scalar>
__global__ void cuda_batch_keep_kernel(Scalar* a, long long n, const cuda_order_key<Scalar>* keep_from,
                                       cuda_order_key<Scalar>* smallest, double* partials) {
    using Key = cuda_order_key<Scalar>;
    __shared__ double shared[32];
    const Key from = *keep_from;
    Key least = ~Key(0);
    double abs_sum = 0, positive = 0;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        Scalar v = a[i];
        const Key key = cuda_to_order_key(v);
        if (key < from) a[i] = v = Scalar(0);
        if (v > Scalar(0)) {
            positive += 1;
            least = key < least ? key : least;
        }
        abs_sum += static_cast<double>(v < Scalar(0) ? -v : v);
    }
    if (least != ~Key(0)) atomicMin(smallest, least);
    cuda_write_activation_partials(abs_sum, positive, shared, partials);
}

template <class Scalar>
__global__ void cuda_jump_activate_kernel(Scalar* z, const Scalar* bias, const Scalar* log_threshold, Scalar threshold, Scalar* a,
                                          long long n, long long cols, double* partials) {
    __shared__ double shared[32];
    double abs_sum = 0, positive = 0;
    const long long first = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    cuda_column_walk c(first, stride, cols);
    for (long long i = first; i < n; i += stride, c.advance()) {
        Scalar v = z[i];
        if (bias) z[i] = v = v + bias[c.column];
        const Scalar theta = log_threshold ? exp(log_threshold[c.column]) : threshold;
        const Scalar out = v > theta ? v : Scalar(0);
        a[i] = out;
        abs_sum += static_cast<double>(out < Scalar(0) ? -out : out);
        positive += out > Scalar(0) ? 1.0 : 0.0;
    }
    cuda_write_activation_partials(abs_sum, positive, shared, partials);
}

/// One thread per latent (column): its batch column summed in row order; neighbouring threads read
/// neighbouring columns, so each row's loads coalesce.
template <class Scalar>
__global__ void cuda_threshold_gradient_kernel(const Scalar* da, const Scalar* pre, const Scalar* log_threshold, Scalar bandwidth,
                                               Scalar l0_grad, Scalar* out, long long rows, long long cols, double* partials) {
    __shared__ double shared[32];
    const long long j = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    double window = 0;
    if (j < cols) {
        const Scalar theta = exp(log_threshold[j]);
        Scalar g = 0;
        for (long long r = 0; r < rows; ++r) {
            const Scalar u = (pre[r * cols + j] - theta) / bandwidth;
            if (u > Scalar(-0.5) && u < Scalar(0.5)) {
                g += -(theta / bandwidth) * da[r * cols + j] - l0_grad / bandwidth;
                window += 1;
            }
        }
        out[j] = theta * g;
    }
    window = cuda_block_sum(window, shared);
    if (threadIdx.x == 0) partials[blockIdx.x] = window;
}

template <class Scalar>
__global__ void cuda_masked_relu_kernel(const Scalar* in, const Scalar* mask, Scalar* out, long long n, long long cols) {
    const long long first = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    cuda_column_walk c(first, stride, cols);
    for (long long i = first; i < n; i += stride, c.advance()) {
        const Scalar v = in[i];
        out[i] = mask[c.column] != Scalar(0) && v > Scalar(0) ? v : Scalar(0);
    }
}

// --- launchers ---

namespace detail {
inline activation_sums cuda_selection_sums(const double* partials, int blocks) {
    const double* sums = cuda_finish_sums(partials, blocks, slot_selection_abs_sum, 2);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return sums ? activation_sums{sums[0], sums[1]} : activation_sums{nan, nan};
}
}  // namespace detail

template <class Scalar>
activation_sums keep_top_k_per_row(tag, matrix_view<Scalar> a, index_t k) {
    cuda_context& ctx = cuda_context::get();
    const int blocks = static_cast<int>(a.rows);
    double* partials = static_cast<double*>(ctx.scratch(sizeof(double) * 2 * blocks));
    cuda_row_top_k_kernel<Scalar><<<blocks, cuda_block, 0, ctx.stream()>>>(a.data, a.cols, k, partials);
    cuda_check_launch("keep_top_k_per_row");
    return detail::cuda_selection_sums(partials, blocks);
}

template <class Scalar>
batch_selection keep_top_k_of_batch(tag, matrix_view<Scalar> a, index_t kept) {
    using Key = cuda_order_key<Scalar>;
    cuda_context& ctx = cuda_context::get();
    if (ctx.capturing())
        throw std::logic_error("keep_top_k_of_batch: a BatchTopK step reads its threshold back and cannot be recorded");
    const int blocks = cuda_grid_for(a.size());
    // Scratch layout: histogram[256] | prefix | smallest | remaining | partials[2·blocks].
    char* base = static_cast<char*>(ctx.scratch(sizeof(unsigned long long) * 259 + sizeof(double) * 2 * blocks));
    auto* histogram = reinterpret_cast<unsigned long long*>(base);
    auto* prefix = reinterpret_cast<Key*>(histogram + 256);
    auto* smallest = reinterpret_cast<Key*>(histogram + 257);
    auto* remaining = reinterpret_cast<long long*>(histogram + 258);
    auto* partials = reinterpret_cast<double*>(histogram + 259);
    const Key zero = 0, most = ~Key(0);
    const long long rank = kept;
    cuda_check(cudaMemsetAsync(histogram, 0, sizeof(unsigned long long) * 256, ctx.stream()), "cudaMemsetAsync(histogram)");
    cuda_check(cudaMemcpyAsync(prefix, &zero, sizeof(Key), cudaMemcpyHostToDevice, ctx.stream()), "cudaMemcpyAsync(prefix)");
    cuda_check(cudaMemcpyAsync(smallest, &most, sizeof(Key), cudaMemcpyHostToDevice, ctx.stream()), "cudaMemcpyAsync(smallest)");
    cuda_check(cudaMemcpyAsync(remaining, &rank, sizeof(long long), cudaMemcpyHostToDevice, ctx.stream()), "cudaMemcpyAsync(rank)");
    Key mask = 0;
    for (int shift = 8 * int(sizeof(Key)) - 8; shift >= 0; shift -= 8) {
        cuda_batch_histogram_kernel<Scalar><<<blocks, cuda_block, 0, ctx.stream()>>>(a.data, a.size(), shift, prefix, mask, histogram);
        cuda_batch_pick_kernel<Key><<<1, cuda_block, 0, ctx.stream()>>>(histogram, prefix, remaining, shift);
        mask |= Key(255) << shift;
    }
    cuda_batch_keep_kernel<Scalar><<<blocks, cuda_block, 0, ctx.stream()>>>(a.data, a.size(), prefix, smallest, partials);
    cuda_check_launch("keep_top_k_of_batch");
    batch_selection result;
    result.sums = detail::cuda_selection_sums(partials, blocks);
    Key least = most;
    cuda_check(cudaMemcpyAsync(&least, smallest, sizeof(Key), cudaMemcpyDeviceToHost, ctx.stream()), "cudaMemcpyAsync(smallest)");
    ctx.synchronize();
    if (least != most) {
        // Back from the key: undo the sign flip of a positive value.
        const Key bits = least & ~(Key(1) << (8 * sizeof(Key) - 1));
        Scalar value;
        std::memcpy(&value, &bits, sizeof(Scalar));
        result.smallest_kept = static_cast<double>(value);
    }
    return result;
}

template <class Scalar>
activation_sums jump_activate(tag, matrix_view<Scalar> z, vector_view<const Scalar> bias, vector_view<const Scalar> log_threshold,
                              Scalar threshold, matrix_view<Scalar> a) {
    cuda_context& ctx = cuda_context::get();
    const int blocks = cuda_grid_for(z.size());
    double* partials = static_cast<double*>(ctx.scratch(sizeof(double) * 2 * blocks));
    cuda_jump_activate_kernel<Scalar><<<blocks, cuda_block, 0, ctx.stream()>>>(
        z.data, bias.empty() ? nullptr : bias.data, log_threshold.empty() ? nullptr : log_threshold.data, threshold, a.data,
        z.size(), z.cols, partials);
    cuda_check_launch("jump_activate");
    return detail::cuda_selection_sums(partials, blocks);
}

template <class Scalar>
double threshold_gradient(tag, matrix_view<const Scalar> da, matrix_view<const Scalar> pre, vector_view<const Scalar> log_threshold,
                          Scalar bandwidth, Scalar l0_grad, vector_view<Scalar> out) {
    cuda_context& ctx = cuda_context::get();
    const int blocks = static_cast<int>((pre.cols + cuda_block - 1) / cuda_block);
    double* partials = static_cast<double*>(ctx.scratch(sizeof(double) * blocks));
    cuda_threshold_gradient_kernel<Scalar><<<blocks, cuda_block, 0, ctx.stream()>>>(
        da.data, pre.data, log_threshold.data, bandwidth, l0_grad, out.data, pre.rows, pre.cols, partials);
    cuda_check_launch("threshold_gradient");
    const double* window = cuda_finish_sums(partials, blocks, slot_threshold_window, 1);
    return window ? window[0] : std::numeric_limits<double>::quiet_NaN();
}

template <class Scalar>
void masked_relu(tag, matrix_view<const Scalar> in, vector_view<const Scalar> column_mask, matrix_view<Scalar> out) {
    cuda_masked_relu_kernel<Scalar><<<cuda_grid_for(in.size()), cuda_block, 0, cuda_context::get().stream()>>>(
        in.data, column_mask.data, out.data, in.size(), in.cols);
    cuda_check_launch("masked_relu");
}

}  // namespace sparse_distill::backend::cuda_system
