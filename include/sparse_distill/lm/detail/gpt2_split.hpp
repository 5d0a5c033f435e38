#pragma once
// GPT-2's pre-tokenization: the text is cut into pieces by the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (tried left to right at each position, as a regex alternation does), and BPE runs inside each
// piece only. Written out by hand, not with std::regex: that has no \p classes and no Unicode.
#include "../../detail/internal_header_check.hpp"
#include "unicode_classes.hpp"
#include "utf8.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <string_view>

namespace sparse_distill::lm::detail {

/// The classes the pattern tells apart; a malformed UTF-8 byte is `other`.
enum class character_class { letter, number, whitespace, other };

template <std::size_t N>
bool in_code_point_ranges(const std::array<code_point_range, N>& ranges, char32_t code_point) {
    const auto after = std::upper_bound(ranges.begin(), ranges.end(), code_point,
                                        [](char32_t c, const code_point_range& r) { return c < r.first; });
    return after != ranges.begin() && code_point <= std::prev(after)->last;
}

inline character_class classify_code_point(char32_t code_point) {
    if (code_point < 0x80) {  // most text is ASCII: answer without a search
        const auto c = static_cast<char>(code_point);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return character_class::letter;
        if (c >= '0' && c <= '9') return character_class::number;
        if (c == ' ' || (c >= '\t' && c <= '\r')) return character_class::whitespace;
        return character_class::other;
    }
    if (code_point == invalid_code_point) return character_class::other;
    if (in_code_point_ranges(letter_ranges, code_point)) return character_class::letter;
    if (in_code_point_ranges(number_ranges, code_point)) return character_class::number;
    if (in_code_point_ranges(whitespace_ranges, code_point)) return character_class::whitespace;
    return character_class::other;
}

/// The end (a byte offset) of the piece of GPT-2's pattern that starts at byte `at` (< text.size()).
inline std::size_t gpt2_piece_end(std::string_view text, std::size_t at) {
    const auto class_at = [&](std::size_t i) { return classify_code_point(next_utf8_character(text, i).code_point); };
    // 's|'t|'re|'ve|'m|'ll|'d: ASCII apostrophe, lower case only, as in the pattern.
    if (text[at] == '\'') {
        for (const std::string_view suffix : {"s", "t", "re", "ve", "m", "ll", "d"})
            if (text.substr(at + 1).starts_with(suffix)) return at + 1 + suffix.size();
    }
    // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: a run of one class, after at most one space (U+0020 only).
    std::size_t run_start = at;
    character_class run_class = class_at(at);
    if (text[at] == ' ' && at + 1 < text.size() && class_at(at + 1) != character_class::whitespace) {
        run_start = at + 1;
        run_class = class_at(at + 1);
    }
    std::size_t end = run_start;
    if (run_class != character_class::whitespace) {
        while (end < text.size()) {
            const utf8_character c = next_utf8_character(text, end);
            if (classify_code_point(c.code_point) != run_class) break;
            end += c.length;
        }
        return end;
    }
    // `\s+(?!\S)|\s+`: the whole whitespace run when it ends the text; otherwise all of it but its last
    // character (which then goes with the word after it, as " word"), unless that leaves nothing.
    std::size_t last_start = at;
    while (end < text.size()) {
        const utf8_character c = next_utf8_character(text, end);
        if (classify_code_point(c.code_point) != character_class::whitespace) break;
        last_start = end;
        end += c.length;
    }
    return end == text.size() || last_start == at ? end : last_start;
}

/// Calls on_piece(std::string_view) for each piece of `text`, in order; the pieces cover it exactly.
template <class OnPiece>
void split_gpt2_pattern(std::string_view text, OnPiece&& on_piece) {
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = gpt2_piece_end(text, at);
        on_piece(text.substr(at, end - at));
        at = end;
    }
}

}  // namespace sparse_distill::lm::detail
