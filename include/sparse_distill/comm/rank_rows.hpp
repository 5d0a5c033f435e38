#pragma once
// Which rows of every global batch a rank trains on: rank r of N takes rows [⌊B·r/N⌋, ⌊B·(r+1)/N⌋)
// of each batch of B rows, so the N ranks together see exactly the batch a single process would, and
// their summed gradients equal its gradient to float rounding.
#include "../config.hpp"
#include "../tensor/matrix.hpp"

#include <stdexcept>
#include <string>

namespace sparse_distill::comm {

struct rank_rows {
    index_t batch = 0;  ///< B, the global batch; 0: not sliced (the source hands out whole batches)
    index_t begin = 0;  ///< this rank's first row of each batch
    index_t end = 0;    ///< one past its last

    bool sliced() const { return batch > 0; }
    index_t rows() const { return end - begin; }
    bool operator==(const rank_rows&) const = default;

    /// Rank `rank` of `ranks`' share of a global batch of `batch` rows. Throws std::invalid_argument when a
    /// rank would get no rows.
    static rank_rows of(index_t batch, int rank, int ranks) {
        if (ranks < 1 || rank < 0 || rank >= ranks)
            throw std::invalid_argument("rank_rows: rank " + std::to_string(rank) + " of " + std::to_string(ranks));
        if (batch < ranks)
            throw std::invalid_argument("the batch of " + std::to_string(batch) + " rows cannot be split over " +
                                        std::to_string(ranks) + " ranks (each needs at least one row): raise the batch");
        return {batch, split(batch, rank, ranks), split(batch, rank + 1, ranks)};
    }

    std::string text() const {
        return "rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") of each batch of " + std::to_string(batch);
    }

    /// ⌊n·part/parts⌋ without overflow for any n < 2⁶³ and parts < 2³¹.
    static index_t split(index_t n, int part, int parts) {
        return n / parts * part + n % parts * part / parts;
    }
};

}  // namespace sparse_distill::comm
