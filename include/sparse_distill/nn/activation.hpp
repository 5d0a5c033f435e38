#pragma once
// Pointwise activations shared by teachers and students, with their derivatives.
//   relu(z)      = max(z, 0)
//   gelu(z)      = z·Φ(z) = ½ z (1 + erf(z/√2))                          (exact, torch "gelu")
//   gelu_tanh(z) = ½ z (1 + tanh(√(2/π)(z + 0.044715 z³)))               (GPT-2 "gelu_new")
//   silu(z)      = z·σ(z) = z / (1 + e^−z)                               (the gate of SwiGLU, Llama)
#include "../config.hpp"
#include "../detail/enum_names.hpp"

#include <cmath>
#include <string>
#include <string_view>

namespace sparse_distill {

enum class activation { relu, gelu, gelu_tanh, silu };

/// The activations' names; after the four names come the aliases that parsing also accepts
/// (spellings of Hugging Face's hidden_act and torch).
inline constexpr auto activation_names = detail::make_enum_table<activation>("activation", {
    {activation::relu, "relu"},
    {activation::gelu, "gelu"},
    {activation::gelu_tanh, "gelu_tanh"},
    {activation::silu, "silu"},
    {activation::gelu, "gelu_erf"},
    {activation::gelu_tanh, "gelu_new"},
    {activation::gelu_tanh, "gelu_pytorch_tanh"},
    {activation::silu, "swish"},
});

constexpr std::string_view to_string(activation a) { return activation_names.name(a); }

/// Parses "relu", "gelu" (also "gelu_erf"), "gelu_tanh" (also "gelu_new", "gelu_pytorch_tanh"),
/// "silu" (also "swish"); throws std::invalid_argument listing the names otherwise.
inline activation parse_activation(std::string_view name) { return activation_names.parse(name); }

SD_JSON_ENUM(activation, activation_names)

namespace detail {
inline constexpr double inv_sqrt2 = 0.70710678118654752440;
inline constexpr double inv_sqrt_2pi = 0.39894228040143267794;
inline constexpr double sqrt_2_over_pi = 0.79788456080286535588;
inline constexpr double gelu_tanh_cubic = 0.044715;
}  // namespace detail

/// act(z).
template <class Scalar>
SD_HOST_DEVICE inline Scalar activate(activation a, Scalar z) {
    using std::erf, std::exp, std::tanh;
    switch (a) {
        case activation::relu: return z > Scalar(0) ? z : Scalar(0);
        case activation::gelu: return Scalar(0.5) * z * (Scalar(1) + erf(z * Scalar(detail::inv_sqrt2)));
        case activation::gelu_tanh: {
            const Scalar inner = Scalar(detail::sqrt_2_over_pi) * (z + Scalar(detail::gelu_tanh_cubic) * z * z * z);
            return Scalar(0.5) * z * (Scalar(1) + tanh(inner));
        }
        case activation::silu: return z / (Scalar(1) + exp(-z));
    }
    return z;
}

/// d act / dz. ReLU's derivative at 0 is taken as 0, as torch does.
template <class Scalar>
SD_HOST_DEVICE inline Scalar activate_derivative(activation a, Scalar z) {
    using std::erf, std::exp, std::tanh;
    switch (a) {
        case activation::relu: return z > Scalar(0) ? Scalar(1) : Scalar(0);
        case activation::gelu:
            // Φ(z) + z·φ(z)
            return Scalar(0.5) * (Scalar(1) + erf(z * Scalar(detail::inv_sqrt2))) +
                   z * Scalar(detail::inv_sqrt_2pi) * exp(Scalar(-0.5) * z * z);
        case activation::gelu_tanh: {
            const Scalar z2 = z * z;
            const Scalar inner = Scalar(detail::sqrt_2_over_pi) * (z + Scalar(detail::gelu_tanh_cubic) * z2 * z);
            const Scalar t = tanh(inner);
            const Scalar dinner = Scalar(detail::sqrt_2_over_pi) * (Scalar(1) + Scalar(3 * detail::gelu_tanh_cubic) * z2);
            return Scalar(0.5) * (Scalar(1) + t) + Scalar(0.5) * z * (Scalar(1) - t * t) * dinner;
        }
        case activation::silu: {
            // σ(z)·(1 + z·(1 − σ(z)))
            const Scalar s = Scalar(1) / (Scalar(1) + exp(-z));
            return s * (Scalar(1) + z * (Scalar(1) - s));
        }
    }
    return Scalar(1);
}

}  // namespace sparse_distill
