#pragma once
// Reading one MLP's tensors from a checkpoint with their shapes checked against each other: the
// first weight read fixes d_model and d_mlp, and every later tensor must agree, so a message can
// say which tensor disagrees, in which dimension, and where the expected sizes came from.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/detail/safetensors_header.hpp"
#include "sparse_distill/io/detail/shape.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/safetensors.hpp"
#include "sparse_distill/io/tensor_data.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparse_distill::io::detail {

// Tensors read lazily from a file (a large checkpoint: only the layer wanted is read).
struct reader_source {
    safetensors_reader& reader;
    const std::filesystem::path& path() const { return reader.path(); }
    const std::map<std::string, safetensors_tensor_info>& entries() const { return reader.tensors(); }
    const std::vector<std::int64_t>& shape(const std::string& name) const { return reader.info(name).shape; }
    tensor_data read(const std::string& name) { return reader.read(name); }
};

// Tensors already in memory.
struct file_source {
    const safetensors_file& file;
    const std::filesystem::path& path() const { return file.path; }
    const std::map<std::string, tensor_data>& entries() const { return file.tensors; }
    const std::vector<std::int64_t>& shape(const std::string& name) const { return file.at(name).shape; }
    const tensor_data& read(const std::string& name) const { return file.at(name); }
};

enum class mlp_axis { d_model, d_mlp };

inline std::string_view axis_name(mlp_axis axis) { return axis == mlp_axis::d_model ? "d_model" : "d_mlp"; }

inline std::string layout_string(std::initializer_list<mlp_axis> layout) {
    std::string text = "[";
    for (const auto axis : layout) text += (text.size() > 1 ? ", " : "") + std::string(axis_name(axis));
    return text + "]";
}

template <class Source>
class mlp_tensor_reader {
public:
    mlp_tensor_reader(Source& source, std::string prefix) : source_(source), prefix_(std::move(prefix)) {}

    const std::string& prefix() const { return prefix_; }
    std::string full_name(std::string_view name) const { return prefix_ + std::string(name); }
    bool has(std::string_view name) const { return source_.entries().count(full_name(name)) != 0; }

    /// The first weight: a non-empty 2-D tensor whose extents define d_model and d_mlp.
    template <class Scalar>
    matrix<Scalar> first_matrix(std::string_view name, mlp_axis rows, mlp_axis cols) {
        const auto full = full_name(name);
        require(full, layout_string({rows, cols}));
        const auto& shape = source_.shape(full);
        if (shape.size() != 2 || shape[0] == 0 || shape[1] == 0)
            throw io_error(source_.path(), "tensor '" + full + "'",
                           "expected a non-empty 2-D tensor " + layout_string({rows, cols}) + ", found shape " +
                               shape_string(shape));
        dims_[static_cast<int>(rows)] = shape[0];
        dims_[static_cast<int>(cols)] = shape[1];
        reference_ = "'" + full + "' " + shape_string(shape);
        return read_matrix<Scalar>(full);
    }

    /// A 2-D tensor of the given layout, which must agree with the dimensions fixed so far.
    template <class Scalar>
    matrix<Scalar> matrix_of(std::string_view name, mlp_axis rows, mlp_axis cols) {
        const auto full = full_name(name);
        require(full, layout_string({rows, cols}));
        check_shape(full, {rows, cols});
        return read_matrix<Scalar>(full);
    }

    /// A 1-D tensor along `axis`, checked like matrix_of.
    template <class Scalar>
    vector<Scalar> vector_of(std::string_view name, mlp_axis axis) {
        const auto full = full_name(name);
        require(full, layout_string({axis}));
        check_shape(full, {axis});
        const auto values = to_vector<Scalar>(source_.read(full), source_.path().string() + ": tensor '" + full + "'");
        check_finite(full, values.data(), values.size(), 1);
        return values;
    }

private:
    Source& source_;
    std::string prefix_;
    std::int64_t dims_[2] = {0, 0};
    std::string reference_;

    void require(const std::string& full, const std::string& layout) const {
        if (source_.entries().count(full)) return;
        std::map<std::string, int> nearby;  // names under the same prefix, to show what is there instead
        for (const auto& entry : source_.entries())
            if (!prefix_.empty() && entry.first.compare(0, prefix_.size(), prefix_) == 0) nearby.emplace(entry.first, 0);
        throw io_error(source_.path(), "tensor '" + full + "'",
                       "missing; expected a tensor " + layout +
                           (prefix_.empty() ? std::string() : "; the file has under '" + prefix_ + "': " + list_names(nearby)));
    }

    void check_shape(const std::string& full, std::initializer_list<mlp_axis> layout) const {
        const auto& found = source_.shape(full);
        std::vector<std::int64_t> expected;
        for (const auto axis : layout) expected.push_back(dims_[static_cast<int>(axis)]);
        if (found == expected) return;
        std::string problem = "expected shape " + layout_string(layout) + " = " + shape_string(expected) +
                              " (d_model = " + std::to_string(dims_[0]) + ", d_mlp = " + std::to_string(dims_[1]) +
                              " from " + reference_ + "), found " + shape_string(found);
        if (found.size() == expected.size()) {
            std::size_t i = 0;
            for (const auto axis : layout) {
                if (found[i] != expected[i]) {
                    problem += "; its " + std::string(axis_name(axis)) + " " + std::to_string(found[i]) +
                               " disagrees with " + std::to_string(expected[i]);
                    break;
                }
                ++i;
            }
        }
        throw io_error(source_.path(), "tensor '" + full + "'", problem);
    }

    template <class Scalar>
    matrix<Scalar> read_matrix(const std::string& full) {
        auto values = to_matrix<Scalar>(source_.read(full), source_.path().string() + ": tensor '" + full + "'");
        check_finite(full, values.data(), static_cast<std::size_t>(values.size()), values.cols());
        return values;
    }

    // A NaN or Inf weight would poison every output; report it here, where the file is known.
    template <class Scalar>
    void check_finite(const std::string& full, const Scalar* data, std::size_t count, index_t cols) const {
        for (std::size_t i = 0; i < count; ++i) {
            if (std::isfinite(data[i])) continue;
            const auto row = static_cast<index_t>(i) / cols, col = static_cast<index_t>(i) % cols;
            throw io_error(source_.path(), "tensor '" + full + "'",
                           "expected finite weights, found " + std::to_string(data[i]) + " at element " +
                               (cols == 1 ? std::to_string(row) : "[" + std::to_string(row) + ", " + std::to_string(col) + "]"));
        }
    }
};

}  // namespace sparse_distill::io::detail
