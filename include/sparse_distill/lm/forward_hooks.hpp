#pragma once
// Hooks into a language model's forward pass: read each layer's MLP input and output (to harvest
// activations) or replace a layer's MLP (to measure the model's loss with a distilled student, or
// with the MLP ablated, in its place). Shared by the llama2.c transformer and the Hugging Face
// decoder, so harvesting and splicing are written once.
#include "../config.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

namespace sparse_distill::lm {

/// Called after layer `layer`'s MLP with its input (the output of the norm before the MLP) and its
/// output, [B·T, dim].
template <class Scalar>
using basic_mlp_reader = std::function<void(int layer, const matrix<Scalar>& mlp_in, const matrix<Scalar>& mlp_out)>;

/// Replaces a layer's MLP: writes mlp_out [B·T, dim] (already sized) from mlp_in. mlp_out arrives
/// filled with NaN, so a replacement that leaves an entry unwritten is caught (the forward pass
/// throws std::logic_error on a non-finite output).
template <class Scalar>
using basic_mlp_replacement = std::function<void(const matrix<Scalar>& mlp_in, matrix<Scalar>& mlp_out)>;

/// Hooks of one forward pass, called on the calling thread in layer order with all B·T rows of the
/// batch: `read` sees every layer's MLP (after any replacement), `replace` maps a layer index to
/// the function computing its MLP instead.
template <class Scalar>
struct basic_forward_hooks {
    basic_mlp_reader<Scalar> read;
    std::map<int, basic_mlp_replacement<Scalar>> replace;
};

using mlp_reader = basic_mlp_reader<float>;
using mlp_replacement = basic_mlp_replacement<float>;
using forward_hooks = basic_forward_hooks<float>;

/// Zero ablation: mlp_out = 0.
template <class Scalar = float>
basic_mlp_replacement<Scalar> zero_ablation() {
    return [](const matrix<Scalar>&, matrix<Scalar>& out) { out.setZero(); };
}

/// Mean ablation: every row of mlp_out = `mean_output` (typically the MLP's mean output over a
/// reference set). Throws std::invalid_argument when its size is not dim.
template <class Scalar>
basic_mlp_replacement<Scalar> mean_ablation(vector<Scalar> mean_output) {
    return [mean = std::move(mean_output)](const matrix<Scalar>&, matrix<Scalar>& out) {
        if (mean.size() != out.cols())
            throw std::invalid_argument("mean_ablation: mean output has " + std::to_string(mean.size()) +
                                        " entries, the model's dim is " + std::to_string(out.cols()));
        out.rowwise() = mean.transpose();
    };
}

/// The same from an Eigen expression (e.g. a column mean), evaluated once here.
template <class Derived>
basic_mlp_replacement<typename Derived::Scalar> mean_ablation(const Eigen::MatrixBase<Derived>& mean_output) {
    return mean_ablation(vector<typename Derived::Scalar>(mean_output));
}

namespace detail {

/// Checks a layer's hooks before a forward pass: every replaced layer exists and has a function.
template <class Scalar>
void check_replacements(const basic_forward_hooks<Scalar>& hooks, int n_layers) {
    for (const auto& [layer, replacement] : hooks.replace) {
        if (layer < 0 || layer >= n_layers)
            throw std::invalid_argument("forward_hooks.replace: layer " + std::to_string(layer) + " outside [0, " +
                                        std::to_string(n_layers) + ")");
        if (!replacement)
            throw std::invalid_argument("forward_hooks.replace: layer " + std::to_string(layer) + " has an empty function");
    }
}

/// Checks what a replacement wrote: the size it was given and every entry finite.
template <class Scalar>
void check_replacement_output(int layer, const matrix<Scalar>& out, index_t rows, index_t dim) {
    const std::string who = "mlp replacement for layer " + std::to_string(layer);
    if (out.rows() != rows || out.cols() != dim)
        throw std::logic_error(who + " resized its output to [" + std::to_string(out.rows()) + ", " +
                               std::to_string(out.cols()) + "], expected [" + std::to_string(rows) + ", " +
                               std::to_string(dim) + "]");
    if (!out.allFinite()) {
        index_t r = 0, col = 0;
        out.unaryExpr([](Scalar value) { return std::isfinite(value) ? Scalar(0) : Scalar(1); }).maxCoeff(&r, &col);
        throw std::logic_error(who + " left entry (" + std::to_string(r) + ", " + std::to_string(col) + ") non-finite (" +
                               std::to_string(out(r, col)) + "); expected every entry written, finite");
    }
}

}  // namespace detail
}  // namespace sparse_distill::lm
