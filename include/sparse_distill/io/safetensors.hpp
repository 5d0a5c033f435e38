#pragma once
// safetensors files: an 8-byte little-endian header length N, N bytes of JSON describing each
// tensor (dtype, shape, byte range), then the tensors' bytes back to back. The format used by
// Hugging Face checkpoints and by this project's reference data.
#include "../config.hpp"
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/detail/safetensors_header.hpp"
#include "sparse_distill/io/detail/shape.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/tensor_data.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
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
        throw io_error(path, "tensor '" + std::string(name) + "'", "not found; available: " + detail::list_names(tensors));
    }
};

/// Parses a whole safetensors file held in memory; `name_for_errors` stands for the file in
/// messages. Validates the header length (at most 100 MB and within `bytes`), the JSON (bounded
/// depth, unique keys), each dtype, shape and byte range, and that the ranges tile the data section
/// exactly; any violation throws io_error "<name>: <tensor/field>: <expected vs found>". Nothing is
/// allocated from a size before it is checked against bytes.size(), so any byte string is safe.
inline safetensors_file parse_safetensors(std::span<const std::byte> bytes, const std::filesystem::path& name_for_errors) {
    const auto& path = name_for_errors;
    if (bytes.size() < 8)
        throw io_error(path, "header length",
                       "expected an 8-byte header length, the file has only " + std::to_string(bytes.size()) + " bytes");
    const auto header_length = detail::load_le<std::uint64_t>(bytes.data());
    detail::check_safetensors_header_length(header_length, bytes.size(), path);
    const std::string_view header_text(reinterpret_cast<const char*>(bytes.data()) + 8, static_cast<std::size_t>(header_length));
    const auto data = bytes.subspan(8 + static_cast<std::size_t>(header_length));
    auto header = detail::parse_safetensors_header(header_text, data.size(), path);

    safetensors_file file;
    file.path = path;
    file.metadata = std::move(header.metadata);
    for (auto& [name, info] : header.tensors) {
        const auto range = data.subspan(static_cast<std::size_t>(info.begin), static_cast<std::size_t>(info.end - info.begin));
        file.tensors.emplace(name, tensor_data{std::move(info.shape), info.type, {range.begin(), range.end()}});
    }
    return file;
}

/// Reads a safetensors file's header on construction and its tensors on demand, so that one layer
/// of a large checkpoint can be imported without reading the rest. The header is validated as by
/// parse_safetensors before any tensor is read.
class safetensors_reader {
public:
    explicit safetensors_reader(const std::filesystem::path& path) : path_(path), reader_(path) {
        if (reader_.size() < 8)
            throw io_error(path, "header length",
                           "expected an 8-byte header length, the file has only " + std::to_string(reader_.size()) + " bytes");
        std::array<std::byte, 8> length_bytes{};
        reader_.read(0, length_bytes, "header length");
        const auto header_length = detail::load_le<std::uint64_t>(length_bytes.data());
        detail::check_safetensors_header_length(header_length, reader_.size(), path);
        std::string header_text(static_cast<std::size_t>(header_length), '\0');
        reader_.read(8, std::as_writable_bytes(std::span(header_text)), "header");
        data_start_ = 8 + header_length;
        header_ = detail::parse_safetensors_header(header_text, reader_.size() - data_start_, path);
    }

    const std::filesystem::path& path() const { return path_; }
    /// Every tensor's dtype, shape and byte range, by name.
    const std::map<std::string, safetensors_tensor_info>& tensors() const { return header_.tensors; }
    /// The "__metadata__" entry (empty when absent).
    const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
    bool contains(std::string_view name) const { return header_.tensors.count(std::string(name)) != 0; }

    /// The header entry of `name`; throws io_error naming the file and listing the available names.
    const safetensors_tensor_info& info(std::string_view name) const {
        const auto found = header_.tensors.find(std::string(name));
        if (found != header_.tensors.end()) return found->second;
        throw io_error(path_, "tensor '" + std::string(name) + "'",
                       "not found; available: " + detail::list_names(header_.tensors));
    }

    /// The tensor called `name`, read from the file.
    tensor_data read(std::string_view name) {
        const auto& entry = info(name);
        tensor_data tensor{entry.shape, entry.type, std::vector<std::byte>(entry.end - entry.begin)};
        reader_.read(data_start_ + entry.begin, tensor.bytes, "tensor '" + std::string(name) + "' data");
        return tensor;
    }

private:
    std::filesystem::path path_;
    detail::file_reader reader_;
    detail::safetensors_header header_;
    std::uint64_t data_start_ = 0;
};

/// Reads every tensor and the metadata of a safetensors file with dtypes F64, F32, F16, BF16, I64
/// and I32, validated as by parse_safetensors; any violation throws io_error naming file, tensor
/// and field.
inline safetensors_file read_safetensors(const std::filesystem::path& path) {
    safetensors_reader reader(path);
    safetensors_file file;
    file.path = path;
    file.metadata = reader.metadata();
    for (const auto& [name, info] : reader.tensors()) file.tensors.emplace(name, reader.read(name));
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
