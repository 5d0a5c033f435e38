#pragma once
// The sentencepiece-style BPE tokenizer of llama2.c ("tokenizer.bin" format): byte-fallback
// encoding with greedy highest-score merges, and UTF-8 safe decoding.
#include "../config.hpp"
#include "sparse_distill/io/detail/byte_order.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/lm/detail/bpe_merge.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sparse_distill::lm {

/// Tokens are ids 0..vocab_size−1: 0 `<unk>`, 1 BOS, 2 EOS, 3..258 the bytes 0x00..0xFF, then
/// merged pieces whose score is their merge priority.
class tokenizer {
public:
    static constexpr int unk = 0;
    static constexpr int bos = 1;
    static constexpr int eos = 2;
    static constexpr int first_byte_token = 3;  ///< id of byte 0x00; byte b is id b + 3

    /// Reads a llama2.c tokenizer file: int32 max_token_length, then until the end of the file one
    /// record per token: float32 score, int32 length, `length` bytes. The number of tokens is
    /// whatever the file holds (llama2.c takes it from the model; compare with the model's
    /// vocab_size). Checks lengths (1..max_token_length), truncation, finite scores and that ids
    /// 3..258 are the byte tokens `<0x00>`..`<0xFF>`; problems throw io::io_error.
    static tokenizer read(const std::filesystem::path& path);

    /// Token ids of `text`: [BOS] + pieces of " " + text + [EOS]. The space is sentencepiece's
    /// dummy prefix (only added to non-empty text). Each UTF-8 character (a lead byte and up to
    /// three continuation bytes) becomes its token if there is one, else one byte token per byte
    /// (id = byte + 3); then, while some adjacent pair concatenates to a token, the pair whose token
    /// has the highest score (leftmost on ties) is merged. Any byte string encodes; invalid UTF-8
    /// falls back to bytes.
    std::vector<int> encode(std::string_view text, bool bos = true, bool eos = false) const;

    /// The text of `ids`: pieces concatenated, byte tokens as raw bytes (so multi-byte characters
    /// split over byte tokens come back whole), BOS and EOS as nothing, and the leading space of the
    /// token right after a BOS removed (the dummy prefix). decode(encode(s)) == s for every s, as
    /// long as no merge produces a special token (true of sentencepiece vocabularies).
    std::string decode(const std::vector<int>& ids) const;

    /// Printable piece for reports: byte tokens as their byte, `<s>`/`</s>`/`<unk>` for the
    /// special tokens, other pieces as stored. Throws std::out_of_range for an invalid id.
    std::string piece(int id) const;

    /// The piece exactly as stored in the file.
    const std::string& raw_piece(int id) const { return pieces_.at(checked(id)); }
    /// Merge priority of a token (higher merges first).
    float score(int id) const { return scores_.at(checked(id)); }
    int vocab_size() const { return static_cast<int>(pieces_.size()); }
    int max_token_length() const { return max_token_length_; }

private:
    // unordered_map keyed by std::string but looked up with string_view, so encoding does not
    // allocate a string per candidate pair.
    struct piece_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    tokenizer() = default;
    std::size_t checked(int id) const {
        if (id < 0 || id >= vocab_size())
            throw std::out_of_range("tokenizer: token id " + std::to_string(id) + " outside [0, " +
                                    std::to_string(vocab_size()) + ")");
        return static_cast<std::size_t>(id);
    }
    std::optional<int> find(std::string_view piece) const {
        const auto it = ids_.find(piece);
        return it == ids_.end() ? std::nullopt : std::optional<int>(it->second);
    }

    int max_token_length_ = 0;  // as declared by the file
    std::size_t longest_piece_ = 0;  // as found (a hostile file may declare 2^31 − 1)
    std::vector<std::string> pieces_;
    std::vector<float> scores_;
    std::unordered_map<std::string, int, piece_hash, std::equal_to<>> ids_;
};

namespace detail {

inline std::string byte_token_piece(int byte) {
    std::array<char, 8> text{};
    std::snprintf(text.data(), text.size(), "<0x%02X>", byte);
    return text.data();
}

inline bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace detail

inline tokenizer tokenizer::read(const std::filesystem::path& path) {
    io::detail::file_reader reader(path);
    std::array<std::byte, 8> word{};
    reader.read(0, std::span(word.data(), 4), "max_token_length");
    tokenizer t;
    t.max_token_length_ = io::detail::load_le<std::int32_t>(word.data());
    if (t.max_token_length_ <= 0)
        throw io::io_error(path, "max_token_length", "expected a positive value, found " + std::to_string(t.max_token_length_));

    std::uint64_t offset = 4;
    while (offset < reader.size()) {
        const std::string field = "token " + std::to_string(t.pieces_.size());
        reader.read(offset, word, field + " score and length");
        const auto score = io::detail::load_le<float>(word.data());
        const auto length = io::detail::load_le<std::int32_t>(word.data() + 4);
        if (!std::isfinite(score)) throw io::io_error(path, field + " score", "expected a finite float32, found " + std::to_string(score));
        if (length < 1 || length > t.max_token_length_)
            throw io::io_error(path, field + " length",
                               "expected 1.." + std::to_string(t.max_token_length_) + " (max_token_length), found " +
                                   std::to_string(length));
        if (offset + 8 + static_cast<std::uint64_t>(length) > reader.size())
            throw io::io_error(path, field + " piece",
                               "expected " + std::to_string(length) + " bytes, the file ends first (truncated?)");
        std::string piece(static_cast<std::size_t>(length), '\0');
        reader.read(offset + 8, std::as_writable_bytes(std::span(piece)), field + " piece");
        offset += 8 + static_cast<std::uint64_t>(length);
        t.longest_piece_ = std::max(t.longest_piece_, piece.size());
        t.scores_.push_back(score);
        t.pieces_.push_back(std::move(piece));
    }

    // Byte fallback maps byte b to id b + 3 without looking at the pieces, so the file must agree.
    constexpr int byte_tokens_end = first_byte_token + 256;
    if (t.vocab_size() < byte_tokens_end)
        throw io::io_error(path, "tokens",
                           "expected at least " + std::to_string(byte_tokens_end) + " tokens (3 special, 256 bytes), found " +
                               std::to_string(t.vocab_size()));
    for (int byte = 0; byte < 256; ++byte) {
        const std::string want = detail::byte_token_piece(byte);
        const auto& found = t.pieces_[static_cast<std::size_t>(byte + first_byte_token)];
        if (found != want)
            throw io::io_error(path, "token " + std::to_string(byte + first_byte_token) + " piece",
                               "expected the byte token " + want + ", found \"" + found + "\"");
    }
    // Sentencepiece pieces are unique; should a file repeat one, the lowest id wins (emplace keeps
    // the first), so encoding stays deterministic.
    t.ids_.reserve(t.pieces_.size());
    for (std::size_t id = 0; id < t.pieces_.size(); ++id) t.ids_.emplace(t.pieces_[id], static_cast<int>(id));
    return t;
}

inline std::vector<int> tokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
    std::vector<int> ids;
    ids.reserve(text.size() + 3);
    const auto add_character = [&](std::string_view character) {
        if (const auto id = find(character)) {
            ids.push_back(*id);
            return;
        }
        for (const char byte : character) ids.push_back(static_cast<unsigned char>(byte) + first_byte_token);
    };
    if (!text.empty()) {
        add_character(" ");
        for (std::size_t start = 0; start < text.size();) {
            std::size_t end = start + 1;
            while (end < text.size() && end - start < 4 && detail::is_utf8_continuation(text[end])) ++end;
            add_character(text.substr(start, end - start));
            start = end;
        }
    }

    std::string joined;
    joined.reserve(2 * longest_piece_);
    detail::merge_greedy(
        ids,
        [&](int left, int right) -> std::optional<detail::bpe_pair_merge> {
            const auto& a = pieces_[static_cast<std::size_t>(left)];
            const auto& b = pieces_[static_cast<std::size_t>(right)];
            if (a.size() + b.size() > longest_piece_) return std::nullopt;  // no token is that long
            joined.assign(a).append(b);
            const std::optional<int> merged = find(joined);
            if (!merged) return std::nullopt;
            return detail::bpe_pair_merge{scores_[static_cast<std::size_t>(*merged)], *merged};
        });

    if (add_bos) ids.insert(ids.begin(), bos);
    if (add_eos) ids.push_back(eos);
    return ids;
}

inline std::string tokenizer::decode(const std::vector<int>& ids) const {
    std::string text;
    bool after_bos = false;
    for (const int id : ids) {
        const std::size_t at = checked(id);
        if (id == bos || id == eos) {
            after_bos = id == bos;
            continue;
        }
        const bool byte_token = id >= first_byte_token && id < first_byte_token + 256;
        std::string_view piece = byte_token ? std::string_view() : std::string_view(pieces_[at]);
        if (byte_token) {
            const char byte = static_cast<char>(id - first_byte_token);
            // llama2.c only strips a space piece; a dummy prefix that fell back to <0x20> (a
            // vocabulary without " ") is stripped too, so decode still inverts encode.
            if (!(after_bos && byte == ' ')) text += byte;
        } else {
            if (after_bos && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
            text += piece;
        }
        after_bos = false;
    }
    return text;
}

inline std::string tokenizer::piece(int id) const {
    const std::size_t at = checked(id);
    if (id == unk) return "<unk>";
    if (id == bos) return "<s>";
    if (id == eos) return "</s>";
    if (id >= first_byte_token && id < first_byte_token + 256) return std::string(1, static_cast<char>(id - first_byte_token));
    return pieces_[at];
}

}  // namespace sparse_distill::lm
