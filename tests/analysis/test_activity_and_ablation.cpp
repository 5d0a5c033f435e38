// Activation statistics, reconstruction metrics, mean ablation and feature recovery on hand-computed cases.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

namespace sd = sparse_distill;
namespace an = sparse_distill::analysis;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace analysis_activity_and_ablation_test {
// ŷ = relu(x) − relu(−x) = x with two features (+x and −x), d = 1, on x = 1, −1, 2, −2.
struct sign_split {
    sd::student_config config;
    sd::student_weights<double> weights;
    an::eval_tokens<double> eval;

    sign_split() {
        config.d_in = config.d_out = 1;
        config.d_sae = 2;
        config.decoder_norm = sd::decoder_norm::none;
        weights.w_enc.resize(2, 1);
        weights.w_enc << 1, -1;
        weights.w_dec.resize(2, 1);
        weights.w_dec << 1, -1;
        weights.b_enc = sd::vector<double>::Zero(2);
        weights.b_dec = sd::vector<double>::Zero(1);
        eval.teacher_input.resize(4, 1);
        eval.teacher_input << 1, -1, 2, -2;
        eval.student_input = eval.target = eval.teacher_input;
    }
};

TEST_CASE("activation statistics: firing counts, means over all tokens, maxima, L0") {
    const sign_split c;
    const sd::student_mlp<double> s(c.config, c.weights);
    const auto st = an::activation_statistics(s, c.eval.student_input, /*chunk_rows=*/3);  // chunks of 3 and 1
    CHECK(st.tokens == 4);
    CHECK(st.fire_counts == std::vector<std::int64_t>{2, 2});
    CHECK(st.mean_activation[0] == doctest::Approx(0.75));
    CHECK(st.mean_activation[1] == doctest::Approx(0.75));
    CHECK(st.max_activation[1] == doctest::Approx(2.0));
    CHECK(st.l0 == doctest::Approx(1.0));
    CHECK(st.frequency(0) == doctest::Approx(0.5));
    CHECK(st.dead() == 0);
    CHECK(an::log10_frequencies(st) == std::vector<double>{std::log10(0.5), std::log10(0.5)});
}

TEST_CASE("mean ablation: hand-computed errors when one feature is replaced by its mean") {
    sign_split c;
    c.eval.teacher_input << 1, -1, 3, -2;  // a₀ = relu(x) has mean 1, a₁ = relu(−x) mean 0.75
    c.eval.student_input = c.eval.target = c.eval.teacher_input;
    const sd::student_mlp<double> s(c.config, c.weights);
    const auto st = an::activation_statistics(s, c.eval.student_input);
    const std::vector<an::feature_type> types = {an::feature_type::neuron_simulator, an::feature_type::sparse_feature};
    const auto ab = an::mean_ablation_by_type(s, c.eval, types, st, 3);
    CHECK(ab.full.mse == doctest::Approx(0.0));
    // Sparse features only (simulator 0 ablated to 1): ŷ = 1 − relu(−x) → errors 0, 1, 2, 1.
    CHECK(ab.sparse_only.mse == doctest::Approx(6.0 / 4));
    CHECK(ab.sparse_only.fvu == doctest::Approx(6.0 / 14.75));  // ȳ = 0.25, Σ(y − ȳ)² = 14.75
    CHECK(ab.sparse_only.explained_variance() == doctest::Approx(1 - 6.0 / 14.75));
    // Simulators only (sparse feature 1 ablated to 0.75): ŷ = relu(x) − 0.75 → errors 0.75, 0.25, 0.75, 1.25.
    CHECK(ab.simulators_only.mse == doctest::Approx(2.75 / 4));
    CHECK_THROWS_WITH(an::mean_ablation_by_type(s, c.eval, {an::feature_type::dead}, st), doctest::Contains("types"));
}

TEST_CASE("mean ablation keeps a skip connection's part: ŷ = a'·W_dec + b_dec + x·W_skip") {
    sign_split c;
    c.config.skip = true;
    c.weights.w_dec << 0.5, -0.5;  // the features carry x/2, the skip connection the other half
    c.weights.w_skip = sd::matrix<double>::Constant(1, 1, 0.5);
    c.eval.teacher_input << 1, -1, 3, -2;
    c.eval.student_input = c.eval.target = c.eval.teacher_input;
    const sd::student_mlp<double> s(c.config, c.weights);
    const auto st = an::activation_statistics(s, c.eval.student_input);
    const std::vector<an::feature_type> types = {an::feature_type::neuron_simulator, an::feature_type::sparse_feature};
    const auto ab = an::mean_ablation_by_type(s, c.eval, types, st);
    CHECK(ab.full.mse == doctest::Approx(0.0));
    // Simulator 0 ablated to its mean 1: ŷ = 0.5 − relu(−x)/2 + x/2 → errors 0, 0.5, 1, 0.5.
    CHECK(ab.sparse_only.mse == doctest::Approx(1.5 / 4));
}

TEST_CASE("reconstruction: MSE is the loss's term and FVU divides by the targets' variation") {
    sign_split c;
    c.weights.w_dec << 0.5, -0.5;  // ŷ = x/2: error x/2
    const sd::student_mlp<double> s(c.config, c.weights);
    const auto m = an::reconstruction(s, c.eval);
    CHECK(m.mse == doctest::Approx((0.25 + 0.25 + 1 + 1) / 4));
    CHECK(m.fvu == doctest::Approx(0.25));
    CHECK(m.explained_variance() == doctest::Approx(0.75));
}

TEST_CASE("feature recovery: best cosine per planted direction, optionally per feature type") {
    sd::matrix<double> planted = sd::matrix<double>::Identity(3, 3);
    sd::matrix<double> model(3, 3);
    model << 2, 0, 0,   // finds e0
        0, 1, 1,        // half-finds e1 and e2 (cos 1/√2)
        0, 3, 0;        // finds e1
    const auto all = an::recover_features(planted, model);
    CHECK(all.mean_best_cosine == doctest::Approx((1 + 1 + 1 / std::sqrt(2.0)) / 3));
    CHECK(all.per_planted[1].index == 2);
    const std::vector<an::feature_type> types = {an::feature_type::sparse_feature, an::feature_type::neuron_simulator,
                                                 an::feature_type::neuron_simulator};
    const auto sparse = an::recover_features(planted, model, types, {an::feature_type::sparse_feature});
    CHECK(sparse.mean_best_cosine == doctest::Approx(1.0 / 3));
    CHECK(sparse.per_planted[0].index == 0);
    const auto sims = an::recover_features(planted, model, types, {an::feature_type::neuron_simulator});
    CHECK(sims.mean_best_cosine == doctest::Approx((0 + 1 + 1 / std::sqrt(2.0)) / 3));
    CHECK(sims.per_planted[1].index == 2);  // index into the full model, not the subset
    // No feature of the type: undefined, not 0.
    CHECK(std::isnan(an::recover_features(planted, model, types, {an::feature_type::dead}).mean_best_cosine));
    // Alignment averages over the group's features: simulators (rows 1, 2) score 1/√2 and 1.
    CHECK(an::planted_alignment(model, planted, types, {an::feature_type::neuron_simulator}) ==
          doctest::Approx((1 / std::sqrt(2.0) + 1) / 2));
    CHECK(std::isnan(an::planted_alignment(model, planted, types, {an::feature_type::dead})));
}

TEST_CASE("teacher responses: T(m·f) − T(0) for each planted direction") {
    const auto w = sd::random_mlp_weights<double>(4, 8, sd::activation::gelu, 3);
    sd::teacher_mlp<double> teacher(w);
    const sd::matrix<double> planted = sd::matrix<double>::Identity(2, 4);
    const auto r = an::teacher_responses(teacher, planted, 1.5);
    sd::matrix<double> x = sd::matrix<double>::Zero(1, 4);
    x(0, 1) = 1.5;
    const sd::matrix<double> expected = teacher.forward(x) - teacher.forward(sd::matrix<double>::Zero(1, 4));
    CHECK((r.row(1) - expected.row(0)).norm() < 1e-14);
}

TEST_CASE("top activating rows: the k largest positive activations per feature, descending") {
    sign_split c;
    c.eval.teacher_input.resize(6, 1);
    c.eval.teacher_input << 1, -1, 3, -2, 2, 0.5;
    const sd::student_mlp<double> s(c.config, c.weights);
    const auto top = an::top_activating_rows(s, c.eval.teacher_input, 2, /*chunk_rows=*/4);
    REQUIRE(top.size() == 2);
    REQUIRE(top[0].size() == 2);
    CHECK(top[0][0].row == 2);  // x = 3
    CHECK(top[0][0].activation == doctest::Approx(3.0));
    CHECK(top[0][1].row == 4);  // x = 2
    REQUIRE(top[1].size() == 2);
    CHECK(top[1][0].row == 3);  // −x = 2
    CHECK(top[1][1].row == 1);  // −x = 1
    const auto all = an::top_activating_rows(s, c.eval.teacher_input, 10);
    CHECK(all[1].size() == 2);  // feature 1 fires on only two tokens
    CHECK(all[0].size() == 4);
    CHECK_THROWS(an::top_activating_rows(s, c.eval.teacher_input, 0));
}

}  // namespace analysis_activity_and_ablation_test
