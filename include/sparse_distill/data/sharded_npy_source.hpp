#pragma once
// Training data from .npy shards on disk, e.g. activations harvested in Python and saved in pieces
// larger than memory together: shards are streamed in order through a bounded block buffer, each
// block shuffled with counter-based draws, so the order is fixed by the seed and the position is
// one number (rows handed out) that a checkpoint can store and seek() restores exactly.
#include "../comm/rank_rows.hpp"
#include "../io/error.hpp"
#include "../io/npy_reader.hpp"
#include "../io/tensor_data.hpp"
#include "../random/philox.hpp"
#include "../tensor/matrix.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sparse_distill::data {

/// The files of a sharded dump. Shard i is inputs[i] ([rows_i, d]); when given, targets[i]
/// ([rows_i, d_out]) and tokens[i] ([rows_i] or [rows_i, 1], integer ids) hold the same rows.
struct npy_shards {
    std::vector<std::filesystem::path> inputs;
    std::vector<std::filesystem::path> targets;  ///< empty: no targets
    std::vector<std::filesystem::path> tokens;   ///< empty: no token ids
};

/// How a sharded_npy_source orders its rows.
struct sharded_npy_settings {
    /// Rows shuffled together: the stream is cut into blocks of this many consecutive rows (block
    /// boundaries shifted by a random phase each epoch) and each block is handed out in a random
    /// order. Memory: shuffle_buffer·(d + d_out)·sizeof(Scalar). 0 hands rows out in file order.
    index_t shuffle_buffer = 0;
    std::uint64_t seed = 0;
    /// At the end of the data: true starts the next epoch (a new order when shuffling) so the
    /// source never runs out; false makes next_batch return false once fewer rows than a batch remain.
    bool wrap = true;
    /// Check every row as it is read and throw io_error "<file>: row R: ..." on NaN or ±Inf.
    bool check_finite = false;
    /// One data-parallel rank's share (comm::rank_rows::of(batch, rank, ranks)): of every rank_slice.batch
    /// rows of the stream, counted from the position the source starts or is sought at, hand out only rows
    /// [begin, end), and read only those from the files. The stream, and so every global batch, is the
    /// one an unsliced source gives. Unsliced (batch 0) by default.
    comm::rank_rows rank_slice{};
};

/// A training source over .npy shards (see npy_shards). With WithTargets = false it supplies
/// inputs only (`next_batch(x)`: the trainer's teacher computes targets); with WithTargets = true
/// it supplies its own targets (`next_batch(x, y)`) and requires target shards. Inputs and targets
/// may be f2, f4 or f8 (mixed across shards) and are converted to Scalar; token ids i4 or i8.
/// Files are opened one shard at a time, so any number of shards and any file size work.
/// The same files, settings and seek() position give the same rows, bit for bit: the shuffle's
/// draws are addressed by (seed, epoch, row), so the position alone restores the random state.
template <class Scalar, bool WithTargets = false>
class sharded_npy_source {
public:
    /// Opens and checks every shard header: all input shards have the same d, all target shards
    /// the same d_out, and targets and tokens have the rows of their input shard. Throws io_error
    /// naming the offending shard, or std::invalid_argument for inconsistent lists or settings.
    sharded_npy_source(npy_shards files, const sharded_npy_settings& settings)
        : settings_(settings),
          rng_(settings.seed, shuffle_stream),
          phase_rng_(settings.seed, phase_stream),
          files_(std::move(files)) {
        check_lists();
        offsets_.push_back(0);
        for (std::size_t s = 0; s < files_.inputs.size(); ++s) add_shard(s);
        total_ = offsets_.back();
        if (total_ == 0)
            throw io::io_error(files_.inputs.front(), "shape",
                               files_.inputs.size() == 1 ? std::string("holds no rows; training needs at least one")
                                                         : "holds no rows, nor do the other " + std::to_string(files_.inputs.size() - 1) +
                                                               " input shards; training needs at least one");
        const auto row_bytes = static_cast<std::size_t>(dim_ + target_dim_) * sizeof(Scalar);
        block_rows_ = settings_.shuffle_buffer > 0
                          ? static_cast<std::uint64_t>(settings_.shuffle_buffer)
                          : std::max<std::uint64_t>(1, (std::size_t{4} << 20) / std::max<std::size_t>(1, row_bytes));
    }

    /// d, the columns of every input shard.
    index_t dim() const { return dim_; }
    /// d_out, the columns of every target shard (0 without targets).
    index_t target_dim() const { return target_dim_; }
    /// Rows in one pass over all shards.
    std::uint64_t rows_per_epoch() const { return total_; }
    std::size_t shard_count() const { return files_.inputs.size(); }

    /// Fills x ([rows, d]) with the next rows. Without wrap, returns false (x untouched) when
    /// fewer than x.rows() rows remain in the epoch. Sliced (settings' rank_slice), x holds
    /// rank_slice.rows() rows and the source moves on by rank_slice.batch.
    bool next_batch(matrix<Scalar>& x)
        requires(!WithTargets)
    {
        return fill(x, nullptr);
    }

    /// Fills x ([rows, d]) and y ([rows, d_out]) with the next rows and their targets; end of data
    /// as for next_batch(x).
    bool next_batch(matrix<Scalar>& x, matrix<Scalar>& y)
        requires WithTargets
    {
        if (y.rows() != x.rows() || y.cols() != target_dim_)
            throw std::invalid_argument("sharded_npy_source: target batch is [" + std::to_string(y.rows()) + ", " +
                                        std::to_string(y.cols()) + "], expected [" + std::to_string(x.rows()) + ", " +
                                        std::to_string(target_dim_) + "]");
        return fill(x, &y);
    }

    /// Input rows read from the files so far (re-reads included): a sliced source reads only its own.
    std::uint64_t rows_read() const { return rows_read_; }

    /// The rows of every global batch this source hands out (settings' rank_slice).
    const comm::rank_rows& rank_slice() const { return settings_.rank_slice; }

    /// Token ids of the rows of the last batch (empty without token shards).
    std::span<const std::int64_t> last_tokens() const { return last_tokens_; }

    /// Where row `batch_row` of the last batch came from: "<input shard file> row R" ("batch row N"
    /// for a row outside the last batch, so that reporting a fault never throws).
    std::string describe_row(index_t batch_row) const {
        if (batch_row < 0 || static_cast<std::size_t>(batch_row) >= last_rows_.size())
            return "batch row " + std::to_string(batch_row);
        const std::uint64_t global = last_rows_[static_cast<std::size_t>(batch_row)];
        const std::size_t s = shard_of(global);
        return files_.inputs[s].string() + " row " + std::to_string(global - offsets_[s]);
    }

    /// Rows handed out since the start, over all epochs: epoch·rows_per_epoch() + rows of the
    /// current epoch. This number is the whole state of the source.
    std::uint64_t position() const { return epoch_ * total_ + consumed_; }
    /// Rows handed out over every epoch (= position()): checked against the tokens trained on when resuming.
    std::uint64_t rows_consumed() const { return position(); }

    /// Continues from a position() of a source over the same files with the same settings: the
    /// block holding that row is re-read and its order redrawn. Without wrap, a position past
    /// rows_per_epoch() throws std::out_of_range.
    void seek(std::uint64_t rows) {
        if (!settings_.wrap && rows > total_)
            throw std::out_of_range("sharded_npy_source: position " + std::to_string(rows) + " is past the " +
                                    std::to_string(total_) + " rows of the shards (wrap is off)");
        std::tie(epoch_, consumed_) = split(rows);
        anchor_ = rows;
        block_loaded_ = false;
        last_rows_.clear();
        last_tokens_.clear();
    }

    /// The position for a checkpoint, readable by a person: {"rows": position(), "epoch", "shard",
    /// "row" (the file-order place of the next row of the epoch; without wrap, shard = shard_count()
    /// at the end of the data), "seed", "shuffle_buffer", "rows_per_epoch"}.
    nlohmann::json save_position() const {
        const auto [epoch, consumed] = split(position());
        const std::size_t s = consumed == total_ ? files_.inputs.size() : shard_of(consumed);
        return {{"rows", position()},
                {"epoch", epoch},
                {"shard", s},
                {"row", consumed - offsets_[s]},
                {"seed", settings_.seed},
                {"shuffle_buffer", settings_.shuffle_buffer},
                {"rows_per_epoch", total_}};
    }

    /// Seeks to a save_position() value after checking that it was saved by a source with this
    /// seed, shuffle_buffer and row count (else the rows would differ): throws
    /// std::invalid_argument naming the field that differs or is missing.
    void restore_position(const nlohmann::json& saved) {
        auto field = [&](const char* key) {
            if (!saved.is_object() || !saved.contains(key) || !saved.at(key).is_number_integer())
                throw std::invalid_argument(std::string("sharded_npy_source: saved position has no integer '") + key +
                                            "': " + saved.dump());
            return saved.at(key);
        };
        auto require_same = [&](const char* key, auto here) {
            if (field(key).template get<decltype(here)>() != here)
                throw std::invalid_argument(std::string("sharded_npy_source: the saved position has ") + key + " " +
                                            field(key).dump() + ", this source has " + std::to_string(here));
        };
        require_same("seed", settings_.seed);
        require_same("shuffle_buffer", settings_.shuffle_buffer);
        require_same("rows_per_epoch", total_);
        if (!field("rows").is_number_unsigned())
            throw std::invalid_argument("sharded_npy_source: saved position has a negative 'rows': " + saved.dump());
        seek(field("rows").template get<std::uint64_t>());
    }

private:
    static constexpr std::uint64_t shuffle_stream = 601, phase_stream = 602;

    struct shard_shape {
        std::vector<std::int64_t> inputs, targets, tokens;
        io::dtype input_type{}, target_type{}, token_type{};
    };

    // One open file per kind (inputs, targets, tokens) at a time.
    struct open_file {
        std::optional<io::npy_reader> reader;
        std::size_t shard = 0;
    };

    void check_lists() const {
        const auto n = files_.inputs.size();
        if (n == 0) throw std::invalid_argument("sharded_npy_source: no input shards");
        if (WithTargets && files_.targets.empty())
            throw std::invalid_argument("sharded_npy_source: the source with targets needs target shards");
        if (!WithTargets && !files_.targets.empty())
            throw std::invalid_argument("sharded_npy_source: target shards given to the inputs-only source; "
                                        "use sharded_npy_source<Scalar, true>");
        if (!files_.targets.empty() && files_.targets.size() != n)
            throw std::invalid_argument("sharded_npy_source: " + std::to_string(n) + " input shards but " +
                                        std::to_string(files_.targets.size()) + " target shards");
        if (!files_.tokens.empty() && files_.tokens.size() != n)
            throw std::invalid_argument("sharded_npy_source: " + std::to_string(n) + " input shards but " +
                                        std::to_string(files_.tokens.size()) + " token shards");
        if (settings_.shuffle_buffer < 0)
            throw std::invalid_argument("sharded_npy_source: shuffle_buffer must be >= 0, got " +
                                        std::to_string(settings_.shuffle_buffer));
        const comm::rank_rows& slice = settings_.rank_slice;
        if (slice.sliced() && !(0 <= slice.begin && slice.begin < slice.end && slice.end <= slice.batch))
            throw std::invalid_argument("sharded_npy_source: rank_slice " + slice.text() + " is not a part of the batch");
    }

    // Opens shard s of each kind, checks it against shard 0 and its input shard, records its rows.
    void add_shard(std::size_t s) {
        shard_shape shape;
        io::npy_reader in(files_.inputs[s]);
        const index_t d = check_matrix(in, "input");
        if (s == 0) dim_ = d;
        else if (d != dim_)
            throw io::io_error(in.path(), "shape",
                               "expected d = " + std::to_string(dim_) + " columns like shard 0 (" +
                                   files_.inputs[0].string() + "), found " + io::detail::shape_string(in.shape()));
        shape.inputs = in.shape();
        shape.input_type = in.type();
        if (!files_.targets.empty()) {
            io::npy_reader target(files_.targets[s]);
            const index_t d_out = check_matrix(target, "target");
            if (s == 0) target_dim_ = d_out;
            else if (d_out != target_dim_)
                throw io::io_error(target.path(), "shape",
                                   "expected d_out = " + std::to_string(target_dim_) + " columns like shard 0 (" +
                                       files_.targets[0].string() + "), found " + io::detail::shape_string(target.shape()));
            check_rows(target, in);
            shape.targets = target.shape();
            shape.target_type = target.type();
        }
        if (!files_.tokens.empty()) {
            io::npy_reader tokens(files_.tokens[s]);
            if (!io::detail::is_integer_dtype(tokens.type()))
                throw io::io_error(tokens.path(), "descr",
                                   "expected integer token ids (i4 or i8), found " + std::string(io::dtype_name(tokens.type())));
            if (tokens.cols() != 1)
                throw io::io_error(tokens.path(), "shape",
                                   "expected token ids [rows] or [rows, 1], found " + io::detail::shape_string(tokens.shape()));
            check_rows(tokens, in);
            shape.tokens = tokens.shape();
            shape.token_type = tokens.type();
        }
        shapes_.push_back(std::move(shape));
        offsets_.push_back(offsets_.back() + static_cast<std::uint64_t>(in.rows()));
    }

    static index_t check_matrix(const io::npy_reader& file, const std::string& kind) {
        if (file.shape().size() != 2)
            throw io::io_error(file.path(), "shape",
                               "expected a 2-D [rows, d] " + kind + " array, found " + io::detail::shape_string(file.shape()));
        if (io::detail::is_integer_dtype(file.type()))
            throw io::io_error(file.path(), "descr",
                               "expected a floating-point " + kind + " dtype (f2, f4 or f8), found " +
                                   std::string(io::dtype_name(file.type())));
        if (file.cols() == 0)
            throw io::io_error(file.path(), "shape",
                               "expected at least one column in the " + kind + " array, found " +
                                   io::detail::shape_string(file.shape()));
        return static_cast<index_t>(file.cols());
    }

    static void check_rows(const io::npy_reader& file, const io::npy_reader& inputs) {
        if (file.rows() != inputs.rows())
            throw io::io_error(file.path(), "shape",
                               "expected " + std::to_string(inputs.rows()) + " rows like its input shard " +
                                   inputs.path().string() + ", found " + io::detail::shape_string(file.shape()));
    }

    // (epoch, rows of that epoch handed out) for a position: with wrap the end of an epoch is the
    // start of the next, which is where fill() goes on from.
    std::pair<std::uint64_t, std::uint64_t> split(std::uint64_t rows) const {
        if (!settings_.wrap) return {0, rows};
        return {rows / total_, rows % total_};
    }

    std::uint64_t shard_rows(std::size_t s) const { return offsets_[s + 1] - offsets_[s]; }

    // The shard holding global row g < total_ (empty shards are skipped by upper_bound).
    std::size_t shard_of(std::uint64_t g) const {
        return static_cast<std::size_t>(std::upper_bound(offsets_.begin(), offsets_.end(), g) - offsets_.begin()) - 1;
    }

    bool fill(matrix<Scalar>& x, matrix<Scalar>* y) {
        if (x.cols() != dim_)
            throw std::invalid_argument("sharded_npy_source: batch has " + std::to_string(x.cols()) +
                                        " columns, the shards have d = " + std::to_string(dim_));
        const comm::rank_rows& slice = settings_.rank_slice;
        if (slice.sliced() && x.rows() != slice.rows())
            throw std::invalid_argument("sharded_npy_source: batch has " + std::to_string(x.rows()) + " rows, this source hands out " +
                                        slice.text());
        // Rows the stream moves on by, and the first and one-past-last of them handed out.
        const auto n = static_cast<std::uint64_t>(slice.sliced() ? slice.batch : x.rows());
        const auto first = static_cast<std::uint64_t>(slice.sliced() ? slice.begin : 0);
        const auto last = static_cast<std::uint64_t>(slice.sliced() ? slice.end : x.rows());
        if (!settings_.wrap && total_ - consumed_ < n) return false;
        last_rows_.resize(last - first);
        last_tokens_.resize(files_.tokens.empty() ? 0 : last - first);
        for (std::uint64_t r = 0; r < n; ++r) {
            if (consumed_ == total_) {
                ++epoch_;
                consumed_ = 0;
            }
            if (r >= first && r < last) {
                load_block();
                const std::uint64_t k = order_[consumed_ - block_start_];
                const auto slot = static_cast<index_t>(slot_.empty() ? k : slot_[k]);
                const auto out = static_cast<index_t>(r - first);
                x.row(out) = block_inputs_.row(slot);
                if (y) y->row(out) = block_targets_.row(slot);
                if (!last_tokens_.empty()) last_tokens_[r - first] = block_tokens_[static_cast<std::size_t>(slot)];
                last_rows_[r - first] = block_start_ + k;
            }
            ++consumed_;
        }
        return true;
    }

    // Block boundaries of an epoch: phase + k·block_rows (and 0). The phase moves them every epoch
    // so rows on either side of a boundary are not kept apart for good.
    std::uint64_t phase(std::uint64_t epoch) const {
        if (settings_.shuffle_buffer == 0 || block_rows_ >= total_) return 0;
        const auto draw = static_cast<std::uint64_t>(phase_rng_.uniform(epoch) * static_cast<double>(block_rows_));
        return std::min(draw, block_rows_ - 1);
    }

    // Makes the block holding row consumed_ of epoch_ current: reads it and draws its order.
    void load_block() {
        // Blocks partition the epoch, so a loaded block that holds the row is the right one.
        if (block_loaded_ && block_epoch_ == epoch_ && consumed_ >= block_start_ && consumed_ - block_start_ < order_.size())
            return;
        const std::uint64_t p = phase(epoch_);
        std::uint64_t start = 0, end = 0;
        if (consumed_ < p) {
            end = p;
        } else {
            start = p + (consumed_ - p) / block_rows_ * block_rows_;
            end = std::min(total_, start + block_rows_);
        }
        block_loaded_ = false;  // until the reads below succeed
        const auto length = static_cast<std::size_t>(end - start);
        // The order first: it depends on the seed, the epoch and the block, not on the data.
        order_.resize(length);
        std::iota(order_.begin(), order_.end(), std::uint64_t{0});
        if (settings_.shuffle_buffer > 0) {
            // Fisher–Yates with counter-based draws: swap i of the block starting at row `start` of
            // epoch e uses element e·total + start + i, distinct for every (epoch, row) pair.
            const std::uint64_t base = epoch_ * total_ + start;
            for (std::size_t i = order_.size(); i-- > 1;) {
                const auto j = static_cast<std::size_t>(rng_.uniform(base + i) * static_cast<double>(i + 1));
                std::swap(order_[i], order_[std::min(j, i)]);
            }
        }
        // The block's rows to read, in file order: all of them, or a rank's (those whose place in the
        // stream falls in its part of a batch), each stored at slot_[k].
        std::vector<std::uint64_t> wanted;
        const comm::rank_rows& slice = settings_.rank_slice;
        slot_.clear();
        if (slice.sliced()) {
            const auto batch = static_cast<std::uint64_t>(slice.batch);
            const std::uint64_t stream_start = epoch_ * total_ + start;  // position() of the block's first row
            for (std::size_t i = 0; i < length; ++i) {
                const std::uint64_t in_batch = (stream_start + i - anchor_) % batch;
                if (stream_start + i >= anchor_ && in_batch >= static_cast<std::uint64_t>(slice.begin) &&
                    in_batch < static_cast<std::uint64_t>(slice.end))
                    wanted.push_back(order_[i]);
            }
            std::sort(wanted.begin(), wanted.end());
            slot_.assign(length, 0);
            for (std::size_t w = 0; w < wanted.size(); ++w) slot_[wanted[w]] = w;
        } else {
            wanted.resize(length);
            std::iota(wanted.begin(), wanted.end(), std::uint64_t{0});
        }
        const auto rows = static_cast<index_t>(wanted.size());
        block_inputs_.resize(rows, dim_);
        if constexpr (WithTargets) block_targets_.resize(rows, target_dim_);
        block_tokens_.resize(files_.tokens.empty() ? 0 : wanted.size());
        // Runs of consecutive rows within one shard are read together.
        for (std::size_t w = 0; w < wanted.size();) {
            const std::uint64_t g = start + wanted[w];
            const std::size_t s = shard_of(g);
            const std::uint64_t row = g - offsets_[s];
            std::uint64_t count = 1;
            while (w + count < wanted.size() && wanted[w + count] == wanted[w] + count && row + count < shard_rows(s)) ++count;
            const auto at = static_cast<index_t>(w);
            read_into(inputs_file_, s, files_.inputs[s], shapes_[s].inputs, row, count,
                      block_inputs_.data() + at * dim_, dim_);
            if constexpr (WithTargets)
                read_into(targets_file_, s, files_.targets[s], shapes_[s].targets, row, count,
                          block_targets_.data() + at * target_dim_, target_dim_);
            if (!block_tokens_.empty())
                read_into(tokens_file_, s, files_.tokens[s], shapes_[s].tokens, row, count, block_tokens_.data() + at, 1);
            w += count;
            rows_read_ += count;
        }
        block_loaded_ = true;
        block_epoch_ = epoch_;
        block_start_ = start;
    }

    // Rows [row, row + count) of shard s of one kind (file `path`, opened as `shape`) into out,
    // row-major with `width` values a row.
    template <class T>
    void read_into(open_file& file, std::size_t s, const std::filesystem::path& path,
                   const std::vector<std::int64_t>& shape, std::uint64_t row, std::uint64_t count, T* out,
                   index_t width) {
        if (!file.reader || file.shard != s) {
            file.reader.reset();
            file.reader.emplace(path);
            file.shard = s;
            // A shard replaced on disk while training would silently change the data or the rows.
            if (file.reader->shape() != shape)
                throw io::io_error(path, "shape",
                                   "shard " + std::to_string(s) + " was " + io::detail::shape_string(shape) +
                                       " when the source was opened, found " +
                                       io::detail::shape_string(file.reader->shape()));
        }
        const auto values = static_cast<std::size_t>(count) * static_cast<std::size_t>(width);
        file.reader->template read_rows<T>(static_cast<std::int64_t>(row), static_cast<std::int64_t>(count),
                                           std::span<T>(out, values));
        if constexpr (std::is_floating_point_v<T>) {
            if (settings_.check_finite) check_finite(path, row, out, count, width);
        }
    }

    template <class T>
    static void check_finite(const std::filesystem::path& path, std::uint64_t first_row, const T* values,
                             std::uint64_t count, index_t width) {
        for (std::uint64_t r = 0; r < count; ++r)
            for (index_t c = 0; c < width; ++c) {
                const T v = values[r * static_cast<std::uint64_t>(width) + static_cast<std::uint64_t>(c)];
                if (!std::isfinite(v))
                    throw io::io_error(path, "row " + std::to_string(first_row + r),
                                       "column " + std::to_string(c) + " is " + (std::isnan(v) ? "NaN" : "infinite") +
                                           "; expected finite values");
            }
    }

    sharded_npy_settings settings_;
    random::counter_rng rng_, phase_rng_;
    npy_shards files_;
    std::vector<shard_shape> shapes_;
    std::vector<std::uint64_t> offsets_;  // offsets_[s] = global index of shard s's first row
    std::uint64_t total_ = 0;
    index_t dim_ = 0, target_dim_ = 0;
    std::uint64_t block_rows_ = 1;

    std::uint64_t epoch_ = 0, consumed_ = 0;
    bool block_loaded_ = false;
    std::uint64_t block_epoch_ = 0, block_start_ = 0;
    matrix<Scalar> block_inputs_, block_targets_;
    std::vector<std::int64_t> block_tokens_;
    std::vector<std::uint64_t> order_;
    std::vector<std::uint64_t> slot_;  ///< sliced: row k of the block is row slot_[k] of block_inputs_
    std::uint64_t rows_read_ = 0;
    std::uint64_t anchor_ = 0;         ///< sliced: the position a batch started at (0, or the last seek)
    open_file inputs_file_, targets_file_, tokens_file_;

    std::vector<std::uint64_t> last_rows_;
    std::vector<std::int64_t> last_tokens_;
};

}  // namespace sparse_distill::data
