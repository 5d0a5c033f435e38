#pragma once
// Teachers and students from the naming schemes of the Python tools, minimal for now:
//   transformer_lens MLP: W_in [d_model, d_mlp], b_in, W_out [d_mlp, d_model], b_out (optionally prefixed)
//   SAELens transcoder:   W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_out], b_dec
// converted to the library's feature-major layout (row j = feature/neuron j).
#include "../nn/mlp_weights.hpp"
#include "../nn/student_weights.hpp"
#include "safetensors.hpp"

#include <string>

namespace sparse_distill::io {

namespace detail {
inline std::string describe(const safetensors_file& file, const std::string& name) {
    return file.path.string() + ": tensor '" + name + "'";
}
}  // namespace detail

/// A GELU (or other) teacher from transformer_lens names, e.g. prefix "blocks.1.mlp." or "".
template <class Scalar>
mlp_weights<Scalar> mlp_weights_from_transformer_lens(const safetensors_file& file, activation act,
                                                     const std::string& prefix = "") {
    mlp_weights<Scalar> w;
    w.act = act;
    w.w_in = to_matrix<Scalar>(file.at(prefix + "W_in"), detail::describe(file, prefix + "W_in")).transpose();
    w.w_out = to_matrix<Scalar>(file.at(prefix + "W_out"), detail::describe(file, prefix + "W_out"));
    if (file.tensors.count(prefix + "b_in")) w.b_in = to_vector<Scalar>(file.at(prefix + "b_in"), detail::describe(file, prefix + "b_in"));
    if (file.tensors.count(prefix + "b_out"))
        w.b_out = to_vector<Scalar>(file.at(prefix + "b_out"), detail::describe(file, prefix + "b_out"));
    try {
        w.validate();
    } catch (const std::invalid_argument& e) {
        throw io_error(file.path.string() + ": " + e.what());
    }
    return w;
}

/// Student weights from SAELens names (no pre-bias).
template <class Scalar>
student_weights<Scalar> student_weights_from_saelens(const safetensors_file& file) {
    student_weights<Scalar> w;
    w.w_enc = to_matrix<Scalar>(file.at("W_enc"), detail::describe(file, "W_enc")).transpose();
    w.b_enc = to_vector<Scalar>(file.at("b_enc"), detail::describe(file, "b_enc"));
    w.w_dec = to_matrix<Scalar>(file.at("W_dec"), detail::describe(file, "W_dec"));
    w.b_dec = to_vector<Scalar>(file.at("b_dec"), detail::describe(file, "b_dec"));
    return w;
}

}  // namespace sparse_distill::io
