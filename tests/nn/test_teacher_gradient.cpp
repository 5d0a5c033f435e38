// The teacher family: plain (GELU, ReLU) and gated (SwiGLU) MLPs. The backend forward agrees with a
// direct computation, and the input gradient agrees with central finite differences in double.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace nn_teacher_gradient_test {
sd::mlp_weights<double> swiglu_weights(std::uint64_t seed) {
    auto w = sd::random_mlp_weights<double>(6, 10, sd::activation::silu, seed, /*biases=*/false);
    w.w_up.resize(10, 6);
    sd::random::fill_uniform(w.w_up, sd::random::counter_rng(seed, 77), -0.5, 0.5);
    return w;
}

// max |analytic − numeric| / max(1, |numeric|) over every input coordinate, for a random g.
double input_gradient_error(const sd::mlp_weights<double>& w) {
    sd::matrix<double> x(3, w.d_model()), g(3, w.d_model());
    sd::random::fill_normal(x, sd::random::counter_rng(5, 1));
    sd::random::fill_normal(g, sd::random::counter_rng(5, 2));
    const sd::matrix<double> analytic = sd::mlp_input_gradient(w, x, g);
    double worst = 0;
    const double h = 1e-6;
    for (sd::index_t r = 0; r < x.rows(); ++r)
        for (sd::index_t c = 0; c < x.cols(); ++c) {
            sd::matrix<double> xp = x, xm = x;
            xp(r, c) += h;
            xm(r, c) -= h;
            const double numeric =
                ((sd::mlp_reference_forward(w, xp) - sd::mlp_reference_forward(w, xm)).cwiseProduct(g)).sum() / (2 * h);
            worst = std::max(worst, std::abs(analytic(r, c) - numeric) / std::max(1.0, std::abs(numeric)));
        }
    return worst;
}

TEST_CASE("SwiGLU teacher: forward is W_out·(silu(W_in·x) ⊙ W_up·x), hidden is the gated activation") {
    const auto w = swiglu_weights(3);
    sd::teacher_mlp<double> teacher(w);
    CHECK(teacher.gated());
    sd::matrix<double> x(5, 6);
    sd::random::fill_normal(x, sd::random::counter_rng(9, 1));
    const sd::matrix<double> y = teacher.forward(x);
    CHECK((y - sd::mlp_reference_forward(w, x)).cwiseAbs().maxCoeff() < 1e-13);
    // By hand for one token and one neuron.
    const double z = w.w_in.row(2).dot(x.row(1)), u = w.w_up.row(2).dot(x.row(1));
    CHECK(teacher.hidden(x)(1, 2) == doctest::Approx(z / (1 + std::exp(-z)) * u).epsilon(1e-13));
    // The weights round-trip, W_up included.
    CHECK(teacher.weights().w_up == w.w_up);
    auto bad = w;
    bad.w_up.resize(3, 6);
    CHECK_THROWS_WITH(sd::teacher_mlp<double>{bad}, doctest::Contains("w_up"));
}

TEST_CASE("teacher input gradient matches finite differences: GELU, GELU-tanh, SiLU, SwiGLU") {
    for (const auto act : {sd::activation::gelu, sd::activation::gelu_tanh, sd::activation::silu}) {
        CAPTURE(sd::to_string(act));
        CHECK(input_gradient_error(sd::random_mlp_weights<double>(6, 10, act, 4)) < 1e-7);
    }
    CHECK(input_gradient_error(swiglu_weights(8)) < 1e-7);
}

}  // namespace nn_teacher_gradient_test
