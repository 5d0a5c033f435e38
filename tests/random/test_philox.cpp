// Philox4x32-10 against Random123's published known-answer vectors, and the derived streams.
#include <doctest/doctest.h>
#include <sparse_distill/random.hpp>

#include <cmath>
#include <set>

namespace sdr = sparse_distill::random;

TEST_CASE("philox4x32_10 reproduces Random123's known answers") {
    CHECK(sdr::philox4x32_10({0, 0, 0, 0}, {0, 0}) ==
          sdr::philox_counter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
    CHECK(sdr::philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
          sdr::philox_counter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
    CHECK(sdr::philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
          sdr::philox_counter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("counter_rng: a draw depends only on (seed, stream, index)") {
    const sdr::counter_rng a(42, 7), b(42, 7), other_seed(43, 7), other_stream(42, 8);
    CHECK(a.bits(12345) == b.bits(12345));
    CHECK(a.bits(12345) != other_seed.bits(12345));
    CHECK(a.bits(12345) != other_stream.bits(12345));
    std::set<std::uint64_t> seen;
    for (std::uint64_t i = 0; i < 1000; ++i) seen.insert(a.bits(i));
    CHECK(seen.size() == 1000);
}

TEST_CASE("counter_rng: uniform and normal moments") {
    const sdr::counter_rng rng(1, 2);
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0, sn4 = 0;
    int outside_open_interval = 0;
    for (int i = 0; i < n; ++i) {
        const double u = rng.uniform(std::uint64_t(i));
        outside_open_interval += (u <= 0.0 || u >= 1.0);
        su += u;
        const double z = rng.normal(std::uint64_t(i));
        sn += z;
        sn2 += z * z;
        sn4 += z * z * z * z;
    }
    CHECK(outside_open_interval == 0);
    // Standard errors: uniform mean 0.29/√n ≈ 6.5e-4; normal mean 1/√n ≈ 2.2e-3; variance √2/√n ≈ 3.2e-3.
    CHECK(std::abs(su / n - 0.5) < 4e-3);
    CHECK(std::abs(sn / n) < 1.2e-2);
    CHECK(std::abs(sn2 / n - 1) < 1.6e-2);
    CHECK(std::abs(sn4 / n - 3) < 0.1);
}

TEST_CASE("fill_normal is the same for any thread count and any row split") {
    sparse_distill::matrix<double> whole(300, 200), again(300, 200);
    const sdr::counter_rng rng(3, 4);
    sparse_distill::set_num_threads(1);
    sdr::fill_normal(whole, rng);
    sparse_distill::set_num_threads(2);
    sdr::fill_normal(again, rng);
    CHECK(whole == again);
    // Drawing the rows 100.. as their own block from the matching offset gives the same numbers.
    sparse_distill::matrix<double> tail(200, 200);
    sdr::fill_normal(tail, rng, 100 * 200);
    CHECK(tail == whole.bottomRows(200));
}
