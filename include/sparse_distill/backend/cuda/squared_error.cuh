#pragma once
// The loss's reduction and its gradient in one pass: grad = scale·(ŷ − y), Σ (ŷ − y)² in double.
#include "../../tensor/view.hpp"
#include "tag.cuh"
#include "reduce.cuh"

#include <limits>
#include <stdexcept>

namespace sparse_distill::backend::cuda_system {

template <class Scalar>
__global__ void cuda_squared_error_kernel(const Scalar* prediction, const Scalar* target, Scalar* grad, long long n,
                                          Scalar scale, double* partials) {
    __shared__ double shared[32];
    double sum = 0;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        const Scalar diff = prediction[i] - target[i];
        grad[i] = scale * diff;
        sum += static_cast<double>(diff) * static_cast<double>(diff);
    }
    sum = cuda_block_sum(sum, shared);
    if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

/// Returns Σ (ŷ − y)²; NaN while a graph is captured (the sum is then left in its device slot).
template <class Scalar>
double squared_error_gradient(tag, matrix_view<const Scalar> prediction, matrix_view<const Scalar> target,
                                   matrix_view<Scalar> grad, Scalar scale) {
    cuda_context& ctx = cuda_context::get();
    const int blocks = cuda_grid_for(target.size());
    double* partials = static_cast<double*>(ctx.scratch(sizeof(double) * blocks));
    cuda_squared_error_kernel<Scalar><<<blocks, cuda_block, 0, ctx.stream()>>>(prediction.data, target.data, grad.data,
                                                                              target.size(), scale, partials);
    cuda_check_launch("squared_error");
    const double* sum = cuda_finish_sums(partials, blocks, slot_squared_error, 1);
    return sum ? sum[0] : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace sparse_distill::backend::cuda_system
