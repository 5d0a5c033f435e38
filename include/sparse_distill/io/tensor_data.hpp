#pragma once
// A tensor as files store it: shape, element type and raw bytes. Readers fill it, writers consume
// it, and the conversions below turn it into host matrices and vectors with checked shapes.
#include "../config.hpp"
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/shape.hpp"
#include "sparse_distill/io/detail/small_float.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/tensor/matrix.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sparse_distill::io {

/// Element types the readers and writers understand.
enum class dtype { f16, bf16, f32, f64, i32, i64, u8 };

/// "f16", "bf16", "f32", "f64", "i32", "i64" or "u8" (also numpy's bool).
constexpr std::string_view dtype_name(dtype type) {
    switch (type) {
        case dtype::f16: return "f16";
        case dtype::bf16: return "bf16";
        case dtype::f32: return "f32";
        case dtype::f64: return "f64";
        case dtype::i32: return "i32";
        case dtype::i64: return "i64";
        case dtype::u8: return "u8";
    }
    return "unknown";
}

/// Bytes per element.
constexpr std::size_t dtype_size(dtype type) {
    switch (type) {
        case dtype::f16:
        case dtype::bf16: return 2;
        case dtype::f32:
        case dtype::i32: return 4;
        case dtype::f64:
        case dtype::i64: return 8;
        case dtype::u8: return 1;
    }
    return 0;
}

/// A tensor in file form: `bytes` holds numel() elements of `type`, little-endian, in C order
/// (last index fastest), whatever the byte order or layout of the file it came from.
struct tensor_data {
    std::vector<std::int64_t> shape;  ///< Empty for a scalar (0-d tensor).
    dtype type = dtype::f32;
    std::vector<std::byte> bytes;

    /// Product of the extents; 1 for a scalar, 0 when any extent is 0.
    std::int64_t numel() const {
        // An empty tensor may have other extents whose product overflows (a file can say [2^62, 4, 0]).
        for (const auto extent : shape)
            if (extent == 0) return 0;
        std::int64_t n = 1;
        for (const auto extent : shape) n *= extent;
        return n;
    }
};

namespace detail {

inline void check_byte_size(const tensor_data& tensor, std::string_view what) {
    for (const auto extent : tensor.shape)
        if (extent < 0)
            throw io_error(std::string(what) + ": shape " + shape_string(tensor.shape) + " has a negative extent");
    const auto expected = byte_count(tensor.shape, dtype_size(tensor.type));
    if (!expected)
        throw io_error(std::string(what) + ": shape " + shape_string(tensor.shape) + " overflows the byte count");
    if (*expected != tensor.bytes.size())
        throw io_error(std::string(what) + ": expected " + std::to_string(*expected) + " bytes for " +
                       std::string(dtype_name(tensor.type)) + " " + shape_string(tensor.shape) + ", found " +
                       std::to_string(tensor.bytes.size()));
}

// Integers must survive the conversion exactly: a weight file read as indices is a bug to report,
// not to truncate silently.
template <class T, class From>
T convert_value(From value, std::size_t index) {
    if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(value);
    } else if constexpr (std::is_integral_v<From>) {
        if (!std::in_range<T>(value))
            throw io_error("tensor_data: value " + std::to_string(value) + " at index " + std::to_string(index) +
                           " does not fit the requested integer type");
        return static_cast<T>(value);
    } else {
        const double bound = std::ldexp(1.0, std::numeric_limits<T>::digits);
        const double low = std::is_signed_v<T> ? -bound : 0.0;
        const auto as_double = static_cast<double>(value);
        if (!(as_double >= low && as_double < bound) || std::trunc(as_double) != as_double)
            throw io_error("tensor_data: value " + std::to_string(as_double) + " at index " + std::to_string(index) +
                           " is not an integer of the requested type");
        return static_cast<T>(as_double);
    }
}

template <class Scalar>
constexpr dtype dtype_of() {
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                  "host matrices and vectors are stored as f32 or f64");
    return std::is_same_v<Scalar, float> ? dtype::f32 : dtype::f64;
}

}  // namespace detail

/// Every element converted to T, in C order. f16 and bf16 decode exactly (subnormals, ±inf, NaN);
/// an integer T requires each value to be an integer in T's range and throws io_error otherwise.
template <class T>
std::vector<T> to_values(const tensor_data& tensor) {
    static_assert(std::is_arithmetic_v<T>, "to_values converts to an arithmetic type");
    detail::check_byte_size(tensor, "tensor_data");
    const std::size_t count = tensor.bytes.size() / dtype_size(tensor.type);
    const std::byte* data = tensor.bytes.data();
    std::vector<T> values(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::byte* at = data + i * dtype_size(tensor.type);
        switch (tensor.type) {
            case dtype::f16:
                values[i] = detail::convert_value<T>(detail::half_format::decode(detail::load_le<std::uint16_t>(at)), i);
                break;
            case dtype::bf16:
                values[i] =
                    detail::convert_value<T>(detail::bfloat16_format::decode(detail::load_le<std::uint16_t>(at)), i);
                break;
            case dtype::f32: values[i] = detail::convert_value<T>(detail::load_le<float>(at), i); break;
            case dtype::f64: values[i] = detail::convert_value<T>(detail::load_le<double>(at), i); break;
            case dtype::i32: values[i] = detail::convert_value<T>(detail::load_le<std::int32_t>(at), i); break;
            case dtype::i64: values[i] = detail::convert_value<T>(detail::load_le<std::int64_t>(at), i); break;
            case dtype::u8: values[i] = detail::convert_value<T>(detail::load_le<std::uint8_t>(at), i); break;
        }
    }
    return values;
}

/// A tensor of `type` holding `values` (C order) converted to it: f16/bf16 round to nearest even,
/// integer types require exact integers in range. Throws io_error if values.size() ≠ numel(shape).
template <class T>
tensor_data from_values(std::vector<std::int64_t> shape, dtype type, std::span<const T> values) {
    static_assert(std::is_arithmetic_v<T>, "from_values converts from an arithmetic type");
    tensor_data tensor{std::move(shape), type, {}};
    const std::size_t size = dtype_size(type);
    tensor.bytes.resize(values.size() * size);
    detail::check_byte_size(tensor, "from_values");
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::byte* at = tensor.bytes.data() + i * size;
        switch (type) {
            case dtype::f16:
                detail::store_le(at, detail::half_format::encode(static_cast<double>(values[i])));
                break;
            case dtype::bf16:
                detail::store_le(at, detail::bfloat16_format::encode(static_cast<double>(values[i])));
                break;
            case dtype::f32: detail::store_le(at, static_cast<float>(values[i])); break;
            case dtype::f64: detail::store_le(at, static_cast<double>(values[i])); break;
            case dtype::i32: detail::store_le(at, detail::convert_value<std::int32_t>(values[i], i)); break;
            case dtype::i64: detail::store_le(at, detail::convert_value<std::int64_t>(values[i], i)); break;
            case dtype::u8: detail::store_le(at, detail::convert_value<std::uint8_t>(values[i], i)); break;
        }
    }
    return tensor;
}

/// The 2-D tensor as a host matrix. `what` names the source in errors, e.g.
/// "model.safetensors: tensor 'W_enc'" → "<what>: expected a 2-D tensor, got shape [3]".
template <class Scalar>
matrix<Scalar> to_matrix(const tensor_data& tensor, std::string_view what) {
    if (tensor.shape.size() != 2)
        throw io_error(std::string(what) + ": expected a 2-D tensor, got shape " + detail::shape_string(tensor.shape));
    detail::check_byte_size(tensor, what);
    const auto values = to_values<Scalar>(tensor);
    return const_matrix_map<Scalar>(values.data(), tensor.shape[0], tensor.shape[1]);
}

/// The 1-D tensor as a host vector; errors as for to_matrix ("expected a 1-D tensor").
template <class Scalar>
vector<Scalar> to_vector(const tensor_data& tensor, std::string_view what) {
    if (tensor.shape.size() != 1)
        throw io_error(std::string(what) + ": expected a 1-D tensor, got shape " + detail::shape_string(tensor.shape));
    detail::check_byte_size(tensor, what);
    const auto values = to_values<Scalar>(tensor);
    return const_vector_map<Scalar>(values.data(), tensor.shape[0]);
}

/// A [rows, cols] tensor of f32 (Scalar = float) or f64 (Scalar = double).
template <class Scalar>
tensor_data from_matrix(const matrix<Scalar>& m) {
    return from_values<Scalar>({static_cast<std::int64_t>(m.rows()), static_cast<std::int64_t>(m.cols())},
                               detail::dtype_of<Scalar>(), std::span<const Scalar>(m.data(), static_cast<std::size_t>(m.size())));
}

/// A [size] tensor of f32 (Scalar = float) or f64 (Scalar = double).
template <class Scalar>
tensor_data from_vector(const vector<Scalar>& v) {
    return from_values<Scalar>({static_cast<std::int64_t>(v.size())}, detail::dtype_of<Scalar>(),
                               std::span<const Scalar>(v.data(), static_cast<std::size_t>(v.size())));
}

}  // namespace sparse_distill::io
