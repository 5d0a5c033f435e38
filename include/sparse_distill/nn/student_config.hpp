#pragma once
// The shape and options of a student MLP: a = act(W_enc·(x − b_pre) + b_enc), ŷ = W_dec·a + b_dec.
#include "../tensor/matrix.hpp"
#include "activation.hpp"
#include "decoder_norm.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace sparse_distill {

/// How the student's weights start.
enum class student_init {
    /// As the post's code (Neel Nanda's SAE): torch.nn.init.kaiming_uniform_ on W_enc stored
    /// [d_in, d_sae] and W_dec stored [d_sae, d_out], i.e. bound √(6/d_sae) for the encoder and
    /// √(6/d_out) for the decoder (torch takes fan_in = size(1)); biases 0; decoder constraint applied.
    kaiming_uniform,
    /// SAELens / OpenAI practice: decoder rows random directions scaled to norm `tied_init_norm`
    /// (0.1), encoder rows = decoder rows (W_enc = W_decᵀ); biases 0. Needs d_in = d_out.
    tied_transpose,
    /// torch.nn.Linear's default: weights and biases ~ U(±1/√fan_in), fan_in = d_in (encoder),
    /// d_sae (decoder).
    linear_default,
};

/// Where the student's input is centred before the encoder.
enum class pre_bias {
    none,           ///< x̃ = x
    learned,        ///< x̃ = x − b_pre, b_pre a parameter of its own [d_in]
    tied_decoder,   ///< x̃ = x − b_dec (SAELens apply_b_dec_to_input); needs d_in = d_out and biases
};

inline std::string_view to_string(student_init i) {
    switch (i) {
        case student_init::kaiming_uniform: return "kaiming_uniform";
        case student_init::tied_transpose: return "tied_transpose";
        case student_init::linear_default: return "linear_default";
    }
    return "?";
}
inline student_init parse_student_init(std::string_view name) {
    if (name == "kaiming_uniform") return student_init::kaiming_uniform;
    if (name == "tied_transpose") return student_init::tied_transpose;
    if (name == "linear_default") return student_init::linear_default;
    throw std::invalid_argument("unknown student init '" + std::string(name) +
                                "': expected kaiming_uniform, tied_transpose or linear_default");
}
inline std::string_view to_string(pre_bias p) {
    switch (p) {
        case pre_bias::none: return "none";
        case pre_bias::learned: return "learned";
        case pre_bias::tied_decoder: return "tied_decoder";
    }
    return "?";
}
inline pre_bias parse_pre_bias(std::string_view name) {
    if (name == "none") return pre_bias::none;
    if (name == "learned") return pre_bias::learned;
    if (name == "tied_decoder") return pre_bias::tied_decoder;
    throw std::invalid_argument("unknown pre-bias '" + std::string(name) + "': expected none, learned or tied_decoder");
}

struct student_config {
    index_t d_in = 0;
    index_t d_sae = 0;
    index_t d_out = 0;
    activation act = activation::relu;
    bool biases = true;                        ///< b_enc and b_dec exist (the toy has none)
    pre_bias input_bias = pre_bias::none;
    student_init init = student_init::kaiming_uniform;
    decoder_norm decoder_constraint = decoder_norm::cap;
    double tied_init_norm = 0.1;               ///< decoder row norm for student_init::tied_transpose
    /// A ReLU student takes the sparse path (decoder and gradients from the active pairs only) on a
    /// step whose fraction of active activations is below this; 0 never, 1 always (when the backend
    /// has the path). Both paths compute the same gradients.
    double sparse_below_density = 0.05;

    /// Throws std::invalid_argument naming the field that is wrong.
    void validate() const {
        auto fail = [](const std::string& what) { throw std::invalid_argument("student_config: " + what); };
        if (d_in <= 0 || d_sae <= 0 || d_out <= 0)
            fail("d_in, d_sae and d_out must be positive (got " + std::to_string(d_in) + ", " +
                 std::to_string(d_sae) + ", " + std::to_string(d_out) + ")");
        if (input_bias == pre_bias::tied_decoder && (d_in != d_out || !biases))
            fail("input_bias = tied_decoder subtracts b_dec from the input: it needs d_in = d_out and biases = true");
        if (init == student_init::tied_transpose && d_in != d_out)
            fail("init = tied_transpose sets W_enc = W_decᵀ: it needs d_in = d_out");
        if (!(tied_init_norm > 0)) fail("tied_init_norm must be positive");
        if (!(sparse_below_density >= 0 && sparse_below_density <= 1)) fail("sparse_below_density must lie in [0, 1]");
    }
};

}  // namespace sparse_distill
