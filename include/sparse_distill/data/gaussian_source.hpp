#pragma once
// Inputs x ~ N(0, σ²·I), generated from a counter-based stream: token k is always the same vector
// for a given seed, whatever the batch size or thread count, and the position can be saved and resumed.
#include "../random/fill.hpp"
#include "../tensor/matrix.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace sparse_distill::data {

template <class Scalar>
class gaussian_source {
public:
    gaussian_source(index_t dim, std::uint64_t seed, double stddev = 1.0, std::uint64_t stream = 1)
        : dim_(dim), rng_(seed, stream), stddev_(stddev) {
        if (dim <= 0) throw std::invalid_argument("gaussian_source: dim must be positive");
    }

    index_t dim() const { return dim_; }

    /// Fills every row of x ([rows, dim]) with the next tokens. Never runs out.
    bool next_batch(matrix<Scalar>& x) {
        if (x.cols() != dim_) throw std::invalid_argument("gaussian_source: batch has the wrong number of columns");
        random::fill_normal(x, rng_, position_ * static_cast<std::uint64_t>(dim_), stddev_);
        batch_start_ = position_;
        position_ += static_cast<std::uint64_t>(x.rows());
        return true;
    }

    /// Tokens handed out so far; `seek` resumes from a saved position.
    std::uint64_t position() const { return position_; }
    /// Tokens handed out (= position()): checked against the tokens trained on when resuming.
    std::uint64_t rows_consumed() const { return position_; }
    void seek(std::uint64_t tokens) { position_ = batch_start_ = tokens; }

    /// Where row `batch_row` of the last batch came from, for error messages: "token N".
    std::string describe_row(index_t batch_row) const {
        return "token " + std::to_string(batch_start_ + static_cast<std::uint64_t>(batch_row));
    }

private:
    index_t dim_;
    random::counter_rng rng_;
    double stddev_;
    std::uint64_t position_ = 0;
    std::uint64_t batch_start_ = 0;
};

}  // namespace sparse_distill::data
