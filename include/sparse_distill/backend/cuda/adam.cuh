#pragma once
// The Adam(W) update over the flat parameter buffer, with the decoder constraint fused in: the rows
// named by args.constrain are updated one block per row, and each row's norm is taken and applied
// while the row is still in registers and L1, so the decoder is read and written once. Elsewhere one
// thread per parameter. The formula is cpu/adam.hpp's, term for term.
#include "../../nn/decoder_norm.hpp"
#include "../../optim/adam_update_args.hpp"
#include "../../tensor/view.hpp"
#include "tag.cuh"
#include "reduce.cuh"

#include <cmath>
#include <stdexcept>

namespace sparse_distill::backend::cuda_system {

/// The per-step constants of one Adam update, computed on the host in double.
template <class Scalar>
struct cuda_adam_constants {
    Scalar beta1, beta2, one_minus_beta1, one_minus_beta2, step_size, inv_sqrt_bias2, eps, decay, decay_factor;
    bool decoupled;

    static cuda_adam_constants from(const optim::adam_update_args& args) {
        return {Scalar(args.beta1),
                Scalar(args.beta2),
                Scalar(1 - args.beta1),
                Scalar(1 - args.beta2),
                Scalar(args.lr / (1 - std::pow(args.beta1, double(args.step)))),
                Scalar(1 / std::sqrt(1 - std::pow(args.beta2, double(args.step)))),
                Scalar(args.eps),
                Scalar(args.weight_decay),
                Scalar(1 - args.lr * args.weight_decay),
                args.decoupled};
    }
};

template <class Scalar>
__device__ inline Scalar cuda_adam_element(Scalar p, Scalar g, Scalar& m, Scalar& v, const cuda_adam_constants<Scalar>& k) {
    if (!k.decoupled) g += k.decay * p;
    m = k.beta1 * m + k.one_minus_beta1 * g;
    v = k.beta2 * v + k.one_minus_beta2 * g * g;
    const Scalar base = k.decoupled ? p * k.decay_factor : p;
    return base - k.step_size * m / (sqrt(v) * k.inv_sqrt_bias2 + k.eps);
}

/// Parameters [first, last) outside the constrained rows.
// The four buffers never overlap (__restrict__), so the unrolled loops keep several loads in flight.
template <class Scalar>
__global__ void cuda_adam_flat_kernel(Scalar* __restrict__ params, const Scalar* __restrict__ grads, Scalar* __restrict__ m,
                                      Scalar* __restrict__ v, long long first, long long last, cuda_adam_constants<Scalar> k) {
#pragma unroll 4
    for (long long i = first + static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < last;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        Scalar mi = m[i], vi = v[i];
        params[i] = cuda_adam_element(params[i], grads[i], mi, vi, k);
        m[i] = mi;
        v[i] = vi;
    }
}

/// row /= max(1, ‖row‖) (cap) or /= ‖row‖ (unit, a zero row stays zero), the norm in double; one block per row.
template <class Scalar>
__device__ inline void cuda_constrain_row(Scalar* row, long long cols, decoder_norm mode, double squared, double* shared) {
    squared = cuda_block_sum(squared, shared);
    if (threadIdx.x == 0) shared[0] = squared;
    __syncthreads();
    const double norm = sqrt(shared[0]);
    // Every thread has read the norm before any can start the next row's block_sum, which reuses shared[0].
    __syncthreads();
    const double divisor = mode == decoder_norm::cap ? (norm > 1.0 ? norm : 1.0) : (norm > 0 ? norm : 1.0);
    if (divisor != 1.0)
        for (long long c = threadIdx.x; c < cols; c += blockDim.x) row[c] = Scalar(double(row[c]) / divisor);
}

/// The decoder rows: each block updates whole rows, then constrains each.
template <class Scalar>
__global__ void cuda_adam_rows_kernel(Scalar* __restrict__ params, const Scalar* __restrict__ grads, Scalar* __restrict__ m,
                                      Scalar* __restrict__ v, long long offset, long long rows, long long cols, decoder_norm mode,
                                      cuda_adam_constants<Scalar> k) {
    __shared__ double shared[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const long long base = offset + r * cols;
        double squared = 0;
#pragma unroll 4
        for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
            const long long i = base + c;
            Scalar mi = m[i], vi = v[i];
            const Scalar p = cuda_adam_element(params[i], grads[i], mi, vi, k);
            params[i] = p;
            m[i] = mi;
            v[i] = vi;
            squared += double(p) * double(p);
        }
        cuda_constrain_row(params + base, cols, mode, squared, shared);
    }
}

template <class Scalar>
__global__ void cuda_constrain_rows_kernel(Scalar* w, long long rows, long long cols, decoder_norm mode) {
    __shared__ double shared[32];
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        Scalar* row = w + r * cols;
        double squared = 0;
        for (long long c = threadIdx.x; c < cols; c += blockDim.x) squared += double(row[c]) * double(row[c]);
        cuda_constrain_row(row, cols, mode, squared, shared);
    }
}

/// Rows per launch: a block per row up to a few waves of the device.
inline int cuda_row_blocks(long long rows) {
    return static_cast<int>(std::max(1LL, std::min(rows, 32LL * cuda_context::get().multiprocessors())));
}

template <class Scalar>
void adam_update(tag, Scalar* params, const Scalar* grads, Scalar* m, Scalar* v, index_t n, const optim::adam_update_args& args) {
    const optim::constrained_rows& rows = args.constrain;
    const bool fused = rows.mode != decoder_norm::none && rows.rows > 0;
    const long long rows_first = fused ? rows.offset : n, rows_last = fused ? rows.offset + rows.rows * rows.cols : n;
    const cuda_adam_constants<Scalar> k = cuda_adam_constants<Scalar>::from(args);
    cudaStream_t stream = cuda_context::get().stream();
    const auto flat = [&](long long first, long long last) {
        if (last <= first) return;
        cuda_adam_flat_kernel<Scalar><<<cuda_grid_for(last - first), cuda_block, 0, stream>>>(params, grads, m, v, first, last, k);
        cuda_check_launch("adam_flat");
    };
    flat(0, rows_first);
    if (fused) {
        cuda_adam_rows_kernel<Scalar><<<cuda_row_blocks(rows.rows), cuda_block, 0, stream>>>(
            params, grads, m, v, rows.offset, rows.rows, rows.cols, rows.mode, k);
        cuda_check_launch("adam_rows");
    }
    flat(rows_last, n);
}

template <class Scalar>
void constrain_rows(tag, matrix_view<Scalar> w, decoder_norm mode) {
    if (mode == decoder_norm::none || w.rows == 0) return;
    cuda_constrain_rows_kernel<Scalar><<<cuda_row_blocks(w.rows), cuda_block, 0, cuda_context::get().stream()>>>(
        w.data, w.rows, w.cols, mode);
    cuda_check_launch("constrain_rows");
}

}  // namespace sparse_distill::backend::cuda_system
