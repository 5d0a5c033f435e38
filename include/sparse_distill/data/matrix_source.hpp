#pragma once
// Rows of a host matrix handed out in order (optionally with matching target rows): activations
// already in memory, or a fixed reference batch sequence. Runs out at the end unless it cycles.
#include "../tensor/matrix.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace sparse_distill::data {

template <class Scalar>
class matrix_source {
public:
    explicit matrix_source(matrix<Scalar> inputs, bool cycle = false) : inputs_(std::move(inputs)), cycle_(cycle) {}

    index_t dim() const { return inputs_.cols(); }
    index_t rows() const { return inputs_.rows(); }

    /// Fills x with the next x.rows() rows; false (x untouched) when fewer remain and not cycling.
    bool next_batch(matrix<Scalar>& x) {
        if (x.cols() != inputs_.cols())
            throw std::invalid_argument("matrix_source: batch has " + std::to_string(x.cols()) + " columns, data has " +
                                        std::to_string(inputs_.cols()));
        const index_t n = x.rows();
        if (!cycle_ && position_ + n > inputs_.rows()) return false;
        if (inputs_.rows() == 0) return false;
        batch_start_ = position_;
        // Whole runs of consecutive rows at a time (one, or two where a cycling source wraps): a row-major
        // block is contiguous, so each run is one copy.
        for (index_t r = 0; r < n;) {
            const index_t run = std::min(n - r, inputs_.rows() - position_);
            x.middleRows(r, run) = inputs_.middleRows(position_, run);
            r += run;
            position_ += run;
            if (position_ == inputs_.rows() && cycle_) position_ = 0;
        }
        return true;
    }

    /// The row the next batch starts at; `seek` resumes from a saved position (at most rows()).
    index_t position() const { return position_; }
    void seek(index_t row) {
        if (row < 0 || row > inputs_.rows() || (cycle_ && row == inputs_.rows() && row > 0))
            throw std::out_of_range("matrix_source: cannot seek to row " + std::to_string(row) + " of " +
                                    std::to_string(inputs_.rows()));
        position_ = batch_start_ = row;
    }

    /// Where row `batch_row` of the last batch came from, for error messages: "row N".
    std::string describe_row(index_t batch_row) const {
        return "row " + std::to_string(inputs_.rows() > 0 ? (batch_start_ + batch_row) % inputs_.rows() : batch_row);
    }

private:
    matrix<Scalar> inputs_;
    bool cycle_;
    index_t position_ = 0;
    index_t batch_start_ = 0;
};

}  // namespace sparse_distill::data
