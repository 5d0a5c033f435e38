// The warmup + cosine schedule against values worked out by hand: lr 1, W = 2, T = 10, r = 0.1.
#include <doctest/doctest.h>
#include <sparse_distill/optim/schedule.hpp>

namespace sdo = sparse_distill::optim;

TEST_CASE("warmup_cosine: documented values") {
    const sdo::warmup_cosine s{1.0, 2, 10, 0.1};
    const double expected[12] = {0.5, 1.0, 1.0, 0.9657457896300791, 0.8681980515339464, 0.7222075445642904,
                                 0.55, 0.3777924554357096, 0.23180194846605365, 0.13425421036992097, 0.1, 0.1};
    for (int t = 0; t < 12; ++t) {
        CAPTURE(t);
        CHECK(s(t) == doctest::Approx(expected[t]).epsilon(1e-14));
    }
}

TEST_CASE("warmup_cosine: the reference run's rates (lr 0.01, W 1, T 3, r 0.1)") {
    const sdo::warmup_cosine s{0.01, 1, 3, 0.1};
    CHECK(s(0) == doctest::Approx(0.01));
    CHECK(s(1) == doctest::Approx(0.01));
    CHECK(s(2) == doctest::Approx(0.0055));
}

TEST_CASE("warmup_cosine: constant when r = 1 and no warmup") {
    const sdo::warmup_cosine s{0.01, 0, 100, 1.0};
    for (int t : {0, 1, 50, 99, 1000}) CHECK(s(t) == 0.01);
}

TEST_CASE("warmup_cosine: invalid settings are refused") {
    CHECK_THROWS_AS((sdo::warmup_cosine{0.01, -1, 10, 0.1}.validate()), std::invalid_argument);
    CHECK_THROWS_AS((sdo::warmup_cosine{0.01, 0, 10, 1.5}.validate()), std::invalid_argument);
}
