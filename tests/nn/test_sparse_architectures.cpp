// The sparse architectures (nn/sparsity.hpp): TopK, BatchTopK, JumpReLU and the skip connection.
// Gradients against central finite differences in double wherever the loss is differentiable (the
// selection is locally constant; JumpReLU's threshold gradient is a straight-through estimate, which
// the train_step_variants references check instead, as they do AuxK's stopped-gradient residual); the
// selections against their definitions; and the settings that do not fit an architecture.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <support/finite_difference.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace nn_sparse_architectures_test {

struct fixture {
    sd::index_t batch = 8;
    sd::matrix<double> x, y;
    explicit fixture(sd::index_t d, sd::index_t batches = 1) {
        x.resize(batch * batches, d);
        sd::random::fill_normal(x, sd::random::counter_rng(9, 1));
        sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(d, 11, sd::activation::gelu, 3));
        y = teacher.forward(x);
    }
};

/// Largest relative error between the analytic gradient and finite differences, over the parameters
/// in [0, checked) of the flat buffer.
double worst_gradient_error(const sd::student_config& config, const sd::loss_settings& loss, sd::index_t checked = -1) {
    fixture f(config.d_in);
    sd::student_mlp<double> student(config, 17);
    double* p = student.parameters();
    const sd::random::counter_rng jitter(5, 77);
    for (sd::index_t i = 0; i < student.parameter_count(); ++i) p[i] += 0.3 * jitter.normal(static_cast<std::uint64_t>(i));
    sd::student_workspace<double> ws;
    const auto loss_at = [&] { return sd::loss_and_gradients(student, sd::view(f.x), sd::view(f.y), loss, ws).loss; };
    loss_at();
    const std::vector<double> analytic(student.gradients(), student.gradients() + student.parameter_count());
    double worst = 0;
    const sd::index_t n = checked < 0 ? student.parameter_count() : checked;
    for (sd::index_t i = 0; i < n; ++i) {
        const double numeric = sd_test::central_difference(p[i], loss_at);
        worst = std::max(worst, std::abs(analytic[i] - numeric) / std::max({std::abs(analytic[i]), std::abs(numeric), 1e-4}));
    }
    return worst;
}

sd::student_config small_config(sd::sparsity_mode mode, sd::index_t k = 0) {
    sd::student_config c;
    c.d_in = c.d_out = 5;
    c.d_sae = 12;
    c.sparsity = mode;
    c.k = k;
    c.decoder_norm = sd::decoder_norm::none;
    return c;
}


TEST_CASE("sparse architectures: gradients match central finite differences (double), dense and sparse paths") {
    for (const double sparse_below : {0.0, 1.0}) {
        CAPTURE(sparse_below);
        for (const bool skip : {false, true}) {
            CAPTURE(skip);
            sd::student_config topk = small_config(sd::sparsity_mode::topk, 3);
            topk.skip = skip;
            topk.skip_init_scale = 0.5;
            topk.sparse_below_density = sparse_below;
            CHECK(worst_gradient_error(topk, {}) < 1e-7);

            sd::student_config batchtopk = small_config(sd::sparsity_mode::batchtopk, 3);
            batchtopk.skip = skip;
            batchtopk.sparse_below_density = sparse_below;
            CHECK(worst_gradient_error(batchtopk, {}) < 1e-7);

            // JumpReLU: every parameter but log θ (the straight-through estimate), which sits after
            // w_enc | b_enc | w_dec | b_dec in the flat buffer, before W_skip.
            sd::student_config jump = small_config(sd::sparsity_mode::jumprelu);
            // With these draws every pre-activation lies ≥ 0.03 from its threshold: no finite-difference
            // step crosses one (a crossing is a jump of the loss, not a derivative).
            jump.threshold_init = 0.1;
            jump.skip = skip;
            jump.sparse_below_density = sparse_below;
            sd::loss_settings l0;
            l0.l0_coeff = 0.1;
            const sd::index_t before_threshold = jump.d_sae * jump.d_in + jump.d_sae + jump.d_sae * jump.d_out + jump.d_out;
            CHECK(worst_gradient_error(jump, l0, before_threshold) < 1e-7);
        }
    }
}

TEST_CASE("sparse architectures: TopK keeps k per token, BatchTopK k·batch per batch, then a JumpReLU at τ") {
    fixture f(5);
    sd::student_config c = small_config(sd::sparsity_mode::topk, 3);
    sd::student_mlp<double> topk(c, 4);
    const sd::matrix<double> a = topk.encode(f.x);
    // The kept entries of each row are its 3 largest relu(pre): compare with a full sort.
    sd::student_config dense = c;
    dense.sparsity = sd::sparsity_mode::l1;
    dense.k = 0;
    const sd::matrix<double> relu = sd::student_mlp<double>(dense, topk.weights()).encode(f.x);
    for (sd::index_t r = 0; r < f.batch; ++r) {
        std::vector<double> row(relu.row(r).data(), relu.row(r).data() + c.d_sae);
        std::vector<double> sorted = row;
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        for (sd::index_t j = 0; j < c.d_sae; ++j) CHECK(a(r, j) == (row[j] >= sorted[2] ? row[j] : 0.0));
        CHECK((a.row(r).array() > 0).count() <= 3);
    }

    sd::student_config bc = small_config(sd::sparsity_mode::batchtopk, 3);
    sd::student_mlp<double> batchtopk(bc, 4);
    sd::student_workspace<double> ws;
    ws.reserve(f.batch, bc);
    ws.training = true;
    const sd::backend::activation_sums kept = batchtopk.forward(sd::view(f.x), ws);
    CHECK(kept.positive_count == 3 * f.batch);
    const sd::matrix<double> relu_b = sd::student_mlp<double>(dense, batchtopk.weights()).encode(f.x);
    std::vector<double> all(relu_b.data(), relu_b.data() + relu_b.size());
    std::sort(all.begin(), all.end(), std::greater<>());
    CHECK(ws.smallest_kept == all[3 * f.batch - 1]);
    // τ moves by the rate towards the smallest kept activation; inference then gates every latent at τ.
    batchtopk.update_batch_threshold(ws);
    CHECK(batchtopk.batch_threshold() == doctest::Approx(bc.threshold_rate * all[3 * f.batch - 1]).epsilon(1e-15));
    batchtopk.set_batch_threshold(0.4);
    const sd::matrix<double> gated = batchtopk.encode(f.x);
    for (sd::index_t i = 0; i < relu_b.size(); ++i) CHECK(gated.data()[i] == (relu_b.data()[i] > 0.4 ? relu_b.data()[i] : 0.0));
}

TEST_CASE("sparse architectures: selection ops keep the k-th value's ties and handle negative entries") {
    sd::matrix<float> m(2, 6);
    m << 3, -1, 2, 2, -5, 0, -3, -2, -1, -4, -6, -7;
    sd::matrix<float> row_kept = m;
    const sd::backend::activation_sums s = sd::backend::keep_top_k_per_row<sd::backend::cpu>(sd::view(row_kept), 2);
    // Row 0: 3 and both 2s (ties at the 2nd value); row 1: −1 and −2, the two largest, kept although negative.
    sd::matrix<float> expected(2, 6);
    expected << 3, 0, 2, 2, 0, 0, 0, -2, -1, 0, 0, 0;
    CHECK(row_kept == expected);
    CHECK(s.positive_count == 3);
    CHECK(s.abs_sum == doctest::Approx(10));
    sd::matrix<float> batch_kept = m;
    const sd::backend::batch_selection b = sd::backend::keep_top_k_of_batch<sd::backend::cpu>(sd::view(batch_kept), 3);
    expected << 3, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0;
    CHECK(batch_kept == expected);
    CHECK(b.smallest_kept == 2);
    CHECK_THROWS_WITH_AS(sd::backend::keep_top_k_per_row<sd::backend::cpu>(sd::view(row_kept), 7),
                         doctest::Contains("k = 7 outside [1, 6]"), std::invalid_argument);
}

TEST_CASE("sparse architectures: settings that do not fit the architecture are refused, naming the setting") {
    sd::student_config c = small_config(sd::sparsity_mode::topk, 0);
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("k must lie in [1, d_sae = 12]"), std::invalid_argument);
    c.k = 13;
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("(got 13)"), std::invalid_argument);
    c.k = 3;
    c.act = sd::activation::gelu;
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("sparsity = topk needs act = relu"), std::invalid_argument);
    sd::student_config relu = small_config(sd::sparsity_mode::l1, 4);
    CHECK_THROWS_WITH_AS(relu.validate(), doctest::Contains("k = 4 is set but sparsity = l1"), std::invalid_argument);

    const sd::student_config topk = small_config(sd::sparsity_mode::topk, 3);
    sd::loss_settings loss;
    loss.l1_coeff = 0.1;
    CHECK_THROWS_WITH_AS(loss.validate_for(topk), doctest::Contains("l1_coeff = 0.100000 applies to sparsity = l1"), std::invalid_argument);
    loss = {};
    loss.bandwidth = 0;
    CHECK_THROWS_WITH_AS(loss.validate_for(topk), doctest::Contains("bandwidth must be positive"), std::invalid_argument);
    loss = {};
    loss.auxk.alpha = 0.03;
    CHECK_NOTHROW(loss.validate_for(topk));
    CHECK_THROWS_WITH_AS(loss.validate_for(small_config(sd::sparsity_mode::jumprelu)), doctest::Contains("AuxK trains dead latents"),
                         std::invalid_argument);
    loss = {};
    loss.l0_coeff = 1;
    CHECK_THROWS_WITH_AS(loss.validate_for(topk), doctest::Contains("l0_coeff applies to sparsity = jumprelu"), std::invalid_argument);

    // The trainer checks the pair before anything runs.
    sd::student_mlp<float> student(topk, 1);
    sd::train_settings ts = sd::train_settings::for_steps(2, 8);
    ts.loss.l1_coeff = 0.1;
    CHECK_THROWS_AS(sd::trainer<float>(student, ts), std::invalid_argument);
}

TEST_CASE("sparse architectures: the trainer counts dead latents and reports their share") {
    fixture f(5, 6);
    sd::student_config c = small_config(sd::sparsity_mode::topk, 1);
    c.d_sae = 40;
    sd::student_mlp<double> student(c, 2);
    sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(5, 11, sd::activation::gelu, 3));
    sd::train_settings ts = sd::train_settings::for_steps(6, f.batch);
    ts.dead_tokens = 2 * f.batch;  // dead after two batches without firing
    sd::trainer<double> trainer(student, teacher, ts);
    sd::data::matrix_source<double> source(f.x);
    sd::step_metrics m;
    for (int step = 0; step < 6; ++step) REQUIRE(trainer.step(source, m));
    // One latent per token and 8 tokens a batch: at most 8 of 40 latents fire on the last batch, so
    // at least some are counted dead; every count is a multiple of the batch.
    const auto& since = trainer.tokens_since_fired();
    const auto dead = std::count_if(since.begin(), since.end(), [&](std::int64_t t) { return t > ts.dead_tokens; });
    CHECK(dead > 0);
    CHECK(m.dead_fraction == doctest::Approx(double(dead) / 40));
    for (const std::int64_t t : since) CHECK(t % f.batch == 0);

    // A GELU student has no exact zeros: nothing is counted.
    sd::student_config gelu = small_config(sd::sparsity_mode::l1);
    gelu.act = sd::activation::gelu;
    sd::student_mlp<double> g(gelu, 2);
    sd::trainer<double> gt(g, teacher, ts);
    sd::data::matrix_source<double> again(f.x);
    REQUIRE(gt.step(again, m));
    CHECK(std::isnan(m.dead_fraction));
}

}  // namespace nn_sparse_architectures_test
