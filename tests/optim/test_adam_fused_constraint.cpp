// The Adam pass with the decoder constraint fused in must give exactly what the update followed by
// the separate constraint pass gives: same parameters and moments, bit for bit.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include <cmath>
#include <vector>

namespace sd = sparse_distill;

TEST_CASE_TEMPLATE("adam: the fused decoder constraint equals update then constrain_rows", Scalar, float, double) {
    // 10 leading parameters, 37 decoder rows of 50, 5 trailing: the rows sit inside the buffer.
    const sd::index_t lead = 10, rows = 37, cols = 50, n = lead + rows * cols + 5;
    for (const sd::decoder_norm mode : {sd::decoder_norm::cap, sd::decoder_norm::unit}) {
        std::vector<Scalar> grads(static_cast<std::size_t>(n)), separate(grads.size()), m1(grads.size()), v1(grads.size());
        for (sd::index_t i = 0; i < n; ++i) {
            grads[static_cast<std::size_t>(i)] = Scalar(std::cos(1.3 * double(i)));
            separate[static_cast<std::size_t>(i)] = Scalar(0.5 * std::sin(double(i)));
        }
        std::vector<Scalar> fused = separate, m2 = m1, v2 = v1;
        sd::optim::adam_update_args args;
        args.lr = 0.3;  // large steps, so that rows leave the unit ball and the cap acts
        args.weight_decay = 0.1;
        for (std::int64_t step = 1; step <= 3; ++step) {
            args.step = step;
            args.constrain = {};
            sd::backend::adam_update<sd::backend::cpu>(separate.data(), grads.data(), m1.data(), v1.data(), n, args);
            sd::backend::constrain_rows<sd::backend::cpu>(sd::matrix_view<Scalar>{separate.data() + lead, rows, cols}, mode);
            args.constrain = {lead, rows, cols, mode};
            sd::backend::adam_update<sd::backend::cpu>(fused.data(), grads.data(), m2.data(), v2.data(), n, args);
        }
        CHECK(fused == separate);
        CHECK(m2 == m1);
        CHECK(v2 == v1);
        // The constraint did act: every decoder row now has norm ≤ 1, and with `unit` exactly 1.
        for (sd::index_t r = 0; r < rows; ++r) {
            double squared = 0;
            for (sd::index_t c = 0; c < cols; ++c) squared += std::pow(double(fused[static_cast<std::size_t>(lead + r * cols + c)]), 2);
            if (mode == sd::decoder_norm::unit) CHECK(std::sqrt(squared) == doctest::Approx(1.0).epsilon(1e-5));
            else CHECK(std::sqrt(squared) <= 1.0 + 1e-5);
        }
    }
}

TEST_CASE("adam: constrained rows outside the buffer are refused") {
    std::vector<float> p(20), g(20), m(20), v(20);
    sd::optim::adam_update_args args;
    args.constrain = {10, 3, 5, sd::decoder_norm::cap};  // rows end at 25 > 20
    CHECK_THROWS_WITH_AS(sd::backend::adam_update<sd::backend::cpu>(p.data(), g.data(), m.data(), v.data(), 20, args),
                         doctest::Contains("outside the parameter buffer"), std::invalid_argument);
}
