#pragma once
// Little-endian loads and stores. tensor_data keeps its bytes little-endian whatever the host is,
// so files can be written back unchanged; only the conversion to values touches the host order.
#include "../../detail/internal_header_check.hpp"
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <span>

namespace sparse_distill::io::detail {

template <class T>
T load_le(const std::byte* src) {
    std::byte raw[sizeof(T)];
    std::memcpy(raw, src, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(raw, raw + sizeof(T));
    T value;
    std::memcpy(&value, raw, sizeof(T));
    return value;
}

template <class T>
void store_le(std::byte* dst, T value) {
    std::byte raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(raw, raw + sizeof(T));
    std::memcpy(dst, raw, sizeof(T));
}

// Reverses the bytes of every element of `element_size` bytes in `bytes`.
inline void swap_elements(std::span<std::byte> bytes, std::size_t element_size) {
    if (element_size < 2) return;
    for (std::size_t at = 0; at + element_size <= bytes.size(); at += element_size)
        std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     bytes.begin() + static_cast<std::ptrdiff_t>(at + element_size));
}

}  // namespace sparse_distill::io::detail
