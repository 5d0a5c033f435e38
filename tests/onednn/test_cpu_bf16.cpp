// backend::cpu_bf16 (oneDNN, bf16 operands, fp32 accumulation) against backend::cpu: single products
// within bf16's rounding for every transpose, alpha and beta; double and thin products exactly the CPU's;
// ten trainer steps within the tolerance the CUDA suite gives cuda_bf16; and the refusal on a CPU without
// AVX512-BF16. On such a CPU the tests that run products report themselves skipped.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <sparse_distill/backend/cpu_bf16.hpp>

#include "onednn_test_support.hpp"
#include "support/backend_agreement.hpp"

#include <cmath>
#include <iostream>
#include <tuple>

namespace sd = sparse_distill;
using sd_backend_agreement::relative_error;
using onednn_test::product;
using onednn_test::random_matrix;

namespace onednn_cpu_bf16_test {

/// Whether the products can run here; prints the skip marker ctest reads when they cannot.
bool bf16_here() {
    if (sd::backend::cpu_bf16_available()) return true;
    std::cout << "SD_SKIPPED: this CPU has no AVX512-BF16 (oneDNN runs at "
              << sd::backend::onednn_system::effective_isa_name(dnnl::get_effective_cpu_isa()) << ")\n";
    return false;
}


TEST_CASE("cpu_bf16: products agree with fp32 within bf16 rounding, every transpose, alpha and beta") {
    if (!bf16_here()) return;
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
                const auto exact = product<float, sd::backend::cpu>(a, ta, b, tb, c0, alpha, beta);
                const auto rounded = product<float, sd::backend::cpu_bf16>(a, ta, b, tb, c0, alpha, beta);
                const double error = relative_error(rounded, exact);
                // bf16 keeps 8 bits of mantissa (2⁻⁹ = 2e-3 relative per operand); random signs average
                // the products' errors down. A wrong transpose, alpha or beta errs by O(1).
                CHECK(error < 4e-3);
                CHECK(error > 1e-5);  // the products did run in bf16
            }
}

TEST_CASE("cpu_bf16: double products and thin float products are the CPU backend's, bit for bit") {
    if (!bf16_here()) return;
    const auto a = random_matrix<double>(64, 48, 4), b = random_matrix<double>(48, 32, 5), c0 = random_matrix<double>(64, 32, 6);
    CHECK(product<double, sd::backend::cpu_bf16>(a, false, b, false, c0, 1.0, 0.5) ==
          product<double, sd::backend::cpu>(a, false, b, false, c0, 1.0, 0.5));
    // An outer product (k = 1) and a matrix–vector product (n = 1) are bound by memory: fp32 as on the CPU.
    const auto column = random_matrix<float>(300, 1, 7), row = random_matrix<float>(1, 200, 8), c1 = random_matrix<float>(300, 200, 9);
    CHECK(product<float, sd::backend::cpu_bf16>(column, false, row, false, c1, 1.f, 0.f) ==
          product<float, sd::backend::cpu>(column, false, row, false, c1, 1.f, 0.f));
    const auto wide = random_matrix<float>(300, 200, 10), vec = random_matrix<float>(200, 1, 11), c2 = random_matrix<float>(300, 1, 12);
    CHECK(product<float, sd::backend::cpu_bf16>(wide, false, vec, false, c2, 1.f, 0.f) ==
          product<float, sd::backend::cpu>(wide, false, vec, false, c2, 1.f, 0.f));
}

TEST_CASE("cpu_bf16: ten trainer steps agree with fp32 within cuda_bf16's tolerance, dense and sparse path") {
    if (!bf16_here()) return;
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
        const auto fp32 = sd_backend_agreement::ten_steps<float, sd::backend::cpu>(tw, c);
        const auto bf16 = sd_backend_agreement::ten_steps<float, sd::backend::cpu_bf16>(tw, c);
        const double e_w_enc = relative_error(bf16.w_enc, fp32.w_enc), e_w_dec = relative_error(bf16.w_dec, fp32.w_dec);
        const double e_b_enc = relative_error(bf16.b_enc, fp32.b_enc), e_b_dec = relative_error(bf16.b_dec, fp32.b_dec);
        MESSAGE("cpu_bf16 after 10 steps, relative error W_enc " << e_w_enc << ", b_enc " << e_b_enc << ", W_dec " << e_w_dec
                                                                  << ", b_dec " << e_b_dec);
        // The CUDA suite's bound for cuda_bf16 (tests/cuda/test_cuda_models.cu): rounded products move each
        // gradient by ~3e-3, Adam's normalised steps carry that into the weights; the biases start at zero.
        for (const double e : {e_w_enc, e_w_dec, e_b_enc, e_b_dec}) CHECK(e < 5e-2);
        CHECK(e_w_enc > 0);  // the bf16 products were used
    }
}

TEST_CASE("cpu_bf16: a CPU without AVX512-BF16 is refused, naming what it has and what to use") {
    for (const dnnl::cpu_isa isa : {dnnl::cpu_isa::avx2, dnnl::cpu_isa::avx512_core, dnnl::cpu_isa::avx512_core_vnni}) {
        CAPTURE(sd::backend::onednn_system::effective_isa_name(isa));
        try {
            sd::backend::onednn_system::require_bf16_instructions(isa);
            FAIL("no exception");
        } catch (const std::runtime_error& e) {
            const std::string message = e.what();
            CHECK(message.find(sd::backend::onednn_system::effective_isa_name(isa)) != std::string::npos);
            CHECK(message.find("AVX512-BF16") != std::string::npos);
            CHECK(message.find("backend::cpu") != std::string::npos);
        }
    }
    CHECK_NOTHROW(sd::backend::onednn_system::require_bf16_instructions(dnnl::cpu_isa::avx512_core_bf16));
    CHECK_NOTHROW(sd::backend::onednn_system::require_bf16_instructions(dnnl::cpu_isa::avx512_core_amx));
}

TEST_CASE("cpu_bf16: rounding to bf16 is to nearest even, and keeps NaN and infinities") {
    using sd::backend::onednn_system::to_bf16;
    CHECK(to_bf16(1.0f) == 0x3f80);
    CHECK(to_bf16(-2.0f) == 0xc000);
    // 1 + 2⁻⁸ lies halfway between bf16 1 and 1 + 2⁻⁷: ties go to the even mantissa (1).
    CHECK(to_bf16(1.0f + 1.0f / 256) == 0x3f80);
    // 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶: up to the even one.
    CHECK(to_bf16(1.0f + 3.0f / 256) == 0x3f82);
    CHECK(to_bf16(1.0f + 1.0f / 256 + 1.0f / 65536) == 0x3f81);  // just above halfway: up
    CHECK(to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
    const std::uint16_t nan = to_bf16(std::numeric_limits<float>::quiet_NaN());
    CHECK((nan & 0x7f80) == 0x7f80);
    CHECK((nan & 0x007f) != 0);
    CHECK(to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds up past the largest bf16
}

}  // namespace onednn_cpu_bf16_test
