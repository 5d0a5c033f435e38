#pragma once
// Cached (input, target) pairs in memory, e.g. MLP inputs and outputs harvested from a transformer,
// handed out in a seeded random order that is redrawn every pass: neighbouring tokens of a text are
// strongly correlated, and batches of consecutive tokens would bias every step.
#include "../random/philox.hpp"
#include "../tensor/matrix.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
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
        batch_rows_.resize(static_cast<std::size_t>(x.rows()));
        for (index_t r = 0; r < x.rows(); ++r) {
            if (next_ == order_.size()) new_pass();
            const index_t row = order_[next_++];
            batch_rows_[static_cast<std::size_t>(r)] = row;
            x.row(r) = inputs_.row(row);
            y.row(r) = targets_.row(row);
        }
        return true;
    }

    /// Pairs handed out so far, over all passes; `seek` resumes from a saved position by redrawing
    /// that pass's order (the order of pass p depends only on the seed and p).
    std::uint64_t position() const {
        return static_cast<std::uint64_t>(pass_ - 1) * order_.size() + static_cast<std::uint64_t>(next_);
    }
    /// Pairs handed out (= position()): checked against the tokens trained on when resuming.
    std::uint64_t rows_consumed() const { return position(); }
    void seek(std::uint64_t pairs) {
        const std::uint64_t n = order_.size();
        // A position at the end of a pass stays in that pass (next_ = n), as if reached by next_batch.
        const std::uint64_t pass = pairs == 0 ? 0 : (pairs - 1) / n;
        if (pass >= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            throw std::out_of_range("paired_source: cannot seek to pair " + std::to_string(pairs));
        pass_ = static_cast<std::int64_t>(pass);
        new_pass();
        next_ = static_cast<std::size_t>(pairs - pass * n);
        batch_rows_.clear();
    }

    /// Where row `batch_row` of the last batch came from, for error messages: "row N".
    std::string describe_row(index_t batch_row) const {
        const auto r = static_cast<std::size_t>(batch_row);
        return r < batch_rows_.size() ? "row " + std::to_string(batch_rows_[r]) : "batch row " + std::to_string(batch_row);
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
    std::vector<index_t> batch_rows_;  ///< the data rows of the last batch, for describe_row
};

}  // namespace sparse_distill::data
