#pragma once
// Hugging Face tokenizer.json tokenizers of the two BPE kinds that small language models use:
// byte-level BPE (GPT-2, GPT-Neo, SmolLM) and SentencePiece-style BPE with byte fallback (Llama 1/2,
// TinyLlama, Mistral). Encoding and decoding, as the `tokenizers` library does it for these files.
#include "../config.hpp"
#include "sparse_distill/io/error.hpp"
#include "sparse_distill/io/text_file.hpp"
#include "sparse_distill/lm/detail/bpe_merge.hpp"
#include "sparse_distill/lm/detail/byte_level.hpp"
#include "sparse_distill/lm/detail/hf_pipeline_steps.hpp"
#include "sparse_distill/lm/detail/tokenizer_json.hpp"
#include "sparse_distill/lm/detail/utf8.hpp"
#include "sparse_distill/lm/tokenizer.hpp"  // detail::byte_token_piece: "<0xAB>", as llama2.c writes it too

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
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

/// The two kinds of tokenizer.json that hf_tokenizer reads.
enum class hf_tokenizer_kind {
    byte_level_bpe,     ///< GPT-2's: bytes as printable characters, GPT-2's split pattern
    sentencepiece_bpe,  ///< Llama's: "▁" for spaces, characters outside the vocabulary as <0xAB> byte tokens
};

/// A BPE tokenizer read from a Hugging Face tokenizer.json. Merges are ranked by their position in
/// model.merges (the pair listed first merges first; on ties the leftmost pair). Special tokens are
/// never added by encode and never recognised in text: "<|endoftext|>" in the input is six ordinary
/// pieces of text, as GPT-2's reference encoder has it; document_start_token() says what to put
/// between documents.
class hf_tokenizer {
public:
    /// Reads `tokenizer_json`. Anything outside the two kinds (another model type, an unknown
    /// normalizer, pre-tokenizer or decoder, merges naming tokens not in the vocabulary, two tokens with
    /// one id, malformed JSON) throws io::io_error "<file>: <field>: expected …, found …".
    static hf_tokenizer read(const std::filesystem::path& tokenizer_json);

    /// Token ids of `text` (any bytes; malformed UTF-8 is encoded byte by byte and decodes back).
    /// Byte-level: GPT-2's pattern cuts the text into words (after Digits, if the file has it), each
    /// word's bytes start as single-byte tokens and merge. SentencePiece-style: spaces become "▁",
    /// one "▁" is prepended (with the Metaspace pre-tokenizer only when the text does not start with a
    /// space), each character starts as its token or, outside the vocabulary, as its UTF-8 bytes'
    /// <0xAB> tokens, and they merge.
    std::vector<int> encode(std::string_view text) const;

    /// The text of `ids`: the bytes each token stands for, concatenated (byte tokens as raw bytes, so a
    /// character split over several comes back whole; special tokens as their text, "<s>"), and for the
    /// SentencePiece kind the leading space(s) the decoder's Strip removes. decode(encode(s)) == s for
    /// a byte-level tokenizer without add_prefix_space, and for the SentencePiece kind when s does not
    /// start with a space or the file prepends with a normalizer. Throws std::out_of_range for an id
    /// that is no token.
    std::string decode(const std::vector<int>& ids) const;

    /// Largest id of model.vocab and added_tokens, plus one.
    int vocab_size() const { return static_cast<int>(texts_.size()); }

    /// The token to put before each document: the special token the post_processor's template puts
    /// before a single sequence (Llama's "<s>"), else the added token "<|endoftext|>" (GPT-2 and
    /// GPT-Neo models were trained on documents separated by it), else none.
    std::optional<int> document_start_token() const { return document_start_; }

    /// Printable piece for reports: the text the token stands for (" the" for GPT-2's "Ġthe" and
    /// Llama's "▁the", one raw byte for a byte token, "<s>" for a special token). Throws
    /// std::out_of_range for an id that is no token.
    std::string piece(int id) const { return texts_[checked(id)]; }

    hf_tokenizer_kind kind() const { return steps_.byte_level ? hf_tokenizer_kind::byte_level_bpe : hf_tokenizer_kind::sentencepiece_bpe; }

private:
    // unordered_map keyed by std::string, looked up with string_view: no string per lookup.
    struct text_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct pair_merge {
        int rank;
        int merged_id;
    };
    // Ids live far below 2^24 in every tokenizer there is; a larger one is a broken file, and refusing
    // it keeps a hostile file from making texts_ huge.
    static constexpr std::int64_t id_limit = std::int64_t{1} << 24;

    hf_tokenizer() = default;
    static std::uint64_t pair_key(int left, int right) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
    }
    std::size_t checked(int id) const {
        if (id < 0 || id >= vocab_size() || !defined_[static_cast<std::size_t>(id)])
            throw std::out_of_range("hf_tokenizer: token id " + std::to_string(id) + " is no token (the vocabulary has ids 0.." +
                                    std::to_string(vocab_size() - 1) + ")");
        return static_cast<std::size_t>(id);
    }
    std::optional<int> find(std::string_view text) const {
        const auto it = ids_.find(text);
        return it == ids_.end() ? std::nullopt : std::optional<int>(it->second);
    }
    // Merges `word` (initial symbols) and appends the result to `ids`; ignore_merges: a word that is a
    // token as a whole is that token.
    void append_word(std::string_view word_text, std::vector<int>& word, std::vector<int>& ids) const;

    detail::hf_pipeline_steps steps_;
    bool ignore_merges_ = false;
    // Per id: the text it decodes to (bytes), whether it is a token at all (ids may have gaps).
    std::vector<std::string> texts_;
    std::vector<char> defined_;
    // model.vocab by the text encoding looks up: the bytes (byte-level) or the piece with "▁" (SentencePiece).
    std::unordered_map<std::string, int, text_hash, std::equal_to<>> ids_;
    // The token each byte starts as: its byte-level character's token, or its <0xAB> token.
    std::array<int, 256> byte_ids_{};
    std::unordered_map<std::uint64_t, pair_merge> merges_;
    std::optional<int> document_start_;
};

inline hf_tokenizer hf_tokenizer::read(const std::filesystem::path& path) {
    const std::string text = io::read_text_file(path);
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& error) {
        throw io::io_error(path, "file", std::string("expected JSON: ") + error.what());
    }
    const detail::json_field root(path, document);
    root.require_object();
    const detail::json_field model = root["model"];
    model.require_object();
    detail::require_type(model, {"BPE"}, "only BPE models are supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        const detail::json_field affix = model[key];
        if (!affix.missing() && !affix.string().empty()) affix.fail("expected \"\" or null, found " + affix.found());
    }
    const detail::json_field dropout = model["dropout"];
    if (!dropout.missing() && !(dropout.json().is_number() && dropout.json().get<double>() == 0.0))
        dropout.fail("expected null (BPE dropout is for training), found " + dropout.found());
    const bool byte_fallback = model["byte_fallback"].boolean_or(false);

    hf_tokenizer t;
    t.ignore_merges_ = model["ignore_merges"].boolean_or(false);
    t.steps_ = detail::read_hf_pipeline_steps(root, byte_fallback);

    // model.vocab: key (as the file writes it) → id. `keys` keeps the file's form for the merges.
    const detail::json_field vocab = model["vocab"];
    vocab.require_object();
    std::vector<std::string> keys;
    std::unordered_map<std::string, int, text_hash, std::equal_to<>> key_ids;
    key_ids.reserve(vocab.json().size());
    const auto define = [&](const detail::json_field& field, int id, std::string_view text) {
        const auto at = static_cast<std::size_t>(id);
        if (at >= t.texts_.size()) {
            t.texts_.resize(at + 1);
            t.defined_.resize(at + 1, 0);
            keys.resize(at + 1);
        }
        if (t.defined_[at]) field.fail("expected an id of its own, found " + std::to_string(id) + ", the id of \"" + keys[at] + "\" too");
        t.defined_[at] = 1;
        keys[at] = text;
    };
    for (const auto& item : vocab.json().items()) {
        const detail::json_field id_field = vocab[item.key()];
        const int id = static_cast<int>(id_field.index_below(id_limit));
        define(id_field, id, item.key());
        key_ids.emplace(item.key(), id);
    }

    // The text each token decodes to, and the table encoding looks pieces up in.
    for (std::size_t id = 0; id < keys.size(); ++id) {
        if (!t.defined_[id]) continue;
        std::string& decoded = t.texts_[id];
        const std::string_view key = keys[id];
        if (t.steps_.byte_level) {
            for (std::size_t at = 0; at < key.size();) {
                const detail::utf8_character c = detail::next_utf8_character(key, at);
                // A character outside GPT-2's alphabet cannot come from encoding; it decodes as itself.
                if (const auto byte = detail::byte_level_byte(c.code_point))
                    decoded += static_cast<char>(*byte);
                else
                    decoded.append(key.substr(at, c.length));
                at += c.length;
            }
            t.ids_.emplace(decoded, static_cast<int>(id));
        } else {
            for (std::size_t at = 0; at < key.size();) {
                if (key.substr(at).starts_with(detail::metaspace)) {
                    decoded += ' ';
                    at += detail::metaspace.size();
                } else {
                    decoded += key[at++];
                }
            }
            t.ids_.emplace(key, static_cast<int>(id));
        }
    }
    for (int byte = 0; byte < 256; ++byte) {
        std::string key;
        if (t.steps_.byte_level)
            detail::append_utf8(key, detail::byte_level_code_points()[static_cast<std::size_t>(byte)]);
        else
            key = detail::byte_token_piece(byte);
        const auto found = key_ids.find(key);
        if (found == key_ids.end())
            vocab.fail("expected the token \"" + key + "\" for the byte " + detail::byte_token_piece(byte) +
                       (t.steps_.byte_level ? " (byte-level BPE needs all 256)" : " (model.byte_fallback is true)") + ", found none");
        t.byte_ids_[static_cast<std::size_t>(byte)] = found->second;
        if (!t.steps_.byte_level) t.texts_[static_cast<std::size_t>(found->second)] = std::string(1, static_cast<char>(byte));
    }

    // added_tokens: special tokens decode as their content, never through the byte-level alphabet.
    const detail::json_field added = root["added_tokens"];
    std::optional<int> end_of_text;
    for (std::size_t i = 0; !added.missing() && i < added.size(); ++i) {
        const detail::json_field id_field = added[i]["id"];
        const int id = static_cast<int>(id_field.index_below(id_limit));
        const std::string content = added[i]["content"].string();
        const auto at = static_cast<std::size_t>(id);
        const bool in_vocab = at < keys.size() && t.defined_[at];
        if (in_vocab && keys[at] != content)
            added[i]["content"].fail("expected \"" + keys[at] + "\", the token of model.vocab with id " + std::to_string(id) +
                                     ", found \"" + content + "\"");
        if (!in_vocab) define(id_field, id, content);
        t.texts_[at] = content;
        if (content == "<|endoftext|>") end_of_text = id;
    }

    // model.merges: "a b" strings or ["a", "b"] pairs, ranked by position.
    const detail::json_field merges = model["merges"];
    const std::size_t merge_count = merges.size();
    t.merges_.reserve(merge_count);
    for (std::size_t rank = 0; rank < merge_count; ++rank) {
        const detail::json_field entry = merges[rank];
        std::string left, right;
        if (entry.json().is_array()) {
            if (entry.size() != 2) entry.fail("expected a pair [\"a\", \"b\"], found " + entry.found());
            left = entry[std::size_t{0}].string(), right = entry[std::size_t{1}].string();
        } else if (entry.json().is_string()) {
            const std::string pair = entry.string();
            const std::size_t space = pair.find(' ');
            if (space == std::string::npos || pair.find(' ', space + 1) != std::string::npos)
                entry.fail("expected \"a b\" (two tokens and one space), found " + entry.found());
            left = pair.substr(0, space), right = pair.substr(space + 1);
        } else {
            entry.fail("expected \"a b\" or [\"a\", \"b\"], found " + entry.found());
        }
        const auto id_of = [&](const std::string& token) {
            const auto found = key_ids.find(token);
            if (found == key_ids.end()) entry.fail("expected tokens of model.vocab, found \"" + token + "\", which is not one");
            return found->second;
        };
        const int left_id = id_of(left), right_id = id_of(right), merged_id = id_of(left + right);
        // A pair listed twice keeps its last rank, as Hugging Face's tokenizers builds its merge map.
        t.merges_.insert_or_assign(pair_key(left_id, right_id), pair_merge{static_cast<int>(rank), merged_id});
    }

    t.document_start_ = detail::read_template_prefix_token(root["post_processor"], t.vocab_size());
    if (!t.document_start_) t.document_start_ = end_of_text;
    return t;
}

inline void hf_tokenizer::append_word(std::string_view word_text, std::vector<int>& word, std::vector<int>& ids) const {
    if (ignore_merges_) {
        if (const auto id = find(word_text)) {
            ids.push_back(*id);
            return;
        }
    }
    detail::merge_greedy(word, [&](int left, int right) -> std::optional<detail::bpe_pair_merge> {
        const auto found = merges_.find(pair_key(left, right));
        if (found == merges_.end()) return std::nullopt;
        return detail::bpe_pair_merge{-static_cast<double>(found->second.rank), found->second.merged_id};
    });
    ids.insert(ids.end(), word.begin(), word.end());
}

inline std::vector<int> hf_tokenizer::encode(std::string_view text) const {
    std::vector<int> ids, word;
    if (steps_.byte_level) {
        steps_.byte_level_words.pre_tokenize(text, [&](std::string_view piece) {
            word.clear();
            for (const char byte : piece) word.push_back(byte_ids_[static_cast<unsigned char>(byte)]);
            append_word(piece, word, ids);
        });
        return ids;
    }
    const std::string normalized = steps_.metaspace_words.normalize(text);
    steps_.metaspace_words.pre_tokenize(normalized, [&](std::string_view piece) {
        word.clear();
        for (std::size_t at = 0; at < piece.size();) {
            const std::size_t length = detail::next_utf8_character(piece, at).length;
            const std::string_view character = piece.substr(at, length);
            if (const auto id = find(character))
                word.push_back(*id);
            else
                for (const char byte : character) word.push_back(byte_ids_[static_cast<unsigned char>(byte)]);
            at += length;
        }
        append_word(piece, word, ids);
    });
    return ids;
}

inline std::string hf_tokenizer::decode(const std::vector<int>& ids) const {
    std::string text;
    for (const int id : ids) text += texts_[checked(id)];
    if (!steps_.byte_level) steps_.metaspace_words.strip(text);
    return text;
}

}  // namespace sparse_distill::lm
