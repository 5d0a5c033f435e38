#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11). The value drawn for an
// element depends only on (seed, stream, element index), never on which thread computes it or in
// which order, so parallel initialisation and data generation are reproducible for any thread count.
#include "../config.hpp"

#include <array>
#include <cmath>
#include <cstdint>

namespace sparse_distill::random {

using philox_counter = std::array<std::uint32_t, 4>;
using philox_key = std::array<std::uint32_t, 2>;

/// One Philox4x32-10 block: ten rounds of multiply-xor with a Weyl-sequence key schedule.
SD_HOST_DEVICE inline philox_counter philox4x32_10(philox_counter counter, philox_key key) {
    constexpr std::uint32_t multiplier0 = 0xD2511F53u, multiplier1 = 0xCD9E8D57u;
    constexpr std::uint32_t weyl0 = 0x9E3779B9u, weyl1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        const std::uint64_t product0 = std::uint64_t{multiplier0} * counter[0];
        const std::uint64_t product1 = std::uint64_t{multiplier1} * counter[2];
        counter = {static_cast<std::uint32_t>(product1 >> 32) ^ counter[1] ^ key[0],
                   static_cast<std::uint32_t>(product1),
                   static_cast<std::uint32_t>(product0 >> 32) ^ counter[3] ^ key[1],
                   static_cast<std::uint32_t>(product0)};
        key[0] += weyl0;
        key[1] += weyl1;
    }
    return counter;
}

/// A named, seeded stream of random numbers addressed by a 64-bit element index.
/// Element i of stream s under seed k is block (i/2) with counter (i/2, s) and key k: each block
/// gives two pairs of 32-bit words, i.e. two doubles' worth of 64 bits.
class counter_rng {
public:
    constexpr counter_rng(std::uint64_t seed, std::uint64_t stream) : seed_(seed), stream_(stream) {}

    /// 64 random bits for element `index`.
    SD_HOST_DEVICE std::uint64_t bits(std::uint64_t index) const {
        const philox_counter block = philox4x32_10(
            {static_cast<std::uint32_t>(index >> 1), static_cast<std::uint32_t>(index >> 33),
             static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)},
            {static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)});
        const int half = static_cast<int>(index & 1u) * 2;
        return (std::uint64_t{block[half]} << 32) | block[half + 1];
    }

    /// Uniform double in the open interval (0, 1) for element `index` (53 random bits).
    SD_HOST_DEVICE double uniform(std::uint64_t index) const { return to_open_unit(bits(index)); }

    /// Uniform double in [low, high).
    SD_HOST_DEVICE double uniform(std::uint64_t index, double low, double high) const {
        return low + (high - low) * uniform(index);
    }

    /// Standard normals number 2k and 2k+1: Box-Muller (cos and sin) on the two 64-bit uniforms of
    /// block k of a sub-stream of its own, so normals never share random bits with uniforms.
    SD_HOST_DEVICE std::array<double, 2> normal_pair(std::uint64_t pair) const {
        const philox_counter block = philox4x32_10(
            {static_cast<std::uint32_t>(pair), static_cast<std::uint32_t>(pair >> 32),
             static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32) ^ 0x80000000u},
            {static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)});
        const double u1 = to_open_unit((std::uint64_t{block[0]} << 32) | block[1]);
        const double u2 = to_open_unit((std::uint64_t{block[2]} << 32) | block[3]);
        const double radius = std::sqrt(-2.0 * std::log(u1));
        const double angle = 6.283185307179586476925 * u2;
        return {radius * std::cos(angle), radius * std::sin(angle)};
    }

    /// Standard normal number `index` (one half of normal_pair(index / 2)).
    SD_HOST_DEVICE double normal(std::uint64_t index) const { return normal_pair(index >> 1)[index & 1u]; }

    std::uint64_t seed() const { return seed_; }
    std::uint64_t stream() const { return stream_; }

private:
    /// The top 53 bits as a double in the open interval (0, 1): never 0, so log() is finite.
    SD_HOST_DEVICE static double to_open_unit(std::uint64_t bits) {
        return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53;
    }

    std::uint64_t seed_;
    std::uint64_t stream_;
};

}  // namespace sparse_distill::random
