#pragma once
// Where things are in a .npy file: magic, version, header length, header dict, and the data range
// that the header's dtype and shape imply. Every size comes from the file, so each is checked
// against the real byte count before anything is allocated from it; the data range must match the
// file exactly. Written against any reader with size() and read(offset, out, field) (file_reader,
// memory_reader), so whole-file, in-memory and streaming reads share one validation.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/detail/byte_order.hpp"
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
#include <string_view>

namespace sparse_distill::io::detail {

inline constexpr std::array<unsigned char, 6> npy_magic{0x93, 'N', 'U', 'M', 'P', 'Y'};

struct npy_descr {
    dtype type;
    bool swap;  // stored in the opposite byte order to tensor_data's little-endian
};

// What a numpy type-kind character means, for saying why a descr is refused.
inline std::string npy_kind_name(char kind, std::string_view width) {
    switch (kind) {
        case 'b':
        case '?': return "boolean of " + std::string(width) + " bytes; only 1-byte booleans are supported";
        case 'i': return std::string(width) + "-byte integer; only 4- and 8-byte integers are supported";
        case 'u': return "unsigned integer; only 1-byte unsigned integers are supported";
        case 'f': return std::string(width) + "-byte float; only 2-, 4- and 8-byte floats are supported";
        case 'c': return "complex";
        case 'O': return "Python objects; pickled data is never loaded";
        case 'U': return "unicode string";
        case 'S':
        case 'a': return "byte string";
        case 'V': return "raw void records";
        case 'M': return "datetime";
        case 'm': return "timedelta";
        default: return "unknown type";
    }
}

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
    // Bytes, and numpy's bool (one byte, 0 or 1): masks such as a dead-latent set.
    else if (rest == "u1" || rest == "b1") type = dtype::u8;
    else {
        const std::string kind = rest.empty() ? "empty" : npy_kind_name(rest[0], rest.substr(1));
        throw io_error(file, "descr",
                       "unsupported dtype '" + printable(descr) + "' (" + kind +
                           "); expected one of <f2 <f4 <f8 <i4 <i8 (or the '>' variants), |u1 or |b1");
    }
    // '|' means "byte order not applicable", which is only true of 1-byte types.
    if (order == '|' && type != dtype::u8) throw io_error(file, "descr", "byte order '|' in '" + descr + "' is invalid for a multi-byte type");
    const bool big = order == '>' || (order == '=' && std::endian::native == std::endian::big);
    return {type, big};
}

struct npy_layout {
    npy_header header;
    npy_descr descr;
    std::size_t element_size = 0;
    std::uint64_t data_offset = 0;  // the data runs from here to the end of the file
    std::uint64_t data_size = 0;
};

template <class Reader>
npy_layout read_npy_layout(Reader& reader, const std::filesystem::path& file) {
    std::array<std::byte, 8> prefix{};
    if (reader.size() < prefix.size())
        throw io_error(file, "magic", "expected at least 8 bytes (magic and version), found " + std::to_string(reader.size()));
    reader.read(0, prefix, "magic");
    if (std::memcmp(prefix.data(), npy_magic.data(), npy_magic.size()) != 0)
        throw io_error(file, "magic", "expected \\x93NUMPY, the file does not start like a .npy file");
    const auto major = static_cast<int>(prefix[6]);
    const auto minor = static_cast<int>(prefix[7]);
    if ((major < 1 || major > 3) || minor != 0)
        throw io_error(file, "version",
                       "expected 1.0, 2.0 or 3.0, found " + std::to_string(major) + "." + std::to_string(minor));

    // Version 1.0 has a 2-byte header length; 2.0 and 3.0 widened it to 4 bytes.
    const std::size_t length_size = major == 1 ? 2 : 4;
    std::array<std::byte, 4> length_bytes{};
    reader.read(8, std::span(length_bytes.data(), length_size), "header length");
    const std::uint64_t header_length = major == 1 ? load_le<std::uint16_t>(length_bytes.data())
                                                   : load_le<std::uint32_t>(length_bytes.data());
    const std::uint64_t header_start = 8 + length_size;
    if (header_length > reader.size() - header_start)
        throw io_error(file, "header length",
                       "header of " + std::to_string(header_length) + " bytes runs past the end of the file (" +
                           std::to_string(reader.size()) + " bytes)");
    std::string header_text(header_length, '\0');
    reader.read(header_start, std::as_writable_bytes(std::span(header_text)), "header");

    npy_layout layout{parse_npy_header(header_text, file), {}, 0, 0, 0};
    layout.descr = parse_npy_descr(layout.header.descr, file);
    layout.element_size = dtype_size(layout.descr.type);
    const auto& shape = layout.header.shape;
    const auto expected = byte_count(shape, layout.element_size);
    if (!expected)
        throw io_error(file, "shape",
                       shape_string(shape) + " of '" + printable(layout.header.descr) +
                           "' overflows the byte count (more than 2^63 bytes)");
    layout.data_offset = header_start + header_length;
    layout.data_size = *expected;
    const std::uint64_t available = reader.size() - layout.data_offset;
    if (available != *expected) {
        const std::string what = "expected " + std::to_string(*expected) + " bytes for '" +
                                 printable(layout.header.descr) + "' shape " + shape_string(shape) + ", found " +
                                 std::to_string(available);
        throw io_error(file, "data",
                       what + (available < *expected ? ": the file is truncated or the header is wrong"
                                                     : ": unexpected bytes after the data"));
    }
    return layout;
}

}  // namespace sparse_distill::io::detail
