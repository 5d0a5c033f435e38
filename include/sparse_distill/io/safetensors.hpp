#pragma once
// safetensors files: an 8-byte little-endian header length N, N bytes of JSON describing each
// tensor (dtype, shape, byte range), then the tensors' bytes back to back. The format used by
// Hugging Face checkpoints and by this project's reference data.
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/detail/shape.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/tensor_data.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparse_distill::io {

/// The contents of one safetensors file.
struct safetensors_file {
    std::map<std::string, tensor_data> tensors;
    std::map<std::string, std::string> metadata;  ///< The optional "__metadata__" entry.
    std::filesystem::path path;                   ///< Where it was read from, for error messages.

    /// The tensor called `name`; throws io_error naming the file and listing the available names.
    const tensor_data& at(std::string_view name) const {
        const auto found = tensors.find(std::string(name));
        if (found != tensors.end()) return found->second;
        std::string available;
        for (const auto& [key, tensor] : tensors) available += (available.empty() ? "'" : ", '") + key + "'";
        throw io_error(path, "tensor '" + std::string(name) + "'",
                       "not found; available: " + (available.empty() ? std::string("none") : available));
    }
};

namespace detail {

inline constexpr std::array<std::pair<std::string_view, dtype>, 6> safetensors_dtypes{{
    {"F64", dtype::f64}, {"F32", dtype::f32}, {"F16", dtype::f16},
    {"BF16", dtype::bf16}, {"I64", dtype::i64}, {"I32", dtype::i32},
}};

inline std::string_view safetensors_dtype_name(dtype type) {
    for (const auto& [name, known] : safetensors_dtypes)
        if (known == type) return name;
    return "unknown";
}

struct safetensors_entry {
    std::string name;
    dtype type;
    std::vector<std::int64_t> shape;
    std::uint64_t begin, end;
};

inline std::uint64_t json_unsigned(const nlohmann::json& value, const std::filesystem::path& file,
                                   const std::string& field, std::string_view what) {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    if (value.is_number_integer() && value.get<std::int64_t>() < 0)
        throw io_error(file, field, "expected a non-negative " + std::string(what) + ", found " + value.dump());
    throw io_error(file, field, "expected a non-negative integer " + std::string(what) + ", found " + value.dump());
}

inline safetensors_entry parse_safetensors_entry(const std::string& name, const nlohmann::json& info,
                                                 const std::filesystem::path& file) {
    const std::string where = "tensor '" + name + "'";
    if (!info.is_object()) throw io_error(file, where, "expected an object, found " + info.dump());
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!info.contains(key)) throw io_error(file, where + " " + key, "missing");

    safetensors_entry entry{name, dtype::f32, {}, 0, 0};
    const auto& type = info["dtype"];
    if (!type.is_string()) throw io_error(file, where + " dtype", "expected a string, found " + type.dump());
    const auto known = std::find_if(safetensors_dtypes.begin(), safetensors_dtypes.end(),
                                    [&](const auto& pair) { return pair.first == type.get_ref<const std::string&>(); });
    if (known == safetensors_dtypes.end())
        throw io_error(file, where + " dtype",
                       "unsupported dtype " + type.dump() + "; expected one of F64, F32, F16, BF16, I64, I32");
    entry.type = known->second;

    const auto& shape = info["shape"];
    if (!shape.is_array()) throw io_error(file, where + " shape", "expected an array, found " + shape.dump());
    for (const auto& extent : shape) {
        const auto value = json_unsigned(extent, file, where + " shape", "extent");
        if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            throw io_error(file, where + " shape", "extent " + extent.dump() + " does not fit in 64 bits");
        entry.shape.push_back(static_cast<std::int64_t>(value));
    }

    const auto& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
        throw io_error(file, where + " data_offsets", "expected [begin, end], found " + offsets.dump());
    entry.begin = json_unsigned(offsets[0], file, where + " data_offsets", "begin");
    entry.end = json_unsigned(offsets[1], file, where + " data_offsets", "end");
    if (entry.begin > entry.end)
        throw io_error(file, where + " data_offsets",
                       "expected begin <= end, found [" + std::to_string(entry.begin) + ", " +
                           std::to_string(entry.end) + "]");
    const auto expected = byte_count(entry.shape, dtype_size(entry.type));
    if (!expected)
        throw io_error(file, where + " shape", shape_string(entry.shape) + " overflows the byte count");
    if (entry.end - entry.begin != *expected)
        throw io_error(file, where + " data_offsets",
                       "expected " + std::to_string(*expected) + " bytes for " + type.get<std::string>() + " " +
                           shape_string(entry.shape) + ", found " + std::to_string(entry.end - entry.begin));
    return entry;
}

}  // namespace detail

/// Reads every tensor and the metadata of a safetensors file with dtypes F64, F32, F16, BF16, I64
/// and I32. Validates the header length, the JSON, each dtype, shape and byte range, and that the
/// byte ranges tile the data section exactly; any violation throws io_error naming file, tensor
/// and field.
inline safetensors_file read_safetensors(const std::filesystem::path& path) {
    detail::file_reader reader(path);
    if (reader.size() < 8)
        throw io_error(path, "header length",
                       "expected an 8-byte header length, the file has only " + std::to_string(reader.size()) + " bytes");
    std::array<std::byte, 8> length_bytes{};
    reader.read(0, length_bytes, "header length");
    const auto header_length = detail::load_le<std::uint64_t>(length_bytes.data());
    if (header_length > reader.size() - 8)
        throw io_error(path, "header length",
                       "header of " + std::to_string(header_length) + " bytes runs past the end of the file (" +
                           std::to_string(reader.size()) + " bytes)");
    std::string header_text(header_length, '\0');
    reader.read(8, std::as_writable_bytes(std::span(header_text)), "header");

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(header_text);
    } catch (const nlohmann::json::parse_error& error) {
        throw io_error(path, "header", std::string("invalid JSON: ") + error.what());
    }
    if (!header.is_object()) throw io_error(path, "header", "expected a JSON object, found " + header.dump());

    safetensors_file file;
    file.path = path;
    std::vector<detail::safetensors_entry> entries;
    for (const auto& [name, info] : header.items()) {
        if (name == "__metadata__") {
            if (!info.is_object()) throw io_error(path, "__metadata__", "expected an object, found " + info.dump());
            for (const auto& [key, value] : info.items()) {
                if (!value.is_string())
                    throw io_error(path, "__metadata__ '" + key + "'", "expected a string, found " + value.dump());
                file.metadata.emplace(key, value.get<std::string>());
            }
            continue;
        }
        entries.push_back(detail::parse_safetensors_entry(name, info, path));
    }

    // The format requires the byte ranges to cover the data section with no gap and no overlap,
    // so that a file cannot hide extra content between tensors.
    const std::uint64_t data_start = 8 + header_length;
    const std::uint64_t data_size = reader.size() - data_start;
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
    });
    std::uint64_t covered = 0;
    for (const auto& entry : entries) {
        const std::string field = "tensor '" + entry.name + "' data_offsets";
        if (entry.end > data_size)
            throw io_error(path, field,
                           "range [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                               ") is past the end of the data section (" + std::to_string(data_size) + " bytes)");
        if (entry.begin != covered)
            throw io_error(path, field,
                           "expected the range to start at " + std::to_string(covered) + " (" +
                               (entry.begin < covered ? "overlap" : "gap") + "), found " + std::to_string(entry.begin));
        covered = entry.end;
    }
    if (covered != data_size)
        throw io_error(path, "data",
                       "the tensors cover " + std::to_string(covered) + " bytes, but the data section has " +
                           std::to_string(data_size));

    for (auto& entry : entries) {
        tensor_data tensor{std::move(entry.shape), entry.type, std::vector<std::byte>(entry.end - entry.begin)};
        reader.read(data_start + entry.begin, tensor.bytes, "tensor '" + entry.name + "' data");
        file.tensors.emplace(entry.name, std::move(tensor));
    }
    return file;
}

/// Writes `tensors` (laid out in name order) and `metadata` as a safetensors file whose header is
/// padded with spaces to a multiple of 8 bytes. Writes "<path>.tmp" and renames it over `path`.
inline void write_safetensors(const std::filesystem::path& path, const std::map<std::string, tensor_data>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
    // ordered_json keeps "__metadata__" first and the tensors in the order their bytes follow.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        if (name == "__metadata__") throw io_error(path, "tensor '__metadata__'", "the name is reserved for metadata");
        detail::check_byte_size(tensor, path.string() + ": tensor '" + name + "'");
        header[name] = {{"dtype", detail::safetensors_dtype_name(tensor.type)},
                        {"shape", tensor.shape},
                        {"data_offsets", {offset, offset + tensor.bytes.size()}}};
        offset += tensor.bytes.size();
    }
    std::string header_text;
    try {
        header_text = header.dump();
    } catch (const nlohmann::json::type_error& error) {
        throw io_error(path, "header", std::string("a name or metadata entry is not valid UTF-8: ") + error.what());
    }
    header_text.resize((header_text.size() + 7) / 8 * 8, ' ');

    std::array<std::byte, 8> length_bytes{};
    detail::store_le(length_bytes.data(), static_cast<std::uint64_t>(header_text.size()));
    std::vector<std::span<const std::byte>> pieces{length_bytes, std::as_bytes(std::span(header_text))};
    for (const auto& [name, tensor] : tensors) pieces.emplace_back(tensor.bytes);
    detail::write_atomically(path, pieces);
}

}  // namespace sparse_distill::io
