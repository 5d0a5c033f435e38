// Student initialisation options, the decoder constraint, and forward-pass shapes.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

namespace sd = sparse_distill;

TEST_CASE("kaiming_uniform init: the post's bounds, decoder capped, biases zero") {
    sd::student_config c;
    c.d_in = c.d_out = 64;
    c.d_sae = 256;
    sd::student_mlp<double> s(c, 1);
    const auto w = s.weights();
    CHECK(w.w_enc.cwiseAbs().maxCoeff() <= std::sqrt(6.0 / 256));
    CHECK(w.w_enc.cwiseAbs().maxCoeff() > 0.9 * std::sqrt(6.0 / 256));
    CHECK(w.w_dec.rowwise().norm().maxCoeff() <= 1.0 + 1e-12);
    CHECK(w.b_enc.isZero());
    CHECK(w.b_dec.isZero());
    // Same seed, same weights; another seed, others.
    CHECK(sd::student_mlp<double>(c, 1).weights().w_enc == w.w_enc);
    CHECK(sd::student_mlp<double>(c, 2).weights().w_enc != w.w_enc);
}

TEST_CASE("tied_transpose init: decoder rows of norm 0.1 and W_enc = W_decᵀ") {
    sd::student_config c;
    c.d_in = c.d_out = 16;
    c.d_sae = 64;
    c.init = sd::student_init::tied_transpose;
    const auto w = sd::student_mlp<double>(c, 3).weights();
    for (double n : w.w_dec.rowwise().norm()) CHECK(n == doctest::Approx(0.1).epsilon(1e-12));
    CHECK(w.w_enc == w.w_dec);  // feature-major storage: row j of both is feature j
}

TEST_CASE("decoder constraint modes: cap, unit, none") {
    sd::student_config c;
    c.d_in = c.d_out = 3;
    c.d_sae = 3;
    c.init = sd::student_init::linear_default;
    sd::student_weights<double> w = sd::student_mlp<double>(c, 1).weights();
    w.w_dec << 3, 4, 0,   // norm 5
        0.3, 0.4, 0,      // norm 0.5
        0, 0, 0;          // zero row
    for (const sd::decoder_norm mode : {sd::decoder_norm::cap, sd::decoder_norm::unit, sd::decoder_norm::none}) {
        c.decoder_norm = mode;
        sd::student_mlp<double> s(c, w);
        s.apply_decoder_constraint();
        const sd::vector<double> n = s.weights().w_dec.rowwise().norm();
        CAPTURE(sd::to_string(mode));
        CHECK(n[0] == doctest::Approx(mode == sd::decoder_norm::none ? 5.0 : 1.0));
        CHECK(n[1] == doctest::Approx(mode == sd::decoder_norm::unit ? 1.0 : 0.5));
        CHECK(n[2] == 0.0);  // a zero row stays zero (no division by zero)
        CHECK(s.weights().w_dec(0, 0) == doctest::Approx(mode == sd::decoder_norm::none ? 3.0 : 0.6));
    }
}

TEST_CASE("forward pass equals the formula, with and without pre-bias") {
    sd::student_config c;
    c.d_in = c.d_out = 4;
    c.d_sae = 6;
    c.init = sd::student_init::linear_default;
    c.pre_bias = sd::pre_bias::learned;
    sd::student_mlp<double> s(c, 5);
    sd::student_weights<double> w = s.weights();
    w.b_pre << 0.1, -0.2, 0.3, 0.0;
    s.load(w);
    sd::matrix<double> x(3, 4);
    sd::random::fill_normal(x, sd::random::counter_rng(1, 1));
    const sd::matrix<double> centred = x.rowwise() - w.b_pre.transpose();
    const sd::matrix<double> z = (centred * w.w_enc.transpose()).rowwise() + w.b_enc.transpose();
    const sd::matrix<double> a = z.cwiseMax(0.0);
    const sd::matrix<double> y = (a * w.w_dec).rowwise() + w.b_dec.transpose();
    CHECK((s.encode(x) - a).norm() < 1e-14);
    CHECK((s.predict(x) - y).norm() < 1e-14);
}

TEST_CASE("teacher forward equals the formula, for each activation") {
    for (const sd::activation act : {sd::activation::gelu, sd::activation::gelu_tanh, sd::activation::relu}) {
        const auto w = sd::random_mlp_weights<double>(5, 7, act, 2);
        sd::teacher_mlp<double> t(w);
        sd::matrix<double> x(4, 5);
        sd::random::fill_normal(x, sd::random::counter_rng(3, 1));
        sd::matrix<double> h = (x * w.w_in.transpose()).rowwise() + w.b_in.transpose();
        h = h.unaryExpr([act](double v) { return sd::activate(act, v); });
        const sd::matrix<double> y = (h * w.w_out).rowwise() + w.b_out.transpose();
        CHECK((t.forward(x) - y).norm() < 1e-13);
    }
    sd::mlp_weights<double> bad = sd::random_mlp_weights<double>(5, 7, sd::activation::gelu, 2);
    bad.b_in.resize(3);
    CHECK_THROWS_WITH_AS(sd::teacher_mlp<double>{bad}, doctest::Contains("b_in has 3 entries, expected d_mlp = 7"),
                         std::invalid_argument);
}
