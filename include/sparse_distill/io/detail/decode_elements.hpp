#pragma once
// Little-endian elements of a file dtype turned into host values, written with a stride so that a
// column of a Fortran-order file lands directly in a row-major output.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/small_float.hpp"
#include "sparse_distill/io/tensor_data.hpp"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace sparse_distill::io::detail {

inline bool is_integer_dtype(dtype type) { return type == dtype::i32 || type == dtype::i64 || type == dtype::u8; }

// out[k·stride] = element k of `src`, for k < count. T is float, double or std::int64_t; an int64
// output needs an integer dtype (the caller checks), which then converts exactly.
template <class T>
void decode_elements(const std::byte* src, std::size_t count, dtype type, T* out, std::size_t stride = 1) {
    static_assert(std::is_floating_point_v<T> || std::is_same_v<T, std::int64_t>,
                  "elements decode to float, double or std::int64_t");
    const std::size_t size = dtype_size(type);
    for (std::size_t k = 0; k < count; ++k) {
        const std::byte* at = src + k * size;
        T& value = out[k * stride];
        switch (type) {
            case dtype::f16:
                if constexpr (std::is_floating_point_v<T>) value = static_cast<T>(half_format::decode(load_le<std::uint16_t>(at)));
                break;
            case dtype::bf16:
                if constexpr (std::is_floating_point_v<T>) value = static_cast<T>(bfloat16_format::decode(load_le<std::uint16_t>(at)));
                break;
            case dtype::f32:
                if constexpr (std::is_floating_point_v<T>) value = static_cast<T>(load_le<float>(at));
                break;
            case dtype::f64:
                if constexpr (std::is_floating_point_v<T>) value = static_cast<T>(load_le<double>(at));
                break;
            case dtype::i32: value = static_cast<T>(load_le<std::int32_t>(at)); break;
            case dtype::i64: value = static_cast<T>(load_le<std::int64_t>(at)); break;
            case dtype::u8: value = static_cast<T>(load_le<std::uint8_t>(at)); break;
        }
    }
}

}  // namespace sparse_distill::io::detail
