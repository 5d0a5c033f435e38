// Checkpoints of the sparse architectures: what is not a parameter (the tokens since each latent
// fired, behind AuxK's dead set, and BatchTopK's threshold τ) is saved too, so a resumed run ends
// bit-identical to an uninterrupted one.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "support/temp_files.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace train_checkpoint_architectures_test {

constexpr sd::index_t d = 12, batch = 16;

struct stop_after {
    std::int64_t after;
    std::int64_t seen = 0;
    void on_step(const auto&) { ++seen; }
    bool should_stop() const { return seen >= after; }
};

// Keeps the AuxK term of the last reported step.
struct keep_auxk {
    double* out;
    void on_step(const auto& report) { *out = report.metrics.terms.auxk; }
};

struct run_result {
    std::vector<double> parameters;
    std::vector<std::int64_t> since_fired;
    double tau = 0;
    double last_auxk = 0;
};

sd::train_settings settings(std::int64_t steps, const std::filesystem::path& dir) {
    sd::train_settings s = sd::train_settings::for_steps(steps, batch);
    s.schedule = {1e-2, 2, 0, 0.1};
    s.adam.weight_decay = 1e-3;
    s.loss.auxk.alpha = 1.0 / 32;
    s.dead_tokens = 3 * batch;  // dead after three batches: AuxK has work from the fourth step on
    s.callback_every = 1;
    s.checkpoint.directory = dir;
    return s;
}

/// `steps` steps in one run, or `first` steps, a resume into a fresh student, and the rest.
run_result train(sd::sparsity_mode mode, std::int64_t steps, std::int64_t first, const std::filesystem::path& dir) {
    sd::student_config c;
    c.d_in = c.d_out = d;
    c.d_sae = 96;
    c.sparsity = mode;
    c.k = 2;
    c.skip = true;
    sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(d, 24, sd::activation::gelu, 5));
    run_result r;
    std::optional<sd::trainer<double>> last;
    // A resumed run starts from another seed: everything that matters must come from the checkpoint.
    sd::student_mlp<double> student(c, first < steps ? 99 : 1);
    sd::data::gaussian_source<double> source(d, 9);
    double auxk = 0;
    if (first < steps) {
        sd::student_mlp<double> early(c, 1);
        sd::data::gaussian_source<double> early_source(d, 9);
        sd::trainer<double> t(early, teacher, settings(steps, dir));
        REQUIRE(t.run(early_source, stop_after{first}).steps == first);
        sd::train_settings resume = settings(steps, dir);
        resume.checkpoint.resume = true;
        last.emplace(student, teacher, resume);
    } else {
        last.emplace(student, teacher, settings(steps, dir));
    }
    REQUIRE(last->run(source, keep_auxk{&auxk}).steps == steps);
    r.parameters.assign(student.parameters(), student.parameters() + student.parameter_count());
    r.since_fired = last->tokens_since_fired();
    r.tau = student.batch_threshold();
    r.last_auxk = auxk;
    return r;
}


TEST_CASE("checkpoints of TopK + AuxK + skip and BatchTopK students resume bit-identically (dead counts and τ saved)") {
    for (const sd::sparsity_mode mode : {sd::sparsity_mode::topk, sd::sparsity_mode::batchtopk}) {
        CAPTURE(std::string(sd::to_string(mode)));
        sd_test::temp_dir straight_dir("sd_arch_straight"), resumed_dir("sd_arch_resumed");
        const run_result straight = train(mode, 12, 12, straight_dir.path);
        const run_result resumed = train(mode, 12, 5, resumed_dir.path);
        CHECK(straight.last_auxk > 0);  // AuxK was at work, so its dead set mattered
        CHECK(resumed.parameters == straight.parameters);
        CHECK(resumed.since_fired == straight.since_fired);
        CHECK(resumed.tau == straight.tau);
        if (mode == sd::sparsity_mode::batchtopk) CHECK(straight.tau > 0);
        const sd::checkpoint_data<double> saved = sd::read_checkpoint<double>(sd::checkpoint_file(resumed_dir.path));
        CHECK(saved.tokens_since_fired == straight.since_fired);
        CHECK(saved.batch_threshold == straight.tau);
    }
}

}  // namespace train_checkpoint_architectures_test
