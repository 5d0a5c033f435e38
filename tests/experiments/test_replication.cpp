// The replication study's machinery: the verdict rules, the claims applied to hand-made runs (so each
// verdict can be predicted), the settings each hypothesis changes, and the run cache that lets a
// stopped study resume.
#include <doctest/doctest.h>
#include <sparse_distill/experiments/replication/claims.hpp>

#include "support/temp_files.hpp"
#include "support/thrown_message.hpp"

#include <cmath>

namespace sd = sparse_distill;
namespace rp = sparse_distill::experiments::replication;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace experiments_replication_test {
const double nan_value = std::nan("");

TEST_CASE("replication: mean and sample standard deviation over seeds, NaN seeds left out") {
    const rp::seed_values v{{1, 2, nan_value, 3, 4}};
    CHECK(v.mean() == doctest::Approx(2.5));
    CHECK(v.sd() == doctest::Approx(std::sqrt(5.0 / 3.0)));
    CHECK(v.min() == 1);
    CHECK(v.max() == 4);
    CHECK(std::isnan(rp::seed_values{{nan_value}}.mean()));
    CHECK(std::isnan(rp::seed_values{{2}}.sd()));
}

TEST_CASE("replication: a setting is reproduced when every seed is inside the band, contradicted when none is") {
    const rp::band b{0.20, 0.38};
    CHECK(rp::judge(b, {{0.2, 0.3, 0.38}}) == rp::verdict::reproduced);
    CHECK(rp::judge(b, {{0.1, 0.5}}) == rp::verdict::contradicted);
    CHECK(rp::judge(b, {{0.3, 0.5}}) == rp::verdict::mixed);
    CHECK(rp::judge(b, {{0.3, nan_value}}) == rp::verdict::mixed);  // a seed with nothing to measure does not support it
    CHECK(rp::judge(b, {{nan_value, nan_value}}) == rp::verdict::not_measured);
    CHECK(rp::judge(rp::band::at_least(0.9), {{0.95, 1.0}}) == rp::verdict::reproduced);
    CHECK(rp::judge(rp::band::at_most(0.3), {{0.31}}) == rp::verdict::contradicted);
    CHECK(rp::judge(rp::band::holds(), {{1, 1, 0}}) == rp::verdict::mixed);
}

TEST_CASE("replication: the overall verdict names the settings each way when they disagree") {
    using rp::verdict;
    const auto s = [](std::string name, verdict v) { return rp::setting_outcome{std::move(name), {}, v}; };
    CHECK(rp::overall_verdict({s("a", verdict::reproduced), s("b", verdict::reproduced)}) == "reproduced");
    CHECK(rp::overall_verdict({s("a", verdict::contradicted), s("b", verdict::not_measured)}) == "contradicted");
    CHECK(rp::overall_verdict({}) == "not measured");
    CHECK(rp::overall_verdict({s("a", verdict::reproduced), s("b", verdict::contradicted), s("c", verdict::contradicted),
                               s("d", verdict::mixed)}) ==
          "depends on the setting: reproduced under a; contradicted under b, c; mixed under d");
}

TEST_CASE("replication: every claim has a rule, and the rules are the ones stated in words") {
    const auto claims = rp::post_claims();
    REQUIRE(claims.size() == 10);
    for (const rp::claim& c : claims) {
        CAPTURE(c.id);
        CHECK(!c.statement.empty());
        CHECK(!c.post_value.empty());
        CHECK(!c.rule_text.empty());
        CHECK(c.rule.lo <= c.rule.hi);
    }
    CHECK(claims[0].rule.contains(0.29));
    CHECK_FALSE(claims[0].rule.contains(0.10));
    CHECK(claims[1].rule.contains(0.154));  // the post's own mean passes its rule
    CHECK(claims[2].rule.contains(0.989));
    CHECK(claims[3].rule.contains(0.70));
}

rp::model_measurement model(std::string role, double share, double mse, double sims_ablated = 0, double sparse_ablated = 0) {
    rp::model_measurement m;
    m.role = std::move(role);
    m.simulator_share = share;
    m.mse = mse;
    m.mse_simulators_ablated = sims_ablated;
    m.mse_sparse_ablated = sparse_ablated;
    return m;
}

/// Two λ settings (the higher one "ours", with the SAE) at two seeds, with numbers chosen by hand.
rp::study_result hand_made_study() {
    rp::study_result r;
    r.seeds = {0, 1};
    rp::planted_setting low, ours;
    low.name = "λ = 0.1", low.l1_coeff = 0.1, low.lambda_sweep = true;
    ours.name = "λ = 0.3", ours.l1_coeff = 0.3, ours.lambda_sweep = true;
    ours.experiment.models.resize(3);
    ours.experiment.models[2].sae = true;
    r.planted_settings = {ours, low};  // out of order: the λ sweep sorts by λ
    // seed 0: MSE rises with λ; seed 1: it falls. Low λ: simulators carry the signal at seed 0 only.
    r.planted.push_back({"λ = 0.1", 0, {model("relu", 0.30, 1.0, 5.0, 2.0), model("gelu", 0.7, 1.5)}});
    r.planted.push_back({"λ = 0.3", 0, {model("relu", 0.05, 2.0), model("gelu", 0.6, 2.5), model("sae", 0, 0.25)}});
    r.planted.push_back({"λ = 0.1", 1, {model("relu", 0.25, 3.0, 1.0, 2.0), model("gelu", 0.9, 1.5)}});
    r.planted.push_back({"λ = 0.3", 1, {model("relu", 0.02, 2.0), model("gelu", 0.8, 2.5), model("sae", 0, 2.0)}});
    rp::single_neuron_measurement unit{"unit", 0.27, 0.998, 1.0, 30, -1}, free{"none", 0.96, 0.99, 0.5, 200, 5000};
    rp::single_neuron_measurement slow_decoder{"none", 0.96, 0.99, 0.5, 6000, 5000};
    r.single_neuron = {{"unit", 0, unit}, {"none", 0, free}, {"unit", 1, unit}, {"none", 1, slow_decoder}};
    return r;
}

const rp::claim_outcome& find(const std::vector<rp::claim_outcome>& all, const std::string& id) {
    for (const auto& c : all)
        if (c.what.id == id) return c;
    FAIL("no claim " << id);
    return all.front();
}

TEST_CASE("replication: claims judged on hand-made runs give the verdicts their rules predict") {
    const auto claims = rp::judge_claims(hand_made_study());
    const auto& share = find(claims, "simulator_share");
    REQUIRE(share.settings.size() == 2);
    CHECK(share.verdict == "depends on the setting: reproduced under λ = 0.1; contradicted under λ = 0.3");
    CHECK(share.settings[0].values.values == std::vector<double>{0.05, 0.02});  // λ = 0.3 runs first: the order of the settings

    // GELU: 0.6 and 0.8 at λ = 0.3 are both in [0.55, 0.85]; 0.7 and 0.9 at λ = 0.1 are not.
    CHECK(find(claims, "gelu_simulator_share").verdict == "depends on the setting: reproduced under λ = 0.3; mixed under λ = 0.1");
    const auto& rises = find(claims, "error_rises_with_lambda");
    REQUIRE(rises.settings.size() == 1);
    CHECK(rises.settings[0].values.values == std::vector<double>{1, 0});
    CHECK(rises.verdict == "mixed");
    const auto& carry = find(claims, "simulators_carry_signal");
    CHECK(carry.settings[0].setting == "planted, lowest λ (λ = 0.1)");
    CHECK(carry.settings[0].values.values == std::vector<double>{1, 0});
    const auto& sae = find(claims, "student_worse_than_sae");
    CHECK(sae.settings[0].values.values == std::vector<double>{4.0, 1.5});  // lowest-λ student over the SAE, per seed
    CHECK(sae.verdict == "mixed");
    CHECK(find(claims, "single_neuron_constrained").verdict == "reproduced");
    CHECK(find(claims, "single_neuron_free").verdict == "mixed");  // seed 1's decoder crossed 0.9 after the encoder
    CHECK(find(claims, "loss_recovered").verdict == "not measured");  // no language-model runs
}

TEST_CASE("replication: the hypotheses change one thing each from our recipe") {
    rp::planted_study_settings s;
    s.student.train.loss.l1_coeff = 0.3;
    s.student.train.schedule.lr = 0.01;
    s.student.train.batch_size = 256;
    s.student.config.d_sae = 1024;
    s.sae.sae = true;
    s.l1_values = {1.0, 0.03};
    const auto settings = rp::planted_settings_of(s);
    std::vector<std::string> names;
    for (const auto& p : settings) names.push_back(p.name);
    CHECK(names == std::vector<std::string>{"λ = 0.03", "λ = 0.3", "λ = 1.0", "post's recipe", "post's recipe at our lr",
                                            "decoder norm = 1", "ReLU teacher", "dense inputs", "wider teacher",
                                            "higher dimension"});
    for (const auto& p : settings) {
        CAPTURE(p.name);
        const bool ours = p.name == "λ = 0.3";
        REQUIRE(p.experiment.models.size() == (ours ? 3u : 2u));
        CHECK(p.experiment.models[0].config.act == sd::activation::relu);
        CHECK(p.experiment.models[1].config.act == sd::activation::gelu);
        if (ours) CHECK(p.experiment.models[2].sae);
    }
    const auto& post = settings[3].experiment.models[0];
    CHECK(post.train.loss.l1_reduction == sd::l1_reduction::batch_sum);
    CHECK(post.train.loss.l1_coeff == 2e-4);
    CHECK(post.train.batch_size == 1024);
    CHECK(post.train.adam.beta2 == 0.99);
    CHECK(post.train.adam.weight_decay == 1e-4);
    CHECK(post.train.adam.weight_decay_mode == sd::optim::weight_decay_mode::coupled);
    CHECK(post.train.schedule.lr == 5e-5);
    CHECK(post.train.schedule.warmup_steps == 0);
    CHECK(post.train.schedule.lr_min_ratio == 0.01);
    CHECK(post.config.decoder_norm == sd::decoder_norm::unit);
    CHECK(settings[4].experiment.models[0].train.schedule.lr == 0.01);
    CHECK(settings[4].experiment.models[0].train.loss.l1_reduction == sd::l1_reduction::batch_sum);
    CHECK(settings[5].experiment.models[0].config.decoder_norm == sd::decoder_norm::unit);
    CHECK(settings[5].experiment.models[0].train.batch_size == 256);
    CHECK(settings[6].experiment.teacher_act == sd::activation::relu);
    CHECK(settings[7].experiment.data.probability > 10 * s.base.data.probability);
    CHECK(settings[8].experiment.d_mlp == 2 * s.base.d_mlp);
    CHECK(settings[8].experiment.models[0].config.d_sae == 2 * s.student.config.d_sae);
    CHECK(settings[9].experiment.data.dim == 2 * s.base.data.dim);
    CHECK(settings[9].experiment.data.features == 2 * s.base.data.features);
    CHECK(settings[9].experiment.d_mlp == 2 * s.base.d_mlp);
    CHECK(settings[9].experiment.models[1].config.d_sae == 2 * s.student.config.d_sae);
}

TEST_CASE("replication: the language-model settings run our λ at every seed and the sweeps once") {
    rp::lm_study_settings s;
    s.base.train.loss.l1_coeff = 0.03;
    s.l1_values = {0.03, 0.1};
    s.k_values = {16};
    std::vector<std::string> every, once;
    for (const auto& p : rp::lm_settings_of(s)) (p.every_seed ? every : once).push_back(p.name + " (" + rp::lm_role(p.experiment) + ")");
    CHECK(every == std::vector<std::string>{"relu λ = 0.03 (relu)", "gelu λ = 0.03 (gelu)"});
    CHECK(once == std::vector<std::string>{"relu λ = 0.1 (relu)", "gelu λ = 0.1 (gelu)", "sae λ = 0.03 (sae)", "sae λ = 0.1 (sae)",
                                           "topk k = 16 (topk)"});
}

rp::study_settings tiny_study(const std::filesystem::path& cache) {
    rp::study_settings s;
    s.seeds = 2;
    auto& base = s.planted.base;
    base.data = {8, 16, 0.1, 0.5, 1.5, 0.02};
    base.d_mlp = 8;
    base.eval_tokens = 256;
    s.planted.student.config.d_sae = 16;
    s.planted.student.train = sd::train_settings::for_steps(8, 128);
    s.planted.student.train.loss.l1_coeff = 0.1;
    s.planted.student.train.schedule.lr = 0.01;
    s.planted.sae = s.planted.student;
    s.planted.sae.sae = true;
    s.planted.l1_values = {0.1};
    s.planted.hypotheses = false;
    s.neuron.d = 8;
    s.neuron.steps = 20;
    s.neuron.summary_window = 5;
    s.cache = cache;
    return s;
}

TEST_CASE("replication: finished runs are read back from the cache, and a cache made with other settings is refused") {
    const sd_test::temp_dir dir("sd_replication");
    const auto none = [](const sd::experiments::model_spec&, std::int64_t) { return sd::no_callbacks{}; };
    std::vector<std::string> said;
    const auto progress = [&](const std::string& text) { said.push_back(text); };
    const rp::study_result first = rp::run_planted_study(tiny_study(dir.path), none, progress);
    REQUIRE(first.planted.size() == 2);
    REQUIRE(first.planted[0].models.size() == 3);  // relu, gelu, sae
    REQUIRE(first.single_neuron.size() == 6);      // cap, unit, none at two seeds
    CHECK(said.front() == "[1/8] planted λ = 0.1 seed 0");
    CHECK(first.planted[1].models[0].mse != first.planted[0].models[0].mse);  // the seeds differ

    said.clear();
    const rp::study_result again = rp::run_planted_study(tiny_study(dir.path), none, progress);
    CHECK(said.front() == "[1/8] planted λ = 0.1 seed 0 (from the cache)");
    CHECK(first.runs_from_cache == 0);
    CHECK(again.runs_from_cache == 8);
    CHECK(nlohmann::json(again.planted[1].models) == nlohmann::json(first.planted[1].models));
    CHECK(nlohmann::json(again.single_neuron[5].measurement) == nlohmann::json(first.single_neuron[5].measurement));

    rp::study_settings changed = tiny_study(dir.path);
    changed.planted.student.train.schedule.lr = 0.02;
    const std::string message = sd_test::thrown_message([&] { rp::run_planted_study(changed, none, progress); });
    CHECK(message.find("planted_0.1_seed_0.json") != std::string::npos);
    CHECK(message.find("other settings") != std::string::npos);
}

}  // namespace experiments_replication_test
