#pragma once
// Cached (input, target) pairs in memory, e.g. MLP inputs and outputs harvested from a transformer,
// handed out in a seeded random order that is redrawn every pass: neighbouring tokens of a text are
// strongly correlated, and batches of consecutive tokens would bias every step.
#include "../random/philox.hpp"
#include "../tensor/matrix.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sparse_distill::data {

template <class Scalar>
class paired_source {
public:
    /// `inputs` [N, d_in] and `targets` [N, d_out]; `shuffle` false hands rows out in order.
    paired_source(matrix<Scalar> inputs, matrix<Scalar> targets, std::uint64_t seed, bool shuffle = true)
        : inputs_(std::move(inputs)), targets_(std::move(targets)), rng_(seed, 501), shuffle_(shuffle) {
        if (inputs_.rows() != targets_.rows())
            throw std::invalid_argument("paired_source: " + std::to_string(inputs_.rows()) + " inputs but " +
                                        std::to_string(targets_.rows()) + " targets");
        if (inputs_.rows() == 0) throw std::invalid_argument("paired_source: no rows");
        order_.resize(static_cast<std::size_t>(inputs_.rows()));
        new_pass();
    }

    index_t rows() const { return inputs_.rows(); }
    std::int64_t passes() const { return pass_; }

    /// Fills x and y with the next x.rows() pairs, starting a new pass (new order) when one ends.
    bool next_batch(matrix<Scalar>& x, matrix<Scalar>& y) {
        if (x.cols() != inputs_.cols() || y.cols() != targets_.cols() || y.rows() != x.rows())
            throw std::invalid_argument("paired_source: batch is [" + std::to_string(x.rows()) + ", " +
                                        std::to_string(x.cols()) + "] → [" + std::to_string(y.rows()) + ", " +
                                        std::to_string(y.cols()) + "], data is " + std::to_string(inputs_.cols()) + " → " +
                                        std::to_string(targets_.cols()));
        for (index_t r = 0; r < x.rows(); ++r) {
            if (next_ == order_.size()) new_pass();
            const index_t row = order_[next_++];
            x.row(r) = inputs_.row(row);
            y.row(r) = targets_.row(row);
        }
        return true;
    }

private:
    void new_pass() {
        std::iota(order_.begin(), order_.end(), index_t{0});
        if (shuffle_) {
            // Fisher–Yates with counter-based draws: pass p, swap i use element (p, i).
            const std::uint64_t base = static_cast<std::uint64_t>(pass_) * order_.size();
            for (std::size_t i = order_.size() - 1; i > 0; --i) {
                const auto j = static_cast<std::size_t>(rng_.uniform(base + i) * double(i + 1));
                std::swap(order_[i], order_[std::min(j, i)]);
            }
        }
        next_ = 0;
        ++pass_;
    }

    matrix<Scalar> inputs_, targets_;
    random::counter_rng rng_;
    bool shuffle_;
    std::vector<index_t> order_;
    std::size_t next_ = 0;
    std::int64_t pass_ = 0;
};

}  // namespace sparse_distill::data
