#pragma once
// What every language model here does with a batch of token sequences before and after its
// forward pass: check the batch, and turn its logits into the mean next-token loss.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/config.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace sparse_distill::lm::detail {

// Returns T after checking the batch: non-empty, equal lengths in [1, seq_len], ids in [0, vocab).
inline index_t check_token_batch(const std::vector<std::vector<int>>& sequences, int seq_len, int vocab_size) {
    if (sequences.empty()) throw std::invalid_argument("transformer: no sequences, expected at least one");
    const std::size_t T = sequences.front().size();
    if (T == 0) throw std::invalid_argument("transformer: sequence 0 is empty, expected 1..seq_len tokens");
    if (T > static_cast<std::size_t>(seq_len))
        throw std::invalid_argument("transformer: sequences of " + std::to_string(T) + " tokens exceed seq_len = " +
                                    std::to_string(seq_len));
    for (std::size_t b = 0; b < sequences.size(); ++b) {
        if (sequences[b].size() != T)
            throw std::invalid_argument("transformer: sequence " + std::to_string(b) + " has " +
                                        std::to_string(sequences[b].size()) + " tokens, sequence 0 has " + std::to_string(T) +
                                        "; all sequences of a batch must have equal length");
        for (std::size_t t = 0; t < T; ++t)
            if (sequences[b][t] < 0 || sequences[b][t] >= vocab_size)
                throw std::invalid_argument("transformer: sequence " + std::to_string(b) + ", position " + std::to_string(t) +
                                            ": token id " + std::to_string(sequences[b][t]) + " outside [0, " +
                                            std::to_string(vocab_size) + ")");
    }
    return static_cast<index_t>(T);
}

// Mean next-token cross-entropy in nats over all B·(T−1) predictions of logits z [B·T, vocab]:
//   1/(B(T−1)) Σ_b Σ_{t<T−1} [logsumexp(z_{b,t}) − z_{b,t}[s_b[t+1]]], accumulated in double.
template <class Scalar>
double mean_next_token_loss(const matrix<Scalar>& z, const std::vector<std::vector<int>>& sequences) {
    const auto T = static_cast<index_t>(sequences.front().size());
    const auto batch = static_cast<index_t>(sequences.size());
    std::vector<double> per_row(static_cast<std::size_t>(batch * (T - 1)));
    // Rows are independent; the sum is taken afterwards in a fixed order so the loss does not
    // depend on the thread count.
#pragma omp parallel for schedule(static)
    for (index_t i = 0; i < batch * (T - 1); ++i) {
        const index_t b = i / (T - 1), t = i % (T - 1);
        const auto row = z.row(b * T + t);
        const double max = static_cast<double>(row.maxCoeff());
        double sum = 0;
        for (index_t j = 0; j < row.size(); ++j) sum += std::exp(static_cast<double>(row(j)) - max);
        const int target = sequences[static_cast<std::size_t>(b)][static_cast<std::size_t>(t + 1)];
        per_row[static_cast<std::size_t>(i)] = max + std::log(sum) - static_cast<double>(row(target));
    }
    double total = 0;
    for (const double loss : per_row) total += loss;
    return total / static_cast<double>(per_row.size());
}

inline void require_next_token(const std::vector<std::vector<int>>& sequences) {
    if (!sequences.empty() && sequences.front().size() < 2)
        throw std::invalid_argument("next_token_loss: sequences of length " + std::to_string(sequences.front().size()) +
                                    " have no next token to predict; expected T >= 2");
}

}  // namespace sparse_distill::lm::detail
