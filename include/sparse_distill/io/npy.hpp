#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the format numpy.save writes and the
// reference data of this project uses.
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/detail/npy_header.hpp"
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

inline constexpr std::array<unsigned char, 6> npy_magic{0x93, 'N', 'U', 'M', 'P', 'Y'};

struct npy_descr {
    dtype type;
    bool swap;  // stored in the opposite byte order to tensor_data's little-endian
};

inline npy_descr parse_npy_descr(const std::string& descr, const std::filesystem::path& file) {
    std::string_view rest = descr;
    char order = '=';
    if (!rest.empty() && (rest[0] == '<' || rest[0] == '>' || rest[0] == '|' || rest[0] == '='))
        order = rest[0], rest.remove_prefix(1);
    dtype type;
    if (rest == "f2") type = dtype::f16;
    else if (rest == "f4") type = dtype::f32;
    else if (rest == "f8") type = dtype::f64;
    else if (rest == "i4") type = dtype::i32;
    else if (rest == "i8") type = dtype::i64;
    else
        throw io_error(file, "descr", "unsupported dtype '" + descr + "'; expected one of <f2 <f4 <f8 <i4 <i8 (or the '>' variants)");
    // '|' means "byte order not applicable", which is only true of 1-byte types.
    if (order == '|') throw io_error(file, "descr", "byte order '|' in '" + descr + "' is invalid for a multi-byte type");
    const bool big = order == '>' || (order == '=' && std::endian::native == std::endian::big);
    return {type, big};
}

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
        case dtype::bf16: throw io_error(file, "dtype", "npy has no bfloat16 type; expected f16, f32, f64, i32 or i64");
    }
    std::string shape = "(";
    for (std::size_t i = 0; i < tensor.shape.size(); ++i) shape += std::to_string(tensor.shape[i]) + ", ";
    if (tensor.shape.size() > 1) shape.resize(shape.size() - 2);
    else if (tensor.shape.size() == 1) shape.pop_back();  // a 1-tuple keeps its comma: (3,)
    shape += ")";
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

}  // namespace detail

/// Reads a .npy file of format 1.0, 2.0 or 3.0 with dtype f2, f4, f8, i4 or i8 in either byte
/// order and either memory order; the result is little-endian and in C order.
inline tensor_data read_npy(const std::filesystem::path& path) {
    detail::file_reader reader(path);
    std::array<std::byte, 8> prefix{};
    if (reader.size() < prefix.size())
        throw io_error(path, "magic", "expected at least 8 bytes (magic and version), found " + std::to_string(reader.size()));
    reader.read(0, prefix, "magic");
    if (std::memcmp(prefix.data(), detail::npy_magic.data(), detail::npy_magic.size()) != 0)
        throw io_error(path, "magic", "expected \\x93NUMPY, the file does not start like a .npy file");
    const auto major = static_cast<int>(prefix[6]);
    const auto minor = static_cast<int>(prefix[7]);
    if ((major < 1 || major > 3) || minor != 0)
        throw io_error(path, "version",
                       "expected 1.0, 2.0 or 3.0, found " + std::to_string(major) + "." + std::to_string(minor));

    // Version 1.0 has a 2-byte header length; 2.0 and 3.0 widened it to 4 bytes.
    const std::size_t length_size = major == 1 ? 2 : 4;
    std::array<std::byte, 4> length_bytes{};
    reader.read(8, std::span(length_bytes.data(), length_size), "header length");
    const std::uint64_t header_length = major == 1 ? detail::load_le<std::uint16_t>(length_bytes.data())
                                                   : detail::load_le<std::uint32_t>(length_bytes.data());
    const std::uint64_t header_start = 8 + length_size;
    if (header_length > reader.size() - header_start)
        throw io_error(path, "header length",
                       "header of " + std::to_string(header_length) + " bytes runs past the end of the file (" +
                           std::to_string(reader.size()) + " bytes)");
    std::string header_text(header_length, '\0');
    reader.read(header_start, std::as_writable_bytes(std::span(header_text)), "header");
    const auto header = detail::parse_npy_header(header_text, path);
    const auto descr = detail::parse_npy_descr(header.descr, path);

    const std::size_t element_size = dtype_size(descr.type);
    const auto expected = detail::byte_count(header.shape, element_size);
    if (!expected) throw io_error(path, "shape", detail::shape_string(header.shape) + " overflows the byte count");
    const std::uint64_t data_start = header_start + header_length;
    const std::uint64_t available = reader.size() - data_start;
    if (available != *expected)
        throw io_error(path, "data",
                       "expected " + std::to_string(*expected) + " bytes for '" + header.descr + "' shape " +
                           detail::shape_string(header.shape) + ", found " + std::to_string(available));

    tensor_data tensor{header.shape, descr.type, std::vector<std::byte>(*expected)};
    reader.read(data_start, tensor.bytes, "data");
    if (descr.swap) detail::swap_elements(tensor.bytes, element_size);
    if (header.fortran_order) tensor.bytes = detail::fortran_to_c_order(tensor.bytes, tensor.shape, element_size);
    return tensor;
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
