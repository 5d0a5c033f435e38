#pragma once
// The fused activation passes of the student (and the teacher's hidden layer):
//   bias_activate:       z += bias; a = act(z); Σ|a| and #(a > 0) in the same pass, for the loss;
//   activation_backward: grad ← (grad + l1_grad·sign(a)) ⊙ act'(z), the L1 gradient mask fused in.
// The activation is a template parameter, so each kernel holds one formula (nn/activation.hpp, shared
// with the CPU backend).
#include "../../nn/activation.hpp"
#include "../../tensor/view.hpp"
#include "tag.cuh"
#include "../activation_sums.hpp"
#include "reduce.cuh"

#include <limits>
#include <stdexcept>

namespace sparse_distill::backend::cuda_system {

/// Each thread takes `unroll` elements of its grid-stride sequence at a time and loads them all before
/// using any: with one load in flight per thread the pass reached only about half the memory bandwidth.
/// (z and a may be the same buffer, the teacher's hidden layer, so the compiler cannot reorder on its own.)
template <class Scalar, activation Act>
__global__ void cuda_bias_activate_kernel(Scalar* z, const Scalar* bias, Scalar* a, long long n, long long cols,
                                          double* partials) {
    constexpr int unroll = 4;
    __shared__ double shared[32];
    double abs_sum = 0;
    long long positive = 0;
    const long long first = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    cuda_column_walk c(first, stride, cols);
    for (long long base = first; base < n; base += unroll * stride) {
        Scalar v[unroll];
#pragma unroll
        for (int u = 0; u < unroll; ++u) {
            const long long i = base + u * stride;
            v[u] = i < n ? z[i] : Scalar(0);
            if (bias && i < n) v[u] += bias[c.column];
            c.advance();
        }
#pragma unroll
        for (int u = 0; u < unroll; ++u) {
            const long long i = base + u * stride;
            if (i < n) {
                if (bias) z[i] = v[u];
                const Scalar out = activate(Act, v[u]);
                a[i] = out;
                abs_sum += static_cast<double>(out < Scalar(0) ? -out : out);
                positive += out > Scalar(0);
            }
        }
    }
    abs_sum = cuda_block_sum(abs_sum, shared);
    const double positive_sum = cuda_block_sum(static_cast<double>(positive), shared);
    if (threadIdx.x == 0) {
        partials[2 * blockIdx.x] = abs_sum;
        partials[2 * blockIdx.x + 1] = positive_sum;
    }
}

template <class Scalar, activation Act>
__global__ void cuda_activation_backward_kernel(Scalar* grad, const Scalar* z, const Scalar* a, long long n, Scalar l1_grad) {
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        const Scalar ai = a[i];
        if constexpr (Act == activation::relu) {
            grad[i] = ai > Scalar(0) ? grad[i] + l1_grad : Scalar(0);
        } else {
            const Scalar sign = ai > Scalar(0) ? Scalar(1) : (ai < Scalar(0) ? Scalar(-1) : Scalar(0));
            grad[i] = (grad[i] + l1_grad * sign) * activate_derivative(Act, z[i]);
        }
    }
}

/// Calls f with std::integral_constant<activation, act>.
template <class F>
void cuda_with_activation(activation act, F&& f) {
    switch (act) {
        case activation::relu: return f(std::integral_constant<activation, activation::relu>{});
        case activation::gelu: return f(std::integral_constant<activation, activation::gelu>{});
        case activation::gelu_tanh: return f(std::integral_constant<activation, activation::gelu_tanh>{});
        case activation::silu: return f(std::integral_constant<activation, activation::silu>{});
    }
    throw std::invalid_argument("unknown activation");
}

template <class Scalar>
activation_sums bias_activate(tag, matrix_view<Scalar> z, vector_view<const Scalar> bias, activation act, matrix_view<Scalar> a) {
    cuda_context& ctx = cuda_context::get();
    const int blocks = cuda_grid_for(z.size());
    double* partials = static_cast<double*>(ctx.scratch(sizeof(double) * 2 * blocks));
    cuda_with_activation(act, [&](auto kind) {
        cuda_bias_activate_kernel<Scalar, decltype(kind)::value><<<blocks, cuda_block, 0, ctx.stream()>>>(
            z.data, bias.empty() ? nullptr : bias.data, a.data, z.size(), z.cols, partials);
    });
    cuda_check_launch("bias_activate");
    const double* sums = cuda_finish_sums(partials, blocks, slot_abs_sum, 2);
    // While a graph is captured the sums stay on the device; NaN makes every density test false, so a
    // captured step keeps the dense path.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return sums ? activation_sums{sums[0], sums[1]} : activation_sums{nan, nan};
}

template <class Scalar>
void activation_backward(tag, matrix_view<Scalar> grad, matrix_view<const Scalar> z, matrix_view<const Scalar> a,
                              activation act, Scalar l1_grad) {
    cuda_with_activation(act, [&](auto kind) {
        cuda_activation_backward_kernel<Scalar, decltype(kind)::value>
            <<<cuda_grid_for(z.size()), cuda_block, 0, cuda_context::get().stream()>>>(grad.data, z.data, a.data, z.size(),
                                                                                    l1_grad);
    });
    cuda_check_launch("activation_backward");
}

}  // namespace sparse_distill::backend::cuda_system
