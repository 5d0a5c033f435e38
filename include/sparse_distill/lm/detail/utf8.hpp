#pragma once
// Stepping through UTF-8 text one character at a time without trusting it: tokenizers must encode any
// byte string, so a malformed sequence is not an error but a one-byte character of its own.
#include "../../detail/internal_header_check.hpp"
#include <cstddef>
#include <string>
#include <string_view>

namespace sparse_distill::lm::detail {

/// Marks a byte that does not start a well-formed UTF-8 character.
inline constexpr char32_t invalid_code_point = 0xFFFFFFFF;

struct utf8_character {
    char32_t code_point;  ///< invalid_code_point for a malformed byte
    std::size_t length;   ///< bytes: 1..4
};

/// The character starting at byte `at` (< text.size()). Well-formed means the shortest encoding
/// (no overlong forms), no surrogates, at most U+10FFFF, and not cut short by the end of the text;
/// anything else is {invalid_code_point, 1}, so the next call starts at the following byte.
inline utf8_character next_utf8_character(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned lead = byte(at);
    if (lead < 0x80) return {lead, 1};
    std::size_t length = 0;
    char32_t code_point = 0, smallest = 0;
    if ((lead & 0xE0) == 0xC0) {
        length = 2, code_point = lead & 0x1F, smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, code_point = lead & 0x0F, smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, code_point = lead & 0x07, smallest = 0x10000;
    } else {
        return {invalid_code_point, 1};  // a continuation byte, or 0xF8..0xFF
    }
    if (text.size() - at < length) return {invalid_code_point, 1};
    for (std::size_t i = 1; i < length; ++i) {
        const unsigned continuation = byte(at + i);
        if ((continuation & 0xC0) != 0x80) return {invalid_code_point, 1};
        code_point = (code_point << 6) | (continuation & 0x3F);
    }
    if (code_point < smallest || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF))
        return {invalid_code_point, 1};
    return {code_point, length};
}

/// Appends the UTF-8 encoding of a valid code point (not a surrogate, at most U+10FFFF).
inline void append_utf8(std::string& out, char32_t code_point) {
    const auto put = [&](unsigned value) { out += static_cast<char>(value); };
    if (code_point < 0x80) {
        put(code_point);
    } else if (code_point < 0x800) {
        put(0xC0 | (code_point >> 6)), put(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        put(0xE0 | (code_point >> 12)), put(0x80 | ((code_point >> 6) & 0x3F)), put(0x80 | (code_point & 0x3F));
    } else {
        put(0xF0 | (code_point >> 18)), put(0x80 | ((code_point >> 12) & 0x3F)), put(0x80 | ((code_point >> 6) & 0x3F)),
            put(0x80 | (code_point & 0x3F));
    }
}

}  // namespace sparse_distill::lm::detail
