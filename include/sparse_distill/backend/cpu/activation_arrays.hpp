#pragma once
// The activations and their derivatives as Eigen array expressions, with the activation chosen at
// compile time. A runtime switch per element (nn/activation.hpp's `activate`) keeps the compiler from
// vectorising the loop; these expressions vectorise, including erf, tanh and exp in float (Eigen's
// polynomial approximations, within a few ulp of std::erf). In double Eigen calls std::erf per element,
// so double results are those of nn/activation.hpp to rounding.
#include "../../nn/activation.hpp"

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include <type_traits>

namespace sparse_distill::backend::cpu_system {

template <activation A>
using activation_constant = std::integral_constant<activation, A>;

/// Calls f(activation_constant<act>{}): one switch per pass instead of one per element.
template <class F>
decltype(auto) with_activation(activation act, F&& f) {
    switch (act) {
        case activation::relu: return f(activation_constant<activation::relu>{});
        case activation::gelu: return f(activation_constant<activation::gelu>{});
        case activation::gelu_tanh: return f(activation_constant<activation::gelu_tanh>{});
        case activation::silu: return f(activation_constant<activation::silu>{});
    }
    return f(activation_constant<activation::relu>{});
}

/// act(z) elementwise, for an Eigen array expression z.
template <activation A, class Z>
auto activate_array(const Eigen::ArrayBase<Z>& z) {
    using Scalar = typename Z::Scalar;
    if constexpr (A == activation::relu) {
        return z.cwiseMax(Scalar(0));
    } else if constexpr (A == activation::gelu) {
        // Eigen's float erf clamps its argument at ±4 and can return −1 − 1ulp there: 1 + erf is then a tiny
        // negative number and GELU(z) a tiny positive one for z < −5.66, counted as an active feature. The
        // clamp keeps GELU(z) ≤ 0 for z < 0, as std::erf and CUDA's erff give.
        return Scalar(0.5) * z * (Scalar(1) + (z * Scalar(sparse_distill::detail::inv_sqrt2)).erf()).cwiseMax(Scalar(0));
    } else if constexpr (A == activation::gelu_tanh) {
        const Scalar c = Scalar(sparse_distill::detail::sqrt_2_over_pi), k = Scalar(sparse_distill::detail::gelu_tanh_cubic);
        return Scalar(0.5) * z * (Scalar(1) + (c * (z + k * z.cube())).tanh()).cwiseMax(Scalar(0));
    } else {
        return z / (Scalar(1) + (-z).exp());
    }
}

/// d act/dz elementwise (ReLU's derivative at 0 is 0, as torch takes it).
template <activation A, class Z>
auto activate_derivative_array(const Eigen::ArrayBase<Z>& z) {
    using Scalar = typename Z::Scalar;
    if constexpr (A == activation::relu) {
        return (z > Scalar(0)).template cast<Scalar>();
    } else if constexpr (A == activation::gelu) {
        // Φ(z) + z·φ(z)
        return Scalar(0.5) * (Scalar(1) + (z * Scalar(sparse_distill::detail::inv_sqrt2)).erf()).cwiseMax(Scalar(0)) +
               z * Scalar(sparse_distill::detail::inv_sqrt_2pi) * (Scalar(-0.5) * z.square()).exp();
    } else if constexpr (A == activation::gelu_tanh) {
        const Scalar c = Scalar(sparse_distill::detail::sqrt_2_over_pi), k = Scalar(sparse_distill::detail::gelu_tanh_cubic);
        const auto t = (c * (z + k * z.cube())).tanh();
        return Scalar(0.5) * (Scalar(1) + t) + Scalar(0.5) * z * (Scalar(1) - t.square()) * c * (Scalar(1) + Scalar(3) * k * z.square());
    } else {
        // σ(z)·(1 + z·(1 − σ(z)))
        const auto s = Scalar(1) / (Scalar(1) + (-z).exp());
        return s * (Scalar(1) + z * (Scalar(1) - s));
    }
}

}  // namespace sparse_distill::backend::cpu_system
