#pragma once
// GPT-2's byte-level alphabet ("bytes_to_unicode"): byte-level BPE vocabularies write each byte as a
// printable character, so that keys never hold spaces or control characters. The 188 printable
// Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 (controls, space,
// DEL, no-break space, soft hyphen…) stand for U+0100, U+0101, … taken in byte order. So a space is
// 'Ġ' (U+0120) and a newline 'Ċ' (U+010A).
#include "../../detail/internal_header_check.hpp"
#include <array>
#include <optional>

namespace sparse_distill::lm::detail {

inline constexpr bool is_byte_level_printable(unsigned byte) {
    return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

/// The character that stands for each byte.
inline const std::array<char32_t, 256>& byte_level_code_points() {
    static const std::array<char32_t, 256> table = [] {
        std::array<char32_t, 256> t{};
        char32_t next_stand_in = 0x100;
        for (unsigned byte = 0; byte < 256; ++byte) t[byte] = is_byte_level_printable(byte) ? byte : next_stand_in++;
        return t;
    }();
    return table;
}

/// The byte that `code_point` stands for, or nothing for a character outside the alphabet.
inline std::optional<unsigned char> byte_level_byte(char32_t code_point) {
    static const std::array<short, 0x100 + 68> inverse = [] {
        std::array<short, 0x100 + 68> t{};
        const auto& forward = byte_level_code_points();
        for (unsigned byte = 0; byte < 256; ++byte) t[forward[byte]] = static_cast<short>(byte);
        return t;
    }();
    if (code_point >= inverse.size()) return std::nullopt;
    if (code_point < 0x100 && !is_byte_level_printable(code_point)) return std::nullopt;
    return static_cast<unsigned char>(inverse[code_point]);
}

}  // namespace sparse_distill::lm::detail
