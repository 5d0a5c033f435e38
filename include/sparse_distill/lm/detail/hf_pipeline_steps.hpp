#pragma once
// The steps of a Hugging Face tokenizer.json around its BPE model, for the two kinds lm::hf_tokenizer
// supports: what cuts the text into words before BPE (normalizer and pre_tokenizer), what the
// decoder strips afterwards, and which special token the post_processor puts before a sequence.
// Read from the file with every field checked; anything else is an io_error naming the field.
//
//   byte-level BPE (GPT-2, GPT-Neo, SmolLM): no normalizer; pre_tokenizer ByteLevel, alone or in a
//     Sequence after Digits; decoder ByteLevel.
//   SentencePiece-style BPE with byte fallback (Llama 1/2, TinyLlama, Mistral): the "▁" metaspace comes
//     either from normalizer Sequence[Prepend("▁"), Replace(" " → "▁")] with no pre_tokenizer (older
//     files), or from pre_tokenizer Metaspace with no normalizer; decoder Sequence[Replace("▁" → " "),
//     ByteFallback, Fuse, Strip(" ", n, 0)].
#include "../../detail/internal_header_check.hpp"
#include "gpt2_split.hpp"
#include "tokenizer_json.hpp"
#include "utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace sparse_distill::lm::detail {

/// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's stand-in for a space.
inline constexpr std::string_view metaspace = "\xE2\x96\x81";

/// Throws at `field`.type unless it is one of `expected`; `why` (may be empty) follows in parentheses.
inline std::string require_type(const json_field& field, std::initializer_list<std::string_view> expected, std::string_view why = {}) {
    const json_field type_field = field["type"];
    const std::string type = type_field.string();
    std::string listed;
    for (const std::string_view name : expected) {
        if (type == name) return type;
        listed += (listed.empty() ? "\"" : " or \"") + std::string(name) + "\"";
    }
    type_field.fail("expected " + listed + ", found " + type_field.found() + (why.empty() ? "" : " (" + std::string(why) + ")"));
}

/// How a Digits pre-tokenizer cuts numbers out of the text before ByteLevel sees it.
enum class digit_split { none, individually, runs };

/// The pre-tokenization of a byte-level BPE tokenizer.
struct byte_level_steps {
    digit_split digits = digit_split::none;
    bool add_prefix_space = false;  ///< a space before each piece that does not start with one
    bool use_regex = true;          ///< GPT-2's split pattern (else each piece is one word)

    /// Calls on_word(std::string_view) with each word, in order.
    template <class OnWord>
    void pre_tokenize(std::string_view text, OnWord&& on_word) const {
        std::string prefixed;
        const auto byte_level = [&](std::string_view piece) {
            // As Hugging Face's ByteLevel does: the prefix space goes before every piece the steps before it
            // made, not just before the text.
            if (add_prefix_space && !piece.starts_with(' ')) {
                prefixed.assign(" ").append(piece);
                piece = prefixed;
            }
            if (use_regex)
                split_gpt2_pattern(piece, on_word);
            else
                on_word(piece);
        };
        if (digits == digit_split::none) {
            if (!text.empty()) byte_level(text);
            return;
        }
        // Digits: numbers (\p{N}, Rust's char::is_numeric) alone, one by one or as runs, the rest between.
        std::size_t start = 0;
        bool start_is_number = false;
        for (std::size_t at = 0; at < text.size();) {
            const utf8_character c = next_utf8_character(text, at);
            const bool number = classify_code_point(c.code_point) == character_class::number;
            const bool cut = at > start && (number != start_is_number || (number && digits == digit_split::individually));
            if (cut) byte_level(text.substr(start, at - start));
            if (cut || at == start) start = at, start_is_number = number;
            at += c.length;
        }
        if (start < text.size()) byte_level(text.substr(start));
    }
};

/// The metaspace steps of a SentencePiece-style tokenizer, and the decoder's Strip.
struct metaspace_steps {
    enum class prepend_rule {
        never,
        always,          ///< normalizer Prepend: before any non-empty text
        unless_present,  ///< pre_tokenizer Metaspace: only when the text does not start with "▁" already
    };
    prepend_rule prepend = prepend_rule::always;
    bool split = false;                     ///< Metaspace's split: a new word at each "▁"
    std::size_t strip_leading_spaces = 0;   ///< the decoder's Strip(" ", n, 0)

    /// Spaces replaced by "▁", and the "▁" prepended by the rule.
    std::string normalize(std::string_view text) const {
        std::string out;
        if (text.empty()) return out;  // Hugging Face prepends to non-empty text only
        for (const char c : text) {
            if (c == ' ')
                out += metaspace;
            else
                out += c;
        }
        const bool add = prepend == prepend_rule::always || (prepend == prepend_rule::unless_present && !out.starts_with(metaspace));
        if (add) out.insert(0, metaspace);
        return out;
    }

    template <class OnWord>
    void pre_tokenize(std::string_view normalized, OnWord&& on_word) const {
        if (!split) {
            if (!normalized.empty()) on_word(normalized);
            return;
        }
        // Each "▁" starts a word (Hugging Face's MergedWithNext).
        std::size_t start = 0;
        for (std::size_t at = normalized.find(metaspace, 1); at != std::string_view::npos; at = normalized.find(metaspace, at + 1)) {
            on_word(normalized.substr(start, at - start));
            start = at;
        }
        if (start < normalized.size()) on_word(normalized.substr(start));
    }

    /// The decoder's Strip: up to `strip_leading_spaces` spaces off the front of the decoded text.
    void strip(std::string& decoded) const {
        std::size_t n = 0;
        while (n < strip_leading_spaces && n < decoded.size() && decoded[n] == ' ') ++n;
        decoded.erase(0, n);
    }
};

inline void read_byte_level_options(const json_field& step, byte_level_steps& steps) {
    // Hugging Face's defaults for keys an older file may lack.
    steps.add_prefix_space = step["add_prefix_space"].boolean_or(true);
    steps.use_regex = step["use_regex"].boolean_or(true);
}

inline byte_level_steps read_byte_level_pre_tokenizer(const json_field& pre_tokenizer) {
    constexpr std::string_view why = "byte-level BPE: a ByteLevel pre_tokenizer, alone or after Digits in a Sequence; "
                                     "a Metaspace tokenizer needs model.byte_fallback true";
    if (pre_tokenizer.missing()) pre_tokenizer.fail("expected a ByteLevel pre-tokenizer, found " + pre_tokenizer.found() + " (" + std::string(why) + ")");
    byte_level_steps steps;
    if (require_type(pre_tokenizer, {"ByteLevel", "Sequence"}, why) == "ByteLevel") {
        read_byte_level_options(pre_tokenizer, steps);
        return steps;
    }
    const json_field list = pre_tokenizer["pretokenizers"];
    const std::size_t n = list.size();
    if (n == 0) list.fail("expected a ByteLevel pre-tokenizer in the Sequence, found none");
    for (std::size_t i = 0; i + 1 < n; ++i) {
        require_type(list[i], {"Digits"}, "before the Sequence's last step, ByteLevel");
        if (steps.digits != digit_split::none) list[i].fail("expected one Digits step, found a second");
        steps.digits = list[i]["individual_digits"].boolean_or(false) ? digit_split::individually : digit_split::runs;
    }
    require_type(list[n - 1], {"ByteLevel"}, "the Sequence's last step");
    read_byte_level_options(list[n - 1], steps);
    return steps;
}

inline void require_string(const json_field& field, std::string_view expected) {
    if (field.string() != expected) field.fail("expected \"" + std::string(expected) + "\", found " + field.found());
}

/// A Replace step (normalizer or decoder) of exactly `from` → `to`.
inline void read_replace(const json_field& step, std::string_view from, std::string_view to) {
    const json_field pattern = step["pattern"];
    pattern.require_object();
    require_string(pattern["String"], from);
    require_string(step["content"], to);
}

inline void read_metaspace_normalizer(const json_field& normalizer, metaspace_steps& steps) {
    constexpr std::string_view why = "SentencePiece-style BPE: a Sequence of Prepend(\"▁\") and Replace(\" \" → \"▁\")";
    require_type(normalizer, {"Sequence"}, why);
    const json_field list = normalizer["normalizers"];
    bool replace = false;
    steps.prepend = metaspace_steps::prepend_rule::never;
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (require_type(list[i], {"Prepend", "Replace"}, why) == "Prepend") {
            if (steps.prepend != metaspace_steps::prepend_rule::never) list[i].fail("expected one Prepend step, found a second");
            require_string(list[i]["prepend"], metaspace);
            steps.prepend = metaspace_steps::prepend_rule::always;
        } else {
            if (replace) list[i].fail("expected one Replace step, found a second");
            read_replace(list[i], " ", metaspace);
            replace = true;
        }
    }
    if (!replace) list.fail("expected a Replace(\" \" → \"▁\") step, found none");
}

inline void read_metaspace_pre_tokenizer(const json_field& pre_tokenizer, metaspace_steps& steps) {
    constexpr std::string_view why = "SentencePiece-style BPE without a Prepend/Replace normalizer";
    if (pre_tokenizer.missing())
        pre_tokenizer.fail("expected a Metaspace pre-tokenizer (or a normalizer Sequence[Prepend, Replace]), found " + pre_tokenizer.found());
    require_type(pre_tokenizer, {"Metaspace"}, why);
    require_string(pre_tokenizer["replacement"], metaspace);
    const json_field scheme = pre_tokenizer["prepend_scheme"];
    if (scheme.missing()) {  // files older than prepend_scheme say add_prefix_space
        steps.prepend = pre_tokenizer["add_prefix_space"].boolean_or(true) ? metaspace_steps::prepend_rule::unless_present
                                                                            : metaspace_steps::prepend_rule::never;
    } else {
        const std::string name = scheme.string();
        // "first" prepends to the first piece of the input only; encode never cuts the input (special
        // tokens in text are not matched), so that is the same as "always".
        if (name == "always" || name == "first")
            steps.prepend = metaspace_steps::prepend_rule::unless_present;
        else if (name == "never")
            steps.prepend = metaspace_steps::prepend_rule::never;
        else
            scheme.fail("expected \"first\", \"always\" or \"never\", found " + scheme.found());
    }
    steps.split = pre_tokenizer["split"].boolean_or(true);
}

inline void read_byte_fallback_decoder(const json_field& decoder, metaspace_steps& steps) {
    constexpr std::string_view why = "SentencePiece-style BPE: a Sequence of Replace(\"▁\" → \" \"), ByteFallback, Fuse, Strip";
    if (decoder.missing()) decoder.fail("expected a decoder Sequence, found " + decoder.found() + " (" + std::string(why) + ")");
    require_type(decoder, {"Sequence"}, why);
    const json_field list = decoder["decoders"];
    bool replace = false, byte_fallback = false;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string type = require_type(list[i], {"Replace", "ByteFallback", "Fuse", "Strip"}, why);
        if (type == "Replace") {
            read_replace(list[i], metaspace, " ");
            replace = true;
        } else if (type == "ByteFallback") {
            byte_fallback = true;
        } else if (type == "Strip") {
            require_string(list[i]["content"], " ");
            if (list[i]["stop"].index_below(1) != 0) list[i]["stop"].fail("expected 0");
            steps.strip_leading_spaces = static_cast<std::size_t>(list[i]["start"].index_below(1 << 20));
        }
    }
    if (!replace) list.fail("expected a Replace(\"▁\" → \" \") step, found none");
    if (!byte_fallback) list.fail("expected a ByteFallback step (model.byte_fallback is true), found none");
}

/// The steps around the model, of one kind or the other.
struct hf_pipeline_steps {
    bool byte_level = true;
    byte_level_steps byte_level_words;  ///< when byte_level
    metaspace_steps metaspace_words;    ///< otherwise
};

/// Reads normalizer, pre_tokenizer and decoder. `byte_fallback` (model.byte_fallback) tells which kind
/// the file must be.
inline hf_pipeline_steps read_hf_pipeline_steps(const json_field& root, bool byte_fallback) {
    hf_pipeline_steps steps;
    steps.byte_level = !byte_fallback;
    const json_field normalizer = root["normalizer"], pre_tokenizer = root["pre_tokenizer"], decoder = root["decoder"];
    if (steps.byte_level) {
        steps.byte_level_words = read_byte_level_pre_tokenizer(pre_tokenizer);
        if (!normalizer.missing())
            normalizer.fail("expected null (byte-level BPE with a normalizer is not supported), found " + normalizer.found());
        if (decoder.missing()) decoder.fail("expected a ByteLevel decoder, found " + decoder.found());
        require_type(decoder, {"ByteLevel"}, "byte-level BPE");
        return steps;
    }
    if (normalizer.missing()) {
        read_metaspace_pre_tokenizer(pre_tokenizer, steps.metaspace_words);
    } else {
        read_metaspace_normalizer(normalizer, steps.metaspace_words);
        if (!pre_tokenizer.missing())
            pre_tokenizer.fail("expected null after a Prepend/Replace normalizer, found " + pre_tokenizer.found());
    }
    read_byte_fallback_decoder(decoder, steps.metaspace_words);
    return steps;
}

/// The id of the special token that a TemplateProcessing post_processor (alone or in a Sequence) puts
/// before a single sequence ("<s> $A": Llama's BOS), if it has one; ids are checked against `vocab_size`.
inline std::optional<int> read_template_prefix_token(const json_field& post_processor, int vocab_size) {
    const auto from_template = [&](const json_field& processor) -> std::optional<int> {
        const json_field single = processor["single"];
        if (single.size() == 0) return std::nullopt;
        const json_field first = single[0]["SpecialToken"];
        if (first.missing()) return std::nullopt;  // the template starts with the sequence itself
        const std::string name = first["id"].string();
        const json_field ids = processor["special_tokens"][name]["ids"];
        if (ids.size() != 1) ids.fail("expected the one id of the template's first special token, found " + ids.found());
        return static_cast<int>(ids[0].index_below(vocab_size));
    };
    if (post_processor.missing()) return std::nullopt;
    const std::string type = post_processor.type();
    if (type == "TemplateProcessing") return from_template(post_processor);
    if (type != "Sequence") return std::nullopt;  // other processors put no special token first
    const json_field list = post_processor["processors"];
    for (std::size_t i = 0; i < list.size(); ++i)
        if (list[i].type() == "TemplateProcessing") return from_template(list[i]);
    return std::nullopt;
}

}  // namespace sparse_distill::lm::detail
