#pragma once
// out[c] = alpha·Σ_r m[r, c] + beta·out[c]. Blocks of 32 columns × 8 row lanes; when there are few
// columns the rows are also split across grid.y, each split writing its partial, and a second kernel
// adds the splits in order. Every sum runs in a fixed order: the result does not vary between runs.
#include "../../tensor/view.hpp"
#include "tag.cuh"
#include "context.cuh"

#include <algorithm>
#include <stdexcept>

namespace sparse_distill::backend::cuda_system {

template <class Scalar>
__global__ void cuda_column_partials_kernel(const Scalar* m, long long rows, long long cols, long long rows_per_split,
                                            Scalar* partials) {
    __shared__ Scalar lanes[8][33];
    const long long c = static_cast<long long>(blockIdx.x) * 32 + threadIdx.x;
    const long long first = static_cast<long long>(blockIdx.y) * rows_per_split;
    const long long last = min(rows, first + rows_per_split);
    Scalar sum = 0;
    if (c < cols)
        for (long long r = first + threadIdx.y; r < last; r += 8) sum += m[r * cols + c];
    lanes[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        Scalar total = 0;
        for (int l = 0; l < 8; ++l) total += lanes[l][threadIdx.x];
        partials[static_cast<long long>(blockIdx.y) * cols + c] = total;
    }
}

template <class Scalar>
__global__ void cuda_column_finish_kernel(const Scalar* partials, int splits, long long cols, Scalar* out, Scalar alpha,
                                          Scalar beta) {
    const long long c = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    Scalar sum = 0;
    for (int s = 0; s < splits; ++s) sum += partials[s * cols + c];
    out[c] = alpha * sum + (beta == Scalar(0) ? Scalar(0) : beta * out[c]);
}

template <class Scalar>
void column_sums(tag, matrix_view<const Scalar> m, vector_view<Scalar> out, Scalar alpha, Scalar beta) {
    if (m.cols == 0) return;
    cuda_context& ctx = cuda_context::get();
    const long long column_blocks = (m.cols + 31) / 32;
    // Enough blocks to fill the device, but at least 64 rows per split.
    const long long wanted = std::max(1LL, 4LL * ctx.multiprocessors() / column_blocks);
    const int splits = static_cast<int>(std::clamp(static_cast<long long>((m.rows + 63) / 64), 1LL, wanted));
    const long long rows_per_split = (m.rows + splits - 1) / splits;
    Scalar* partials = static_cast<Scalar*>(ctx.scratch(sizeof(Scalar) * splits * m.cols));
    cuda_column_partials_kernel<Scalar><<<dim3(unsigned(column_blocks), unsigned(splits)), dim3(32, 8), 0, ctx.stream()>>>(
        m.data, m.rows, m.cols, std::max(1LL, rows_per_split), partials);
    cuda_check_launch("column_partials");
    cuda_column_finish_kernel<Scalar><<<unsigned((m.cols + 255) / 256), 256, 0, ctx.stream()>>>(partials, splits, m.cols,
                                                                                               out.data, alpha, beta);
    cuda_check_launch("column_finish");
}

}  // namespace sparse_distill::backend::cuda_system
