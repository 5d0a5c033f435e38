#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the format numpy.save writes and the
// reference data of this project uses.
#include "../config.hpp"
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/detail/memory_reader.hpp"
#include "sparse_distill/io/detail/npy_layout.hpp"
#include "sparse_distill/io/detail/shape.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/tensor_data.hpp"

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace sparse_distill::io {

namespace detail {

// Fortran order stores the first index fastest; walk the C-order output with an index counter and
// keep the matching Fortran offset in step with it.
inline std::vector<std::byte> fortran_to_c_order(const std::vector<std::byte>& fortran,
                                                 const std::vector<std::int64_t>& shape, std::size_t element_size) {
    const std::size_t rank = shape.size();
    if (rank < 2 || fortran.empty()) return fortran;
    std::vector<std::size_t> fortran_stride(rank);
    std::size_t stride = 1;
    for (std::size_t k = 0; k < rank; ++k) {
        fortran_stride[k] = stride;
        stride *= static_cast<std::size_t>(shape[k]);
    }
    std::vector<std::byte> c_order(fortran.size());
    std::vector<std::int64_t> index(rank, 0);
    std::size_t source = 0;
    for (std::size_t out = 0; out < c_order.size(); out += element_size) {
        std::memcpy(c_order.data() + out, fortran.data() + source * element_size, element_size);
        for (std::size_t k = rank; k-- > 0;) {
            ++index[k];
            source += fortran_stride[k];
            if (index[k] < shape[k]) break;
            source -= fortran_stride[k] * static_cast<std::size_t>(shape[k]);
            index[k] = 0;
        }
    }
    return c_order;
}

inline std::string npy_header_text(const tensor_data& tensor, const std::filesystem::path& file) {
    std::string descr;
    switch (tensor.type) {
        case dtype::f16: descr = "<f2"; break;
        case dtype::f32: descr = "<f4"; break;
        case dtype::f64: descr = "<f8"; break;
        case dtype::i32: descr = "<i4"; break;
        case dtype::i64: descr = "<i8"; break;
        case dtype::u8: descr = "|u1"; break;
        case dtype::bf16: throw io_error(file, "dtype", "npy has no bfloat16 type; expected f16, f32, f64, i32 or i64");
    }
    std::string shape = "(";
    for (std::size_t i = 0; i < tensor.shape.size(); ++i) shape += std::to_string(tensor.shape[i]) + ", ";
    if (tensor.shape.size() > 1) shape.resize(shape.size() - 2);
    else if (tensor.shape.size() == 1) shape.pop_back();  // a 1-tuple keeps its comma: (3,)
    shape += ")";
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

template <class Reader>
tensor_data read_npy_tensor(Reader& reader, const std::filesystem::path& file) {
    const npy_layout layout = read_npy_layout(reader, file);
    // data_size equals the bytes really present (read_npy_layout checked it), so this allocation is
    // bounded by the input, never by a number in the header.
    tensor_data tensor{layout.header.shape, layout.descr.type, std::vector<std::byte>(layout.data_size)};
    reader.read(layout.data_offset, tensor.bytes, "data");
    if (layout.descr.swap) swap_elements(tensor.bytes, layout.element_size);
    if (layout.header.fortran_order) tensor.bytes = fortran_to_c_order(tensor.bytes, tensor.shape, layout.element_size);
    return tensor;
}

}  // namespace detail

/// Parses the bytes of a whole .npy file held in memory, exactly as read_npy parses a file;
/// `name_for_errors` stands for the file in io_error messages. Throws io_error on any malformed
/// input and never reads outside `bytes` or allocates more than bytes.size() from header values.
inline tensor_data parse_npy(std::span<const std::byte> bytes, const std::filesystem::path& name_for_errors) {
    detail::memory_reader reader(bytes, name_for_errors);
    return detail::read_npy_tensor(reader, name_for_errors);
}

/// Reads a .npy file of format 1.0, 2.0 or 3.0 with dtype f2, f4, f8, i4 or i8 in either byte
/// order and either memory order; the result is little-endian and in C order. The whole array is
/// loaded: for files larger than memory use npy_reader (npy_reader.hpp). Throws io_error naming
/// the file and the field ("magic", "version", "header length", "header", "descr",
/// "fortran_order", "shape", "data") with what was expected and what was found.
inline tensor_data read_npy(const std::filesystem::path& path) {
    detail::file_reader reader(path);
    return detail::read_npy_tensor(reader, path);
}

/// Writes `tensor` as .npy format 1.0 (2.0 when the header exceeds 65535 bytes), little-endian,
/// C order, data starting at a multiple of 64 bytes. Writes "<path>.tmp" and renames it over
/// `path`. bf16 has no .npy dtype and throws io_error.
inline void write_npy(const std::filesystem::path& path, const tensor_data& tensor) {
    detail::check_byte_size(tensor, path.string() + ": data");
    std::string header = detail::npy_header_text(tensor, path);
    // numpy pads with spaces and ends with '\n' so that the data is 64-byte aligned.
    constexpr std::size_t alignment = 64;
    auto padded_length = [&](std::size_t prefix_size) {
        const std::size_t unpadded = prefix_size + header.size() + 1;
        return (unpadded + alignment - 1) / alignment * alignment - prefix_size;
    };
    const bool version_1 = padded_length(10) <= 0xFFFF;
    const std::size_t prefix_size = version_1 ? 10 : 12;
    const std::size_t header_length = padded_length(prefix_size);
    header.resize(header_length - 1, ' ');
    header += '\n';

    std::vector<std::byte> prefix(prefix_size);
    std::memcpy(prefix.data(), detail::npy_magic.data(), detail::npy_magic.size());
    prefix[6] = std::byte{static_cast<unsigned char>(version_1 ? 1 : 2)};
    prefix[7] = std::byte{0};
    if (version_1) detail::store_le(prefix.data() + 8, static_cast<std::uint16_t>(header_length));
    else detail::store_le(prefix.data() + 8, static_cast<std::uint32_t>(header_length));

    const std::array<std::span<const std::byte>, 3> pieces{prefix, std::as_bytes(std::span(header)), tensor.bytes};
    detail::write_atomically(path, pieces);
}

}  // namespace sparse_distill::io
