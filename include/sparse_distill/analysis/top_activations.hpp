#pragma once
// The post's Fig 6: where does each feature fire most? For every feature, the k tokens (rows of the
// evaluation inputs) with its largest activations, in descending order. Turning rows into text
// contexts is the caller's job (lm/top_examples.hpp does it for a language model's tokens).
#include "../config.hpp"
#include "../nn/student.hpp"
#include "detail/chunks.hpp"

#include <algorithm>
#include <functional>
#include <queue>
#include <vector>

namespace sparse_distill::analysis {

struct activation_example {
    index_t row = -1;        ///< row of the inputs (a token)
    double activation = 0;
};

/// For each feature, up to k rows where it is largest and positive, in descending order of activation
/// (ties broken by the earlier row). Features that never fire get an empty list.
template <class Scalar, class Backend>
std::vector<std::vector<activation_example>> top_activating_rows(const student_mlp<Scalar, Backend>& student,
                                                                 const matrix<Scalar>& inputs, index_t k,
                                                                 index_t chunk_rows = 4096) {
    if (k <= 0) throw std::invalid_argument("top_activating_rows: k must be positive");
    const auto h = static_cast<std::size_t>(student.d_sae());
    // A heap per feature keeps its k best so far. `ranks_higher` as the heap's "less" puts the lowest
    // ranked kept example on top, ready to be replaced.
    const auto ranks_higher = [](const activation_example& a, const activation_example& b) {
        return a.activation > b.activation || (a.activation == b.activation && a.row < b.row);
    };
    using heap = std::priority_queue<activation_example, std::vector<activation_example>, decltype(ranks_higher)>;
    std::vector<heap> best(h, heap(ranks_higher));
    detail::for_each_chunk(inputs.rows(), chunk_rows, [&](index_t first, index_t rows) {
        const matrix<Scalar> a = student.encode(inputs.middleRows(first, rows));
        // Features are independent: each thread owns a block of them (and their heaps) and walks the rows.
        constexpr index_t block = 64;
        const index_t blocks = (a.cols() + block - 1) / block;
#pragma omp parallel for schedule(dynamic)
        for (index_t b = 0; b < blocks; ++b) {
            const index_t j0 = b * block, j1 = std::min(a.cols(), j0 + block);
            for (index_t r = 0; r < rows; ++r)
                for (index_t j = j0; j < j1; ++j) {
                    const double v = a(r, j);
                    if (!(v > 0)) continue;
                    heap& hp = best[static_cast<std::size_t>(j)];
                    const activation_example e{first + r, v};
                    if (index_t(hp.size()) < k) hp.push(e);
                    else if (ranks_higher(e, hp.top())) {
                        hp.pop();
                        hp.push(e);
                    }
                }
        }
    });
    std::vector<std::vector<activation_example>> out(h);
    for (std::size_t j = 0; j < h; ++j) {
        while (!best[j].empty()) {
            out[j].push_back(best[j].top());
            best[j].pop();
        }
        std::reverse(out[j].begin(), out[j].end());
    }
    return out;
}

}  // namespace sparse_distill::analysis
