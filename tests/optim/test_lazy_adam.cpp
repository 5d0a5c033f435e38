// Lazy Adam (adam::lazy_silent_features): within the per-feature row blocks, a row whose gradient is
// exactly zero keeps its parameters, moments and decay untouched; every other row, and everything outside
// the blocks, gets exactly Adam's update. Hand-computed values for a row that first fires at step 3, the
// fused decoder constraint on lazy rows, the settings' JSON, and the refusal of bad blocks.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include <cmath>
#include <vector>

namespace sd = sparse_distill;
namespace sdo = sparse_distill::optim;

namespace optim_lazy_adam_test {

// A buffer of 2 rows × 3 (a lazy block at offset 1) between two plain parameters: [p, r0 r0 r0, r1 r1 r1, q].
constexpr sd::index_t n = 8;
sdo::lazy_rows block_of_two_rows() {
    sdo::lazy_rows lazy;
    lazy.blocks[0] = {1, 2, 3};
    lazy.count = 1;
    return lazy;
}

TEST_CASE("lazy Adam leaves zero-gradient rows untouched and updates the rest exactly as Adam") {
    sdo::adam settings;
    settings.weight_decay = 0.01;
    sdo::adam lazy_settings = settings;
    lazy_settings.lazy_silent_features = true;
    sdo::adam_state<double> exact, lazy;
    std::vector<double> theta_exact{1, 2, 3, 4, -1, -2, -3, 5}, theta_lazy = theta_exact;
    // Row 0 fires at every step; row 1 is silent (zero gradient) at steps 1 and 2 and fires at step 3.
    const std::vector<std::vector<double>> grads{{0.5, 0.1, 0.2, 0.3, 0, 0, 0, -0.4},
                                                 {-0.2, 0.3, 0.1, -0.1, 0, 0, 0, 0.2},
                                                 {0.1, 0.2, -0.3, 0.4, 0.6, -0.5, 0.25, 0.1}};
    for (std::size_t step = 0; step < grads.size(); ++step) {
        exact.update(settings, 0.1, theta_exact.data(), grads[step].data(), n);
        lazy.update(lazy_settings, 0.1, theta_lazy.data(), grads[step].data(), n, {}, block_of_two_rows());
        if (step < 2) {
            // The silent row: parameters as they started (no decay), moments still zero.
            CHECK(theta_lazy[4] == -1);
            CHECK(theta_lazy[5] == -2);
            CHECK(theta_lazy[6] == -3);
            for (sd::index_t i = 4; i < 7; ++i) CHECK(lazy.first_moment()[i] == 0);
            for (sd::index_t i = 4; i < 7; ++i) CHECK(lazy.second_moment()[i] == 0);
            // Exact AdamW decayed it: θ·(1 − lr·wd) at each step.
            CHECK(theta_exact[4] == doctest::Approx(-1 * std::pow(1 - 0.1 * 0.01, double(step + 1))).epsilon(1e-15));
        }
    }
    // Outside the block and in the row that always fired: the same arithmetic, bit for bit.
    for (const std::size_t i : {0u, 1u, 2u, 3u, 7u}) CHECK(theta_lazy[i] == theta_exact[i]);
    // The row that first fired at step 3, by hand: m = (1 − β1)·g, v = (1 − β2)·g², bias corrections of
    // step 3 (the global step): θ = θ0·(1 − lr·wd) − lr/(1 − β1³)·m / (√v/√(1 − β2³) + ε).
    for (const sd::index_t i : {4, 5, 6}) {
        const double g = grads[2][static_cast<std::size_t>(i)], theta0 = -double(i - 3);
        const double m = 0.1 * g, v = 0.001 * g * g;
        const double expected = theta0 * (1 - 0.1 * 0.01) - 0.1 / (1 - std::pow(0.9, 3)) * m / (std::sqrt(v) / std::sqrt(1 - std::pow(0.999, 3)) + 1e-8);
        CAPTURE(i);
        CHECK(theta_lazy[static_cast<std::size_t>(i)] == doctest::Approx(expected).epsilon(1e-14));
        CHECK(lazy.first_moment()[i] == doctest::Approx(m).epsilon(1e-15));
    }
    CHECK(lazy.steps() == 3);
}

TEST_CASE("lazy Adam on the constrained decoder rows: a silent row is neither moved nor renormalised, a firing one is capped") {
    sdo::adam settings;
    settings.lazy_silent_features = true;
    sdo::adam_state<double> state;
    // Two decoder rows of norm 5: row 0 fires, row 1 is silent.
    std::vector<double> theta{3, 4, 0, 0, 4, 3};
    const std::vector<double> grad{0.1, -0.1, 0, 0, 0, 0};
    sdo::lazy_rows lazy;
    lazy.blocks[0] = {2, 2, 2};
    lazy.count = 1;
    state.update(settings, 0.01, theta.data(), grad.data(), 6, {2, 2, 2, sd::decoder_norm::cap}, lazy);
    CHECK(theta[4] == 4);
    CHECK(theta[5] == 3);
    CHECK(std::hypot(theta[2], theta[3]) == doctest::Approx(0.0));  // zero gradient, zero row: unchanged
    CHECK(theta[0] != 3);  // outside the block: updated
}

TEST_CASE("a student's feature rows, trained lazily: a feature that never fires keeps its weights exactly") {
    sd::student_config c;
    c.d_in = c.d_out = 16;
    c.d_sae = 32;
    sd::student_mlp<double> student(c, 3);
    sd::student_weights<double> w = student.weights();
    w.b_enc(7) = -1e6;  // feature 7 can never fire
    student.load(w);
    const sd::student_weights<double> before = student.weights();
    sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(16, 32, sd::activation::gelu, 4));
    for (const bool lazy : {false, true}) {
        CAPTURE(lazy);
        sd::student_mlp<double> trained(c, 3);
        trained.load(before);
        sd::train_settings s;
        s.batch_size = 64;
        s.tokens = 20 * 64;
        s.loss.l1_coeff = 1e-3;
        s.adam.weight_decay = 0.05;
        s.adam.lazy_silent_features = lazy;
        sd::data::gaussian_source<double> source(16, 5);
        sd::trainer<double> trainer(trained, teacher, s);
        trainer.run(source);
        const sd::student_weights<double> after = trained.weights();
        if (lazy) {
            CHECK(after.w_enc.row(7) == before.w_enc.row(7));
            CHECK(after.w_dec.row(7) == before.w_dec.row(7));
            CHECK(after.b_enc(7) == before.b_enc(7));
        } else {
            // Exact AdamW decays the silent feature's weights at every step.
            CHECK(after.w_enc.row(7).norm() < before.w_enc.row(7).norm());
        }
        CHECK(after.w_enc.row(0) != before.w_enc.row(0));  // a live feature trained either way
    }
}

TEST_CASE("lazy_silent_features: JSON round trip, written only when on; bad blocks refused") {
    sdo::adam a;
    CHECK(nlohmann::json(a).contains("lazy_silent_features") == false);
    a.lazy_silent_features = true;
    const nlohmann::json j = a;
    CHECK(j.at("lazy_silent_features") == true);
    CHECK(j.get<sdo::adam>() == a);
    std::vector<double> theta(8, 1.0), grad(8, 0.5), m(8), v(8);
    sdo::adam_update_args args;
    args.lr = 0.1;
    args.lazy.blocks[0] = {6, 2, 3};  // 6 + 6 > 8
    args.lazy.count = 1;
    CHECK_THROWS_WITH_AS(sd::backend::adam_update<sd::backend::cpu>(theta.data(), grad.data(), m.data(), v.data(), 8, args),
                         doctest::Contains("leave the 8 parameters"), std::invalid_argument);
}

}  // namespace optim_lazy_adam_test
