#pragma once
// Row ranges of a .npy file read on demand, for activation dumps larger than memory: the header is
// parsed and validated once at open, then each request reads only its rows, through a bounded
// scratch buffer, converting to the caller's type on the way.
#include "../config.hpp"
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/decode_elements.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/detail/npy_layout.hpp"
#include "sparse_distill/io/detail/shape.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/tensor_data.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace sparse_distill::io {

/// An open .npy file of rank 1 ([rows]) or 2 ([rows, cols]) whose rows are read on request.
/// Opening parses and checks the header exactly as read_npy does (same errors), plus the rank.
/// Both memory orders are supported: C order reads one contiguous byte range per request;
/// Fortran order reads each column's part of the range (cols reads per request), so streaming a
/// Fortran-order file is correct but slower for narrow row ranges of wide arrays.
/// Memory use is bounded by `chunk_bytes` of scratch, whatever the file size.
class npy_reader {
public:
    /// Opens `path`; throws io_error for a malformed file or one of rank other than 1 or 2
    /// (field "shape"). `chunk_bytes` bounds each single read (at least one element is read).
    explicit npy_reader(const std::filesystem::path& path, std::size_t chunk_bytes = std::size_t{1} << 20)
        : path_(path), file_(path), layout_(detail::read_npy_layout(file_, path)), chunk_bytes_(chunk_bytes) {
        const auto& shape = layout_.header.shape;
        if (shape.size() != 1 && shape.size() != 2)
            throw io_error(path_, "shape",
                           "expected a 1-D [rows] or 2-D [rows, cols] array for row reads, found " + detail::shape_string(shape));
    }

    const std::filesystem::path& path() const { return path_; }
    dtype type() const { return layout_.descr.type; }
    const std::vector<std::int64_t>& shape() const { return layout_.header.shape; }
    bool fortran_order() const { return layout_.header.fortran_order; }
    /// shape()[0].
    std::int64_t rows() const { return layout_.header.shape[0]; }
    /// shape()[1], or 1 for a 1-D file.
    std::int64_t cols() const { return layout_.header.shape.size() == 2 ? layout_.header.shape[1] : 1; }

    /// Writes rows [first, first + count) row-major into `out` (count·cols() values), converted to
    /// T: float or double from any dtype, std::int64_t from i4/i8 only (io_error "descr" otherwise).
    /// Throws std::out_of_range for rows outside [0, rows()) and std::invalid_argument for an
    /// `out` of the wrong size; io_error if the file can no longer be read.
    template <class T>
    void read_rows(std::int64_t first, std::int64_t count, std::span<T> out) {
        static_assert(std::is_floating_point_v<T> || std::is_same_v<T, std::int64_t>,
                      "rows are read as float, double or std::int64_t");
        if constexpr (std::is_same_v<T, std::int64_t>) {
            if (!detail::is_integer_dtype(type()))
                throw io_error(path_, "descr",
                               "expected an integer dtype (i4 or i8) for integer values, found " + std::string(dtype_name(type())));
        }
        if (first < 0 || count < 0 || first > rows() || count > rows() - first)
            throw std::out_of_range(path_.string() + ": rows [" + std::to_string(first) + ", " +
                                    std::to_string(first + count) + ") requested, the file has " +
                                    std::to_string(rows()) + " rows");
        const auto n_cols = static_cast<std::uint64_t>(cols());
        const auto n_rows = static_cast<std::uint64_t>(count);
        if (out.size() != n_rows * n_cols)
            throw std::invalid_argument(path_.string() + ": " + std::to_string(count) + " rows of " +
                                        std::to_string(n_cols) + " values need an output of " +
                                        std::to_string(n_rows * n_cols) + ", got " + std::to_string(out.size()));
        if (out.empty()) return;
        const auto start = static_cast<std::uint64_t>(first);
        if (!fortran_order() || layout_.header.shape.size() == 1) {
            read_elements(start * n_cols, out.size(), out.data(), 1);
        } else {
            // Column c of a Fortran-order [rows, cols] array is contiguous: elements c·rows + r.
            const auto total_rows = static_cast<std::uint64_t>(rows());
            for (std::uint64_t c = 0; c < n_cols; ++c) read_elements(c * total_rows + start, n_rows, out.data() + c, n_cols);
        }
    }

    /// Rows [first, first + count) as a [count, cols()] matrix; errors as for the span overload.
    template <class Scalar>
    matrix<Scalar> read_rows(std::int64_t first, std::int64_t count) {
        if (count < 0) throw std::out_of_range(path_.string() + ": negative row count " + std::to_string(count));
        matrix<Scalar> m(count, cols());
        read_rows<Scalar>(first, count, std::span<Scalar>(m.data(), static_cast<std::size_t>(m.size())));
        return m;
    }

private:
    // Elements [first, first + count) of the data in file order, decoded to out[k·stride].
    template <class T>
    void read_elements(std::uint64_t first, std::uint64_t count, T* out, std::size_t stride) {
        const std::size_t size = layout_.element_size;
        const std::uint64_t per_chunk = std::max<std::uint64_t>(1, chunk_bytes_ / size);
        for (std::uint64_t done = 0; done < count;) {
            const auto n = static_cast<std::size_t>(std::min(per_chunk, count - done));
            scratch_.resize(n * size);
            file_.read(layout_.data_offset + (first + done) * size, scratch_, "data");
            if (layout_.descr.swap) detail::swap_elements(scratch_, size);
            detail::decode_elements(scratch_.data(), n, type(), out + done * stride, stride);
            done += n;
        }
    }

    std::filesystem::path path_;
    detail::file_reader file_;
    detail::npy_layout layout_;
    std::size_t chunk_bytes_;
    std::vector<std::byte> scratch_;
};

}  // namespace sparse_distill::io
