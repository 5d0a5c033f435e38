#pragma once
// The post's Fig 6 for a language model: for a feature, the k contexts where it fires most, each a
// few tokens around the maximum with the feature's activation on every token.
#include "../analysis/top_activations.hpp"
#include "harvest.hpp"

#include <vector>

namespace sparse_distill::lm {

struct token_example {
    index_t row = -1;                 ///< harvest row of the maximum
    double activation = 0;            ///< the feature's activation there
    std::vector<int> tokens;          ///< the context, within the maximum's window
    std::vector<double> activations;  ///< the feature on each context token
    int focus = 0;                    ///< index of the maximum within `tokens`
};

/// For each of `features`, its top `k` contexts over the harvested tokens of `layer`: `before`
/// tokens up to the maximum and `after` tokens past it, clipped to the maximum's window.
template <class Backend>
std::vector<std::vector<token_example>> top_examples(const student_mlp<float, Backend>& student, const harvest& h, int layer,
                                                     const std::vector<index_t>& features, index_t k, int before = 12,
                                                     int after = 4) {
    if (before < 0 || after < 0) throw std::invalid_argument("top_examples: before and after must be non-negative");
    const layer_activations& acts = h.layer(layer);
    const auto top = analysis::top_activating_rows(student, acts.mlp_in, k);
    std::vector<std::vector<token_example>> out;
    for (index_t f : features) {
        if (f < 0 || f >= student.d_sae())
            throw std::invalid_argument("top_examples: feature " + std::to_string(f) + " outside [0, " +
                                        std::to_string(student.d_sae()) + ")");
        std::vector<token_example>& examples = out.emplace_back();
        for (const auto& best : top[static_cast<std::size_t>(f)]) {
            token_example e;
            e.row = best.row;
            e.activation = best.activation;
            const index_t pos = h.positions[static_cast<std::size_t>(best.row)];
            const index_t first = best.row - std::min<index_t>(pos, before);
            const index_t last = std::min<index_t>(best.row + after, best.row - pos + h.window_length - 1);
            e.focus = static_cast<int>(best.row - first);
            const matrix<float> a = student.encode(acts.mlp_in.middleRows(first, last - first + 1));
            for (index_t r = first; r <= last; ++r) {
                e.tokens.push_back(h.token_ids[static_cast<std::size_t>(r)]);
                e.activations.push_back(a(r - first, f));
            }
            examples.push_back(std::move(e));
        }
    }
    return out;
}

}  // namespace sparse_distill::lm
