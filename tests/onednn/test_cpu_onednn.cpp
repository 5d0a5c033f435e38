// backend::cpu_onednn (oneDNN's fp32 matmul) against backend::cpu (Eigen): the same precision, so single
// products agree to fp32 rounding for every transpose, alpha and beta, and ten trainer steps agree as two
// fp32 backends do (the CUDA suite's 1e-5); double and thin products are the CPU backend's, bit for bit.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <sparse_distill/backend/cpu_onednn.hpp>

#include "onednn_test_support.hpp"
#include "support/backend_agreement.hpp"

#include <cmath>

namespace sd = sparse_distill;

namespace onednn_cpu_onednn_test {

using sd_backend_agreement::relative_error;
using onednn_test::product;
using onednn_test::random_matrix;

TEST_CASE("cpu_onednn: products agree with Eigen's to fp32 rounding, every transpose, alpha and beta") {
    const sd::index_t m = 96, n = 80, k = 200;
    for (const bool ta : {false, true})
        for (const bool tb : {false, true})
            for (const auto& [alpha, beta] : {std::pair{1.f, 0.f}, std::pair{-0.5f, 1.f}, std::pair{2.f, 0.25f}}) {
                CAPTURE(ta);
                CAPTURE(tb);
                CAPTURE(alpha);
                CAPTURE(beta);
                const auto a = ta ? random_matrix<float>(k, m, 1) : random_matrix<float>(m, k, 1);
                const auto b = tb ? random_matrix<float>(n, k, 2) : random_matrix<float>(k, n, 2);
                const auto c0 = random_matrix<float>(m, n, 3);
                const auto eigen = product<float, sd::backend::cpu>(a, ta, b, tb, c0, alpha, beta);
                const auto onednn = product<float, sd::backend::cpu_onednn>(a, ta, b, tb, c0, alpha, beta);
                // Two fp32 sums of 200 terms in different orders: ~1e-7 relative; a wrong transpose, alpha or
                // beta errs by O(1).
                CHECK(relative_error(onednn, eigen) < 2e-6);
            }
    // Double and thin products are Eigen's.
    const auto a = random_matrix<double>(64, 48, 4), b = random_matrix<double>(48, 32, 5), c0 = random_matrix<double>(64, 32, 6);
    CHECK(product<double, sd::backend::cpu_onednn>(a, false, b, false, c0, 1.0, 0.5) ==
          product<double, sd::backend::cpu>(a, false, b, false, c0, 1.0, 0.5));
    const auto column = random_matrix<float>(300, 1, 7), row = random_matrix<float>(1, 200, 8), c1 = random_matrix<float>(300, 200, 9);
    CHECK(product<float, sd::backend::cpu_onednn>(column, false, row, false, c1, 1.f, 0.f) ==
          product<float, sd::backend::cpu>(column, false, row, false, c1, 1.f, 0.f));
}

TEST_CASE("cpu_onednn: ten trainer steps agree with backend::cpu as two fp32 backends do, dense and sparse path") {
    sd::mlp_weights<float> tw;
    tw.act = sd::activation::gelu;
    tw.w_in = random_matrix<float>(128, 64, 23, 1.0 / 8);
    tw.w_out = random_matrix<float>(128, 64, 24, 1.0 / std::sqrt(128.0));
    tw.b_in = sd::vector<float>::Zero(128);
    tw.b_out = sd::vector<float>::Zero(64);
    for (const double sparse_below : {0.0, 1.0}) {
        CAPTURE(sparse_below);
        sd::student_config c;
        c.d_in = c.d_out = 64;
        c.d_sae = 512;
        c.sparse_below_density = sparse_below;
        const auto eigen = sd_backend_agreement::ten_steps<float, sd::backend::cpu>(tw, c);
        const auto onednn = sd_backend_agreement::ten_steps<float, sd::backend::cpu_onednn>(tw, c);
        CHECK(relative_error(onednn.w_enc, eigen.w_enc) < 1e-5);
        CHECK(relative_error(onednn.w_dec, eigen.w_dec) < 1e-5);
        CHECK(relative_error(onednn.b_enc, eigen.b_enc) < 1e-5);
        CHECK(relative_error(onednn.b_dec, eigen.b_dec) < 1e-5);
    }
}

}  // namespace onednn_cpu_onednn_test
