// The main job's experiment reproduces the post's qualitative findings on planted data (at the
// distill program's defaults, with fewer tokens): a ReLU student is a mixture of neuron simulators
// and sparse features; simulators copy one neuron each and track it; sparse features find the
// planted directions far better than simulators do.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <sparse_distill/experiments/planted_distillation.hpp>

namespace sd = sparse_distill;

TEST_CASE("planted distillation: a ReLU student mixes simulators and sparse features, sparse ones find the planted features") {
    sd::experiments::planted_distillation_settings s;
    s.data.probability = 0.008;
    s.eval_tokens = 4096;
    sd::experiments::model_spec m;
    m.name = "relu_student";
    m.config.d_sae = 1024;
    m.train.batch_size = 256;
    m.train.tokens = 600'000;
    m.train.loss.l1_coeff = 0.3;
    m.train.schedule.lr = 1e-2;
    m.train.schedule.warmup_steps = 100;
    s.models.push_back(m);
    const auto r = sd::experiments::run_planted_distillation<float>(s, [](const auto&, std::int64_t) { return sd::no_callbacks{}; });
    REQUIRE(r.models.size() == 1);
    const auto& a = r.models[0].analysis;
    const auto& rec = r.models[0].recovery;
    MESSAGE("simulators " << a.counts.simulators << ", sparse " << a.counts.sparse << ", dead " << a.counts.dead
                          << "; encoder alignment sparse " << rec.encoder_alignment_sparse << " vs simulators "
                          << rec.encoder_alignment_simulators << " (chance " << rec.alignment_chance << ")");
    CHECK(a.counts.fraction(a.counts.simulators) > 0.1);
    CHECK(a.counts.fraction(a.counts.sparse) > 0.3);
    CHECK(a.consistency.fraction() > 0.5);
    CHECK(a.correlations.mean() > 0.5);
    CHECK(rec.encoder_alignment_sparse > rec.encoder_alignment_simulators + 0.15);
    CHECK(rec.encoder_alignment_sparse > rec.alignment_chance + 0.15);
    CHECK(rec.encoder.mean_best_cosine > rec.encoder_chance + 0.15);
    CHECK(a.ablation.full.fvu < 0.3);
}

TEST_CASE("planted distillation: impossible settings name the model and the field") {
    sd::experiments::planted_distillation_settings s;
    CHECK_THROWS_WITH(s.validate(), doctest::Contains("no model"));
    sd::experiments::model_spec m;
    m.name = "x";
    m.config.d_sae = 16;
    m.train.batch_size = 64;
    m.train.tokens = 10;
    s.models.push_back(m);
    CHECK_THROWS_WITH(s.validate(), doctest::Contains("model 'x': train_settings: tokens"));
}
