#pragma once
// The sparse path of a ReLU student on the device, the twin of cpu/sparse.hpp: with an L1 penalty
// most activations are zero, so the decoder forward, ∂W_dec, ∂z and ∂W_enc use the active
// (token, feature) pairs alone. The pattern is built on the device:
//   1. per row, the count of a > 0; an exclusive scan gives row_start (CSR);
//   2. per row, an order-keeping compaction writes each pair's feature and row;
//   3. a stable radix sort of the pairs by feature gives the by-feature order (rows stay ascending
//      within a feature), and feature_start is read off the sorted keys (CSC).
// Every sum runs in a fixed order (pairs of a row in feature order, pairs of a feature in row order),
// so results do not vary between runs. Indices are 32-bit: a batch may hold up to 2^31 − 1 pairs.
#include "../../tensor/view.hpp"
#include "tag.cuh"
#include "buffer.cuh"
#include "reduce.cuh"

#include <cub/block/block_scan.cuh>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include <climits>
#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sparse_distill::backend::cuda_system {

/// The active pairs of a [rows, h] activation matrix, in device memory.
struct cuda_active_pattern {
    index_t rows = 0, h = 0, pairs = 0;
    device_buffer<int> row_start;      ///< [rows + 1]
    device_buffer<int> feature;        ///< [pairs] feature of each pair, by row
    device_buffer<int> row;            ///< [pairs] row of each pair, by row
    device_buffer<int> sorted_feature; ///< [pairs] the features in feature order (sort keys)
    device_buffer<int> pair_index;     ///< [pairs] 0, 1, …: the sort's values
    device_buffer<int> by_feature;     ///< [pairs] the by-row index of each pair, in feature order
    device_buffer<int> feature_start;  ///< [h + 1]
    device_buffer<double> dz;          ///< [pairs] ∂loss/∂z of each pair (by row), set by the backward pass
    device_buffer<double> dz_sum;      ///< [h] Σ_r ∂z_rj, set by the backward pass

    index_t nnz() const { return pairs; }
};

template <class Scalar>
__global__ void cuda_count_active_kernel(const Scalar* a, long long h, int* counts) {
    __shared__ double shared[32];
    const Scalar* row = a + static_cast<long long>(blockIdx.x) * h;
    int n = 0;
    for (long long j = threadIdx.x; j < h; j += blockDim.x) n += row[j] > Scalar(0);
    const double total = cuda_block_sum(static_cast<double>(n), shared);
    if (threadIdx.x == 0) counts[blockIdx.x] = static_cast<int>(total);
}

/// One block per row: the row's pairs in feature order, from row_start[r]. Each warp owns a contiguous
/// segment of the row: the warps count their segments with ballots, thread 0 turns the counts into
/// offsets in warp order, and each warp writes its pairs in order (a ballot's prefix popcount gives
/// each active lane its place). Two barriers per row.
template <class Scalar>
__global__ void cuda_fill_active_kernel(const Scalar* a, long long h, const int* row_start, int* feature, int* row,
                                        int* pair_index) {
    __shared__ int warp_offset[32];
    const int r = blockIdx.x;
    const int warps = blockDim.x / 32, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const long long segment = ((h + warps - 1) / warps + 31) / 32 * 32;
    const long long first = warp * segment, last = min(h, first + segment);
    const Scalar* values = a + static_cast<long long>(r) * h;
    int count = 0;
    for (long long j0 = first; j0 < last; j0 += 32) {
        const long long j = j0 + lane;
        count += __popc(__ballot_sync(0xffffffffu, j < last && values[j] > Scalar(0)));
    }
    if (lane == 0) warp_offset[warp] = count;
    __syncthreads();
    if (threadIdx.x == 0) {
        int running = row_start[r];
        for (int w = 0; w < warps; ++w) {
            const int c = warp_offset[w];
            warp_offset[w] = running;
            running += c;
        }
    }
    __syncthreads();
    int next = warp_offset[warp];
    for (long long j0 = first; j0 < last; j0 += 32) {
        const long long j = j0 + lane;
        const bool active = j < last && values[j] > Scalar(0);
        const unsigned mask = __ballot_sync(0xffffffffu, active);
        if (active) {
            const int k = next + __popc(mask & ((1u << lane) - 1u));
            feature[k] = static_cast<int>(j);
            row[k] = r;
            pair_index[k] = k;
        }
        next += __popc(mask);
    }
}

/// feature_start[j] = the first sorted pair whose feature is ≥ j.
// static: a kernel defined in a header needs internal linkage (kernels cannot be inline).
static __global__ void cuda_feature_start_kernel(const int* sorted_feature, long long pairs, long long h, int* feature_start) {
    for (long long k = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; k <= pairs;
         k += static_cast<long long>(gridDim.x) * blockDim.x) {
        const long long previous = k == 0 ? -1 : sorted_feature[k - 1];
        const long long current = k == pairs ? h : sorted_feature[k];
        for (long long j = previous + 1; j <= current; ++j) feature_start[j] = static_cast<int>(k);
    }
}

template <class Scalar>
void collect_active(tag, matrix_view<const Scalar> a, cuda_active_pattern& p) {
    // Pair indices and the row scan are 32-bit: refuse a batch whose activations could overflow them.
    if (a.rows * a.cols >= INT_MAX)
        throw std::invalid_argument("collect_active: " + std::to_string(a.rows) + " × " + std::to_string(a.cols) +
                                    " activations exceed the sparse path's 2^31 − 1 pairs; use a smaller batch or the dense path");
    cuda_context& ctx = cuda_context::get();
    cudaStream_t stream = ctx.stream();
    p.rows = a.rows;
    p.h = a.cols;
    if (p.row_start.size() < a.rows + 1) p.row_start.resize(a.rows + 1);
    if (p.feature_start.size() < a.cols + 1) p.feature_start.resize(a.cols + 1);
    if (p.dz_sum.size() < a.cols) p.dz_sum.resize(a.cols);
    // counts land in row_start[0..rows), row_start[rows] = 0; the scan runs in place over rows + 1.
    cuda_check(cudaMemsetAsync(p.row_start.data() + a.rows, 0, sizeof(int), stream), "cudaMemsetAsync(row_start)");
    if (a.rows > 0) {
        cuda_count_active_kernel<Scalar><<<unsigned(a.rows), cuda_block, 0, stream>>>(a.data, a.cols, p.row_start.data());
        cuda_check_launch("count_active");
    }
    std::size_t scan_bytes = 0;
    cuda_check(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, p.row_start.data(), p.row_start.data(), int(a.rows + 1), stream),
               "cub::DeviceScan::ExclusiveSum(size)");
    cuda_check(cub::DeviceScan::ExclusiveSum(ctx.scratch(scan_bytes), scan_bytes, p.row_start.data(), p.row_start.data(),
                                             int(a.rows + 1), stream),
               "cub::DeviceScan::ExclusiveSum");
    int pairs = 0;
    cuda_check(cudaMemcpyAsync(&pairs, p.row_start.data() + a.rows, sizeof(int), cudaMemcpyDeviceToHost, stream),
               "cudaMemcpyAsync(pairs)");
    ctx.synchronize();
    p.pairs = pairs;
    if (p.feature.size() < pairs) {  // grown with headroom, so a slowly rising L0 does not reallocate every step
        const index_t capacity = index_t(pairs) + pairs / 4 + 1024;
        for (device_buffer<int>* b : {&p.feature, &p.row, &p.sorted_feature, &p.pair_index, &p.by_feature}) b->resize(capacity);
        p.dz.resize(capacity);
    }
    if (a.rows > 0) {
        cuda_fill_active_kernel<Scalar><<<unsigned(a.rows), cuda_block, 0, stream>>>(a.data, a.cols, p.row_start.data(),
                                                                                    p.feature.data(), p.row.data(),
                                                                                    p.pair_index.data());
        cuda_check_launch("fill_active");
    }
    if (pairs > 0) {
        int bits = 1;
        while ((index_t(1) << bits) < a.cols) ++bits;
        std::size_t sort_bytes = 0;
        cuda_check(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, p.feature.data(), p.sorted_feature.data(),
                                                   p.pair_index.data(), p.by_feature.data(), pairs, 0, bits, stream),
                   "cub::DeviceRadixSort::SortPairs(size)");
        cuda_check(cub::DeviceRadixSort::SortPairs(ctx.scratch(sort_bytes), sort_bytes, p.feature.data(), p.sorted_feature.data(),
                                                   p.pair_index.data(), p.by_feature.data(), pairs, 0, bits, stream),
                   "cub::DeviceRadixSort::SortPairs");
    }
    cuda_feature_start_kernel<<<cuda_grid_for(pairs + 1), cuda_block, 0, stream>>>(p.sorted_feature.data(), pairs, a.cols,
                                                                                  p.feature_start.data());
    cuda_check_launch("feature_start");
}

/// One block per row: y_r = Σ_{pairs of r} a_rj·W_dec_j, the pairs staged in shared memory. With
/// `Vector` (float, d a multiple of 4, 16-byte aligned rows) each thread owns 4 adjacent columns and
/// loads them as one float4: a quarter of the load instructions.
template <class Scalar, bool Vector>
__global__ void cuda_sparse_decode_kernel(const Scalar* a, long long h, const int* row_start, const int* feature,
                                          const Scalar* w_dec, long long d, Scalar* y) {
    __shared__ int chunk_feature[cuda_block];
    __shared__ Scalar chunk_value[cuda_block];
    constexpr int width = Vector ? 4 : 1;
    const long long r = blockIdx.x;
    const int first = row_start[r], last = row_start[r + 1];
    for (long long c0 = 0; c0 < d; c0 += width * cuda_block) {
        const long long c = c0 + width * threadIdx.x;
        Scalar acc[width] = {};
        for (int k0 = first; k0 < last; k0 += cuda_block) {
            const int count = min(cuda_block, last - k0);
            __syncthreads();
            if (threadIdx.x < count) {
                const int j = feature[k0 + threadIdx.x];
                chunk_feature[threadIdx.x] = j;
                chunk_value[threadIdx.x] = a[r * h + j];
            }
            __syncthreads();
            if (c < d)
                for (int q = 0; q < count; ++q) {
                    const Scalar v = chunk_value[q];
                    const Scalar* w = w_dec + static_cast<long long>(chunk_feature[q]) * d + c;
                    if constexpr (Vector) {
                        const float4 w4 = *reinterpret_cast<const float4*>(w);
                        acc[0] += v * w4.x;
                        acc[1] += v * w4.y;
                        acc[2] += v * w4.z;
                        acc[3] += v * w4.w;
                    } else {
                        acc[0] += v * w[0];
                    }
                }
        }
        if (c < d) {
            if constexpr (Vector) *reinterpret_cast<float4*>(y + r * d + c) = make_float4(acc[0], acc[1], acc[2], acc[3]);
            else y[r * d + c] = acc[0];
        }
    }
}

/// Whether float4 access works: float, rows a multiple of 4 wide, and every base 16-byte aligned.
template <class Scalar>
bool cuda_float4_rows(long long cols, std::initializer_list<const void*> bases) {
    if (!std::is_same_v<Scalar, float> || cols % 4 != 0) return false;
    for (const void* p : bases)
        if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) return false;
    return true;
}

template <class Scalar>
void sparse_decode(tag, matrix_view<const Scalar> a, const cuda_active_pattern& p, matrix_view<const Scalar> w_dec,
                        matrix_view<Scalar> y) {
    if (a.rows == 0) return;
    const auto launch = [&](auto vector) {
        cuda_sparse_decode_kernel<Scalar, decltype(vector)::value><<<unsigned(a.rows), cuda_block, 0, cuda_context::get().stream()>>>(
            a.data, a.cols, p.row_start.data(), p.feature.data(), w_dec.data, w_dec.cols, y.data);
    };
    bool vector = false;
    if constexpr (std::is_same_v<Scalar, float>) {
        vector = cuda_float4_rows<Scalar>(w_dec.cols, {w_dec.data, y.data});
        if (vector) launch(std::true_type{});
    }
    if (!vector) launch(std::false_type{});
    cuda_check_launch("sparse_decode");
}

/// One warp per pair: dz_k = ∂ŷ_r·W_dec_j + l1_grad, accumulated in double (float4 loads with `Vector`).
template <class Scalar, bool Vector>
__global__ void cuda_sparse_dz_kernel(const int* feature, const int* row, long long pairs, const Scalar* dy,
                                      const Scalar* w_dec, long long d, double l1_grad, double* dz) {
    const long long warp = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x % 32;
    const long long warps = static_cast<long long>(gridDim.x) * blockDim.x / 32;
    for (long long k = warp; k < pairs; k += warps) {
        const Scalar* g = dy + static_cast<long long>(row[k]) * d;
        const Scalar* w = w_dec + static_cast<long long>(feature[k]) * d;
        double sum = 0;
        if constexpr (Vector) {
            for (long long c = 4 * lane; c < d; c += 128) {
                const float4 g4 = *reinterpret_cast<const float4*>(g + c), w4 = *reinterpret_cast<const float4*>(w + c);
                sum += double(g4.x) * double(w4.x) + double(g4.y) * double(w4.y) + double(g4.z) * double(w4.z) +
                       double(g4.w) * double(w4.w);
            }
        } else {
            for (long long c = lane; c < d; c += 32) sum += double(g[c]) * double(w[c]);
        }
        for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
        if (lane == 0) dz[k] = sum + l1_grad;
    }
}

/// One block per feature: ∂W_dec_j = Σ_r a_rj ∂ŷ_r and ∂W_enc_j = Σ_r ∂z_rj x̃_r over the feature's pairs
/// in row order (rows of inactive features are written zero), and dz_sum_j = Σ_r ∂z_rj.
template <class Scalar>
__global__ void cuda_sparse_weight_grads_kernel(const Scalar* a, long long h, const int* feature_start, const int* by_feature,
                                                const int* row, const double* dz, const Scalar* dy, long long d_out,
                                                const Scalar* x, long long d_in, Scalar* w_dec_grad, Scalar* w_enc_grad,
                                                double* dz_sum) {
    __shared__ int chunk_row[cuda_block];
    __shared__ Scalar chunk_a[cuda_block];
    __shared__ double chunk_dz[cuda_block];
    const long long j = blockIdx.x;
    double dz_total = 0;  // thread 0 adds the staged ∂z in pair order during the first column chunk
    const int first = feature_start[j], last = feature_start[j + 1];
    const long long width = d_out > d_in ? d_out : d_in;
    for (long long c0 = 0; c0 < width; c0 += cuda_block) {
        const long long c = c0 + threadIdx.x;
        Scalar gd = 0, ge = 0;
        for (int q0 = first; q0 < last; q0 += cuda_block) {
            const int count = min(cuda_block, last - q0);
            __syncthreads();
            if (threadIdx.x < count) {
                const int k = by_feature[q0 + threadIdx.x];
                const int r = row[k];
                chunk_row[threadIdx.x] = r;
                chunk_a[threadIdx.x] = a[static_cast<long long>(r) * h + j];
                chunk_dz[threadIdx.x] = dz[k];
            }
            __syncthreads();
            if (c0 == 0 && threadIdx.x == 0)
                for (int q = 0; q < count; ++q) dz_total += chunk_dz[q];
            for (int q = 0; q < count; ++q) {
                const long long r = chunk_row[q];
                if (c < d_out) gd += chunk_a[q] * dy[r * d_out + c];
                if (c < d_in) ge += static_cast<Scalar>(chunk_dz[q]) * x[r * d_in + c];
            }
        }
        if (c < d_out) w_dec_grad[j * d_out + c] = gd;
        if (c < d_in) w_enc_grad[j * d_in + c] = ge;
    }
    if (threadIdx.x == 0) dz_sum[j] = dz_total;
}

template <class Scalar>
void sparse_backward(tag, matrix_view<const Scalar> a, cuda_active_pattern& p, matrix_view<const Scalar> dy,
                          matrix_view<const Scalar> w_dec, matrix_view<const Scalar> x, Scalar l1_grad,
                          matrix_view<Scalar> w_dec_grad, matrix_view<Scalar> w_enc_grad) {
    cudaStream_t stream = cuda_context::get().stream();
    if (p.pairs > 0) {
        const int blocks = cuda_grid_for(p.pairs * 32);
        const auto launch = [&](auto vector) {
            cuda_sparse_dz_kernel<Scalar, decltype(vector)::value><<<blocks, cuda_block, 0, stream>>>(
                p.feature.data(), p.row.data(), p.pairs, dy.data, w_dec.data, dy.cols, double(l1_grad), p.dz.data());
        };
        bool vector = false;
        if constexpr (std::is_same_v<Scalar, float>) {
            vector = cuda_float4_rows<Scalar>(dy.cols, {dy.data, w_dec.data});
            if (vector) launch(std::true_type{});
        }
        if (!vector) launch(std::false_type{});
        cuda_check_launch("sparse_dz");
    }
    if (a.cols == 0) return;
    cuda_sparse_weight_grads_kernel<Scalar><<<unsigned(a.cols), cuda_block, 0, stream>>>(
        a.data, a.cols, p.feature_start.data(), p.by_feature.data(), p.row.data(), p.dz.data(), dy.data, dy.cols, x.data,
        x.cols, w_dec_grad.data, w_enc_grad.data, p.dz_sum.data());
    cuda_check_launch("sparse_weight_grads");
}

template <class Scalar>
__global__ void cuda_copy_dz_sum_kernel(const double* dz_sum, long long h, Scalar* b_enc_grad) {
    const long long j = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (j < h) b_enc_grad[j] = static_cast<Scalar>(dz_sum[j]);
}

/// One thread per input column: −Σ_j dz_sum_j·W_enc[j, c] in double over features in order.
template <class Scalar>
__global__ void cuda_pre_bias_grad_kernel(const double* dz_sum, const Scalar* w_enc, long long h, long long d_in,
                                          Scalar* pre_grad, bool accumulate) {
    const long long c = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= d_in) return;
    double g = 0;
    for (long long j = 0; j < h; ++j) {
        const double s = dz_sum[j];
        if (s != 0) g += s * double(w_enc[j * d_in + c]);
    }
    const Scalar v = static_cast<Scalar>(-g);
    pre_grad[c] = accumulate ? pre_grad[c] + v : v;
}

template <class Scalar>
void sparse_bias_gradients(tag, const cuda_active_pattern& p, matrix_view<const Scalar> w_enc, vector_view<Scalar> b_enc_grad,
                                vector_view<Scalar> pre_grad, bool accumulate) {
    cudaStream_t stream = cuda_context::get().stream();
    if (!b_enc_grad.empty()) {
        cuda_copy_dz_sum_kernel<Scalar><<<unsigned((b_enc_grad.size + 255) / 256), 256, 0, stream>>>(p.dz_sum.data(),
                                                                                                    b_enc_grad.size,
                                                                                                    b_enc_grad.data);
        cuda_check_launch("copy_dz_sum");
    }
    if (!pre_grad.empty()) {
        cuda_pre_bias_grad_kernel<Scalar><<<unsigned((pre_grad.size + 127) / 128), 128, 0, stream>>>(
            p.dz_sum.data(), w_enc.data, w_enc.rows, w_enc.cols, pre_grad.data, accumulate);
        cuda_check_launch("pre_bias_grad");
    }
}

}  // namespace sparse_distill::backend::cuda_system
