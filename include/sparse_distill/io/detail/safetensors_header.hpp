#pragma once
// The safetensors header: its length prefix and its JSON, validated in full before a single tensor
// byte is read or allocated. Every size here comes from an untrusted file, so each is checked
// against the real byte count, and the JSON parser is bounded in depth and rejects duplicate keys
// (nlohmann keeps the last duplicate silently, which would let two readers disagree on a file).
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/detail/shape.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/tensor_data.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparse_distill::io {

/// Where one tensor of a safetensors file lies, as its header describes it (already validated).
struct safetensors_tensor_info {
    dtype type = dtype::f32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0;  ///< Byte range [begin, end) within the data section.
    std::uint64_t end = 0;
};

namespace detail {

// The safetensors Rust library refuses headers above 100 MB; so do we, before allocating them.
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

// A valid header nests three levels (object → tensor object → shape array); a little slack keeps
// the messages about wrongly typed fields meaningful, while a hostile "[[[[…" stops early.
inline constexpr int safetensors_max_json_depth = 6;

inline constexpr std::array<std::pair<std::string_view, dtype>, 7> safetensors_dtypes{{
    {"F64", dtype::f64}, {"F32", dtype::f32}, {"F16", dtype::f16},
    {"BF16", dtype::bf16}, {"I64", dtype::i64}, {"I32", dtype::i32}, {"U8", dtype::u8},
}};

inline std::string_view safetensors_dtype_name(dtype type) {
    for (const auto& [name, known] : safetensors_dtypes)
        if (known == type) return name;
    return "unknown";
}

struct safetensors_header {
    std::map<std::string, safetensors_tensor_info> tensors;
    std::map<std::string, std::string> metadata;
};

// A short rendering of a JSON value for an error message: a hostile header may put megabytes where
// a number belongs, and the message should stay readable.
inline std::string json_excerpt(const nlohmann::json& value) {
    constexpr std::size_t limit = 80;
    if ((value.is_array() || value.is_object()) && value.size() > 16)
        return std::string(value.is_array() ? "an array" : "an object") + " of " + std::to_string(value.size()) +
               " entries";
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > limit) text = text.substr(0, limit) + "...";
    return text;
}

inline std::string name_excerpt(std::string_view name) {
    constexpr std::size_t limit = 200;
    return name.size() > limit ? std::string(name.substr(0, limit)) + "..." : std::string(name);
}

// "tensor 'w'" or "__metadata__", the field prefix of every message about a top-level entry.
inline std::string safetensors_field(std::string_view key) {
    return key == "__metadata__" ? std::string("__metadata__") : "tensor '" + name_excerpt(key) + "'";
}

// Checks the 8-byte length prefix against the bytes that follow it.
inline void check_safetensors_header_length(std::uint64_t header_length, std::uint64_t total_size,
                                            const std::filesystem::path& file) {
    if (header_length > safetensors_max_header_bytes)
        throw io_error(file, "header length",
                       "header of " + std::to_string(header_length) + " bytes exceeds the limit of " +
                           std::to_string(safetensors_max_header_bytes) + " bytes");
    if (header_length > total_size - 8)
        throw io_error(file, "header length",
                       "header of " + std::to_string(header_length) + " bytes runs past the end of the file (" +
                           std::to_string(total_size) + " bytes)");
}

inline nlohmann::json parse_safetensors_json(std::string_view text, const std::filesystem::path& file) {
    using event_t = nlohmann::json::parse_event_t;
    std::vector<std::set<std::string>> open_objects;  // keys seen so far in each enclosing object
    std::string top_key;
    auto check = [&](int depth, event_t event, nlohmann::json& parsed) {
        switch (event) {
            case event_t::object_start:
            case event_t::array_start:
                if (depth >= safetensors_max_json_depth)
                    throw io_error(file, top_key.empty() ? std::string("header") : safetensors_field(top_key),
                                   "JSON nested deeper than " + std::to_string(safetensors_max_json_depth) +
                                       " levels; expected {name: {dtype, shape, data_offsets}}");
                if (event == event_t::object_start) open_objects.emplace_back();
                break;
            case event_t::object_end:
                if (!open_objects.empty()) open_objects.pop_back();
                break;
            case event_t::key: {
                const auto& key = parsed.get_ref<const std::string&>();
                if (open_objects.size() == 1) top_key = key;
                if (!open_objects.empty() && !open_objects.back().insert(key).second) {
                    const auto field = open_objects.size() == 1
                                           ? safetensors_field(key)
                                           : safetensors_field(top_key) + " '" + name_excerpt(key) + "'";
                    throw io_error(file, field, "appears twice in the header; expected unique keys");
                }
                break;
            }
            default: break;
        }
        return true;
    };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), check);
    } catch (const nlohmann::json::exception& error) {
        throw io_error(file, "header", std::string("invalid JSON: ") + error.what());
    }
}

inline std::uint64_t json_unsigned(const nlohmann::json& value, const std::filesystem::path& file,
                                   const std::string& field, std::string_view what) {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    if (value.is_number_integer() && value.get<std::int64_t>() < 0)
        throw io_error(file, field, "expected a non-negative " + std::string(what) + ", found " + json_excerpt(value));
    throw io_error(file, field,
                   "expected a non-negative integer " + std::string(what) + ", found " + json_excerpt(value));
}

inline safetensors_tensor_info parse_safetensors_entry(const std::string& name, const nlohmann::json& info,
                                                       const std::filesystem::path& file) {
    const std::string where = safetensors_field(name);
    if (!info.is_object()) throw io_error(file, where, "expected an object, found " + json_excerpt(info));
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!info.contains(key)) throw io_error(file, where + " " + key, "missing");

    safetensors_tensor_info entry;
    const auto& type = info["dtype"];
    if (!type.is_string()) throw io_error(file, where + " dtype", "expected a string, found " + json_excerpt(type));
    const auto known = std::find_if(safetensors_dtypes.begin(), safetensors_dtypes.end(), [&](const auto& pair) {
        return pair.first == type.get_ref<const std::string&>();
    });
    if (known == safetensors_dtypes.end())
        throw io_error(file, where + " dtype",
                       "unsupported dtype " + json_excerpt(type) + "; expected one of F64, F32, F16, BF16, I64, I32");
    entry.type = known->second;

    const auto& shape = info["shape"];
    if (!shape.is_array()) throw io_error(file, where + " shape", "expected an array, found " + json_excerpt(shape));
    // As in the Rust library, the running product must fit in 64 bits in order, zeros included, so
    // that numel() of any shape we accept cannot overflow.
    constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    std::uint64_t count = 1;
    for (const auto& extent : shape) {
        const auto value = json_unsigned(extent, file, where + " shape", "extent");
        if (value > int64_max)
            throw io_error(file, where + " shape", "extent " + extent.dump() + " does not fit in a signed 64-bit integer");
        if (value != 0 && count > int64_max / value)
            throw io_error(file, where + " shape",
                           "the element count of " + json_excerpt(shape) + " overflows a signed 64-bit integer");
        count *= value;
        entry.shape.push_back(static_cast<std::int64_t>(value));
    }

    const auto& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2)
        throw io_error(file, where + " data_offsets", "expected [begin, end], found " + json_excerpt(offsets));
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
                       "expected " + std::to_string(*expected) + " bytes for " + std::string(known->first) + " " +
                           shape_string(entry.shape) + ", found " + std::to_string(entry.end - entry.begin));
    return entry;
}

// Parses and validates the JSON header of a file whose data section holds `data_size` bytes: every
// entry well formed, and the byte ranges tiling the data section exactly.
inline safetensors_header parse_safetensors_header(std::string_view text, std::uint64_t data_size,
                                                   const std::filesystem::path& file) {
    const auto json = parse_safetensors_json(text, file);
    if (!json.is_object()) throw io_error(file, "header", "expected a JSON object, found " + json_excerpt(json));

    safetensors_header header;
    for (const auto& [name, info] : json.items()) {
        if (name == "__metadata__") {
            if (!info.is_object())
                throw io_error(file, "__metadata__", "expected an object of strings, found " + json_excerpt(info));
            for (const auto& [key, value] : info.items()) {
                if (!value.is_string())
                    throw io_error(file, "__metadata__ '" + name_excerpt(key) + "'",
                                   "expected a string, found " + json_excerpt(value));
                header.metadata.emplace(key, value.get<std::string>());
            }
            continue;
        }
        header.tensors.emplace(name, parse_safetensors_entry(name, info, file));
    }

    // The format requires the byte ranges to cover the data section with no gap and no overlap, so
    // that a file cannot hide content between tensors or alias one tensor's bytes as another's.
    std::vector<std::pair<const std::string*, const safetensors_tensor_info*>> order;
    order.reserve(header.tensors.size());
    for (const auto& [name, info] : header.tensors) order.emplace_back(&name, &info);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return std::pair(a.second->begin, a.second->end) < std::pair(b.second->begin, b.second->end);
    });
    std::uint64_t covered = 0;
    for (const auto& [name, info] : order) {
        const std::string field = safetensors_field(*name) + " data_offsets";
        if (info->end > data_size)
            throw io_error(file, field,
                           "range [" + std::to_string(info->begin) + ", " + std::to_string(info->end) +
                               ") is past the end of the data section (" + std::to_string(data_size) + " bytes)");
        if (info->begin != covered)
            throw io_error(file, field,
                           "expected the range to start at " + std::to_string(covered) + " (" +
                               (info->begin < covered ? "overlap" : "gap") + "), found " +
                               std::to_string(info->begin));
        covered = info->end;
    }
    if (covered != data_size)
        throw io_error(file, "data",
                       "the tensors cover " + std::to_string(covered) + " bytes, but the data section has " +
                           std::to_string(data_size));
    return header;
}

// "'a', 'b', 'c'" (at most `limit` names, then "and N more"), or "none".
template <class Map>
std::string list_names(const Map& entries, std::size_t limit = 24) {
    std::string text;
    std::size_t shown = 0;
    for (const auto& entry : entries) {
        if (shown == limit) {
            text += " and " + std::to_string(entries.size() - limit) + " more";
            break;
        }
        text += (text.empty() ? "'" : ", '") + name_excerpt(entry.first) + "'";
        ++shown;
    }
    return text.empty() ? std::string("none") : text;
}

}  // namespace detail
}  // namespace sparse_distill::io
