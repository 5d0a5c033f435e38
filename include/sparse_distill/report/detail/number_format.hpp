#pragma once
// Printing numbers for SVG and labels: locale-independent (std::to_chars), short, and free of the
// 0.30000000000000004 noise that binary floating point leaves in tick values.
#include "../../detail/internal_header_check.hpp"
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sparse_distill::report::detail {

// "1.500" -> "1.5", "2.000" -> "2", "-0" -> "0"; a mantissa/exponent pair is tidied separately.
inline std::string strip_trailing_zeros(std::string text) {
    if (text.find('.') != std::string::npos) {
        while (text.back() == '0') text.pop_back();
        if (text.back() == '.') text.pop_back();
    }
    if (text == "-0") text = "0";
    return text;
}

inline std::string format_fixed(double value, int decimals) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
    if (result.ec != std::errc{}) return "0";  // only a value past ~1e60 would not fit; never a coordinate
    return strip_trailing_zeros(std::string(buffer, result.ptr));
}

// "1.50e-05" -> "1.5e-5", "2.00e+06" -> "2e6".
inline std::string format_scientific(double value, int decimals) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific, decimals);
    const std::string text(buffer, result.ptr);
    const auto e = text.find('e');
    std::string mantissa = strip_trailing_zeros(text.substr(0, e));
    int exponent = 0;
    std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(), exponent);
    return mantissa + "e" + std::to_string(exponent);
}

// SVG coordinates: a tenth of a pixel is below what a screen shows, and one decimal keeps a
// 20 000-point scatter plot small.
inline std::string format_coordinate(double value) { return format_fixed(value, 1); }

// A value shown to a reader (tooltips, data attributes): `significant` digits, scientific only
// when fixed notation would be long.
inline std::string format_number(double value, int significant = 4) {
    if (!std::isfinite(value)) return std::isnan(value) ? "NaN" : (value > 0 ? "inf" : "-inf");
    if (value == 0) return "0";
    const int magnitude = static_cast<int>(std::floor(std::log10(std::abs(value))));
    if (magnitude >= 6 || magnitude < -4) return format_scientific(value, significant - 1);
    return format_fixed(value, std::max(0, significant - 1 - magnitude));
}

// A tick on a linear axis whose ticks are `step` apart: exactly as many decimals as the step has,
// so every label on the axis has the same form.
inline std::string format_linear_tick(double value, double step, double largest_magnitude) {
    if (std::abs(value) < step * 1e-9) return "0";
    const int step_magnitude = static_cast<int>(std::floor(std::log10(step) + 1e-9));
    if (largest_magnitude >= 1e6 || step < 1e-4) {
        const int value_magnitude = static_cast<int>(std::floor(std::log10(std::abs(value)) + 1e-9));
        return format_scientific(value, std::clamp(value_magnitude - step_magnitude, 0, 6));
    }
    return format_fixed(value, std::max(0, -step_magnitude));
}

// 10^exponent either as a plain decimal ("0.001", "100") or with Unicode superscripts ("10⁻³"):
// plain reads faster, superscripts stay short far from 1.
inline std::string format_power_of_ten(int exponent, bool plain) {
    if (plain)
        return exponent >= 0 ? "1" + std::string(static_cast<std::size_t>(exponent), '0')
                             : "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + "1";
    static constexpr std::string_view superscript_digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
    std::string text = "10";
    if (exponent < 0) text += "⁻";
    for (const char digit : std::to_string(std::abs(exponent))) text += superscript_digits[digit - '0'];
    return text;
}

// Number of Unicode code points in UTF-8 text, the unit of the layout's text-width estimates.
inline std::size_t code_points(std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Width of `text` at `font_size` px in a typical sans-serif face (DejaVu Sans averages ~0.6 em);
// the layout only needs it to keep labels from overlapping, not to place glyphs.
inline double estimated_text_width(std::string_view text, double font_size) {
    return static_cast<double>(code_points(text)) * font_size * 0.6;
}

}  // namespace sparse_distill::report::detail
