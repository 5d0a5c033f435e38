#pragma once
// What a training source may offer beyond batches, detected at compile time:
//   std::uint64_t position() const; void seek(std::uint64_t)     its position as one number
//   nlohmann::json save_position() const; void restore_position(const nlohmann::json&)
//                                                                 or as a JSON value (several counters, RNG state)
//   std::string describe_row(index_t batch_row) const             where a row of the last batch came from
//   std::uint64_t rows_consumed() const                           rows handed out since position zero, over
//                                                                 every pass: a checkpoint cross-checks it
//                                                                 against the tokens trained on
// A checkpoint stores the position so a resumed run sees the same batches; describe_row lets a
// numerical fault name the file and row of a bad value.
#include "../io/error.hpp"
#include "../tensor/matrix.hpp"

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace sparse_distill {

/// A source whose position is one number: position() and seek(position).
template <class Source>
concept source_with_position = requires(const Source& c, Source& s, std::uint64_t p) {
    { c.position() } -> std::convertible_to<std::uint64_t>;
    s.seek(p);
};

/// A source whose position is a JSON value: save_position() and restore_position(value).
template <class Source>
concept source_with_saved_position = requires(const Source& c, Source& s, const nlohmann::json& j) {
    { c.save_position() } -> std::convertible_to<nlohmann::json>;
    s.restore_position(j);
};

/// A source that can say where row r of its last batch came from ("shard_3.npy row 1200").
template <class Source>
concept source_describing_rows = requires(const Source& c, index_t r) {
    { c.describe_row(r) } -> std::convertible_to<std::string>;
};

/// A source that counts the rows it has handed out (never wrapping to zero): one batch of b rows
/// adds b, so a resumed run can check that the restored position agrees with the tokens trained on.
template <class Source>
concept source_counting_rows = requires(const Source& c) {
    { c.rows_consumed() } -> std::convertible_to<std::uint64_t>;
};

/// Either kind of position: what checkpointing needs.
template <class Source>
concept resumable_source = source_with_position<Source> || source_with_saved_position<Source>;

/// The source's position as stored in a checkpoint: {"position": N} or {"state": <save_position()>}.
template <resumable_source Source>
nlohmann::json save_source_position(const Source& source) {
    if constexpr (source_with_saved_position<Source>)
        return {{"state", source.save_position()}};
    else
        return {{"position", static_cast<std::uint64_t>(source.position())}};
}

/// Moves `source` to a position saved by save_source_position. Throws io::io_error naming `file`
/// and the field when the value has the wrong form or the source refuses it.
template <resumable_source Source>
void restore_source_position(Source& source, const nlohmann::json& saved, const std::filesystem::path& file) {
    try {
        if constexpr (source_with_saved_position<Source>) {
            if (!saved.is_object() || !saved.contains("state"))
                throw io::io_error(file, "source_position", "expected {\"state\": ...}, found " + saved.dump());
            source.restore_position(saved.at("state"));
        } else {
            const bool counted = saved.is_object() && saved.contains("position") &&
                                 (saved.at("position").is_number_unsigned() ||
                                  (saved.at("position").is_number_integer() && saved.at("position").get<std::int64_t>() >= 0));
            if (!counted)
                throw io::io_error(file, "source_position",
                                   "expected {\"position\": <non-negative integer>}, found " + saved.dump());
            source.seek(saved.at("position").get<std::uint64_t>());
        }
    } catch (const io::io_error&) {
        throw;
    } catch (const std::exception& refused) {
        throw io::io_error(file, "source_position", std::string("the source refused ") + saved.dump() + ": " + refused.what());
    }
}

}  // namespace sparse_distill
