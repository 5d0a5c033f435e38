// Loss recovered on constructed numbers.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

namespace an = sparse_distill::analysis;

TEST_CASE("loss recovered: 1 for a perfect student, 0 for one no better than ablation, linear between") {
    CHECK(an::loss_recovered(1.0, 3.0, 1.0) == doctest::Approx(1.0));
    CHECK(an::loss_recovered(1.0, 3.0, 3.0) == doctest::Approx(0.0));
    CHECK(an::loss_recovered(1.0, 3.0, 1.5) == doctest::Approx(0.75));
    CHECK(an::loss_recovered(1.0, 3.0, 4.0) == doctest::Approx(-0.5));  // worse than ablation
    CHECK(std::isnan(an::loss_recovered(2.0, 2.0, 2.5)));              // ablation changes nothing
    const an::spliced_losses l{1.2, 3.4, 2.0, 1.4};
    CHECK(l.recovered_vs_zero() == doctest::Approx((3.4 - 1.4) / (3.4 - 1.2)));
    CHECK(l.recovered_vs_mean() == doctest::Approx((2.0 - 1.4) / (2.0 - 1.2)));
}

TEST_CASE("loss recovered with a negative gap (ablation lowers the loss, as on out-of-distribution text) keeps the formula") {
    // clean 3, ablated 2: the gap is −1. A student at 2.5 recovers (2 − 2.5) / (2 − 3) = 0.5; one at the
    // clean loss recovers 1, one at the ablated loss 0. A guard that refused negative gaps would give NaN.
    CHECK(an::loss_recovered(3.0, 2.0, 2.5) == doctest::Approx(0.5));
    CHECK(an::loss_recovered(3.0, 2.0, 3.0) == doctest::Approx(1.0));
    CHECK(an::loss_recovered(3.0, 2.0, 2.0) == doctest::Approx(0.0));
    CHECK(an::loss_recovered(3.0, 2.0, 1.0) == doctest::Approx(-1.0));
    CHECK(an::loss_recovered(3.0, 3.0 - 1e-12, 3.0) == doctest::Approx(1.0));  // a tiny negative gap is still a gap
    const an::spliced_losses l{2.0, 1.5, 1.8, 1.9};
    CHECK(l.recovered_vs_zero() == doctest::Approx((1.5 - 1.9) / (1.5 - 2.0)));
    CHECK(l.recovered_vs_mean() == doctest::Approx((1.8 - 1.9) / (1.8 - 2.0)));
}
