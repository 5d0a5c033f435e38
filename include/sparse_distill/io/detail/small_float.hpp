#pragma once
// IEEE-style 16-bit floats (binary16 and bfloat16) to and from double. Both share one scheme:
// 1 sign bit, ExpBits exponent bits with bias 2^(ExpBits-1)-1, MantBits stored mantissa bits.
// Going through double keeps decoding exact (every 16-bit value is a double) and makes encoding a
// single correct rounding, with no double rounding through float.
#include "../../detail/internal_header_check.hpp"
#include <cmath>
#include <cstdint>
#include <limits>

namespace sparse_distill::io::detail {

template <int ExpBits, int MantBits>
struct small_float_format {
    static constexpr int bias = (1 << (ExpBits - 1)) - 1;
    static constexpr int min_exponent = 1 - bias;  // exponent of the smallest normal number
    static constexpr std::uint16_t exp_all_ones = (1u << ExpBits) - 1;
    static constexpr std::uint16_t sign_bit = 1u << (ExpBits + MantBits);
    static constexpr std::uint16_t mant_mask = (1u << MantBits) - 1;

    static double decode(std::uint16_t bits) {
        const bool negative = (bits & sign_bit) != 0;
        const int exponent = (bits >> MantBits) & exp_all_ones;
        const int mantissa = bits & mant_mask;
        double magnitude;
        if (exponent == exp_all_ones)
            magnitude = mantissa == 0 ? std::numeric_limits<double>::infinity()
                                      : std::numeric_limits<double>::quiet_NaN();
        else if (exponent == 0)
            magnitude = std::ldexp(static_cast<double>(mantissa), min_exponent - MantBits);
        else
            magnitude = std::ldexp(static_cast<double>(mantissa | (1 << MantBits)), exponent - bias - MantBits);
        return negative ? -magnitude : magnitude;
    }

    // Round to nearest, ties to even; overflow gives infinity, NaN a quiet NaN.
    static std::uint16_t encode(double value) {
        const std::uint16_t sign = std::signbit(value) ? sign_bit : 0;
        if (std::isnan(value)) return sign | (exp_all_ones << MantBits) | (1u << (MantBits - 1));
        const double magnitude = std::fabs(value);
        const std::uint16_t infinity = sign | (exp_all_ones << MantBits);
        if (std::isinf(magnitude)) return infinity;
        if (magnitude == 0.0) return sign;
        int frexp_exponent = 0;
        std::frexp(magnitude, &frexp_exponent);
        const int exponent = frexp_exponent - 1;  // magnitude = 1.f · 2^exponent
        if (exponent + bias >= exp_all_ones) return infinity;
        // Scaling by a power of two is exact, so rounding the scaled value to an integer is the one
        // rounding step; a mantissa that rounds up to 2^MantBits carries into the exponent below.
        const bool subnormal = exponent < min_exponent;
        const int scale = MantBits - (subnormal ? min_exponent : exponent);
        const auto rounded = static_cast<std::uint32_t>(round_half_even(std::ldexp(magnitude, scale)));
        const std::uint32_t bits =
            subnormal ? rounded
                      : (static_cast<std::uint32_t>(exponent + bias) << MantBits) + rounded - (1u << MantBits);
        if (bits >= static_cast<std::uint32_t>(exp_all_ones) << MantBits) return infinity;
        return static_cast<std::uint16_t>(sign | bits);
    }

private:
    // std::nearbyint follows the current rounding mode; the formats define ties-to-even.
    static double round_half_even(double x) {
        const double floor = std::floor(x);
        const double fraction = x - floor;
        if (fraction > 0.5) return floor + 1.0;
        if (fraction < 0.5) return floor;
        return std::fmod(floor, 2.0) == 0.0 ? floor : floor + 1.0;
    }
};

using half_format = small_float_format<5, 10>;
using bfloat16_format = small_float_format<8, 7>;

}  // namespace sparse_distill::io::detail
