// The trainer: constraints after every step, determinism, thread-count independence, callbacks, errors.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace train_trainer_test {

struct run_result {
    sd::student_weights<float> weights;
    sd::train_summary summary;
};

sd::student_config small_student(sd::decoder_norm constraint = sd::decoder_norm::cap) {
    sd::student_config c;
    c.d_in = c.d_out = 32;
    c.d_sae = 128;
    c.decoder_norm = constraint;
    return c;
}

sd::train_settings small_settings(std::int64_t steps) {
    sd::train_settings s;
    s.batch_size = 64;
    s.tokens = steps * s.batch_size;
    s.loss.l1_coeff = 1e-3;
    s.adam.weight_decay = 1e-4;
    s.schedule = {3e-3, 10, 0, 0.1};
    s.callback_every = 10;
    return s;
}

run_result train_small(std::uint64_t seed, std::int64_t steps, int threads) {
    sd::set_num_threads(threads);
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(32, 64, sd::activation::gelu, seed));
    sd::student_mlp<float> student(small_student(), seed + 1);
    sd::trainer<float> trainer(student, teacher, small_settings(steps));
    sd::data::gaussian_source<float> source(32, seed + 2);
    run_result r;
    r.summary = trainer.run(source);
    r.weights = student.weights();
    sd::set_num_threads(2);
    return r;
}


TEST_CASE("the decoder constraint holds after every step") {
    for (const sd::decoder_norm mode : {sd::decoder_norm::cap, sd::decoder_norm::unit}) {
        CAPTURE(sd::to_string(mode));
        sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(32, 64, sd::activation::gelu, 1));
        sd::student_config config = small_student(mode);
        sd::student_mlp<double> student(config, 2);
        // Start with rows far from norm 1 so the constraint has work to do.
        sd::student_weights<double> w = student.weights();
        w.w_dec *= 5.0;
        w.w_dec.row(0) *= 0.01;
        student.load(w);
        sd::train_settings s = small_settings(30);
        s.schedule.lr = 0.05;
        s.callback_every = 1;
        struct checker {
            sd::decoder_norm mode;
            int steps = 0;
            double worst = 0;
            void on_step(const sd::step_report<double, sd::backend::cpu>& r) {
                const sd::vector<double> norms = r.student.weights().w_dec.rowwise().norm();
                ++steps;
                for (double n : norms)
                    worst = std::max(worst, mode == sd::decoder_norm::cap ? n - 1.0 : std::abs(n - 1.0));
            }
        } check{mode};
        sd::trainer<double> trainer(student, teacher, s);
        sd::data::gaussian_source<double> source(32, 3);
        trainer.run(source, check);
        CHECK(check.steps == 30);
        CHECK(check.worst <= 1e-12);
    }
}

TEST_CASE("same seed, same thread count: bit-identical weights after 100 steps") {
    const run_result a = train_small(7, 100, 2), b = train_small(7, 100, 2);
    CHECK(a.weights.w_enc == b.weights.w_enc);
    CHECK(a.weights.w_dec == b.weights.w_dec);
    CHECK(a.weights.b_enc == b.weights.b_enc);
    CHECK(a.weights.b_dec == b.weights.b_dec);
    CHECK(a.summary.last.terms.loss == b.summary.last.terms.loss);
    // A different seed gives a different run (the check above is not vacuous).
    const run_result c = train_small(8, 100, 2);
    CHECK(c.weights.w_enc != a.weights.w_enc);
}

TEST_CASE("1 and 2 threads agree to 1e-5 relative after 100 steps") {
    const run_result one = train_small(11, 100, 1), two = train_small(11, 100, 2);
    auto rel = [](const auto& x, const auto& y) {
        return (x.template cast<double>() - y.template cast<double>()).norm() / y.template cast<double>().norm();
    };
    CHECK(rel(one.weights.w_enc, two.weights.w_enc) < 1e-5);
    CHECK(rel(one.weights.w_dec, two.weights.w_dec) < 1e-5);
    CHECK(rel(one.weights.b_enc, two.weights.b_enc) < 1e-5);
    CHECK(rel(one.weights.b_dec, two.weights.b_dec) < 1e-5);
}

TEST_CASE("training reduces the loss and sparsifies, callbacks run on schedule") {
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(32, 64, sd::activation::gelu, 3));
    sd::student_mlp<float> student(small_student(), 4);
    sd::train_settings s = small_settings(200);
    s.callback_every = 50;
    struct recorder {
        std::vector<std::int64_t> steps;
        std::vector<double> losses;
        bool finished = false;
        void on_step(const sd::step_report<float, sd::backend::cpu>& r) {
            steps.push_back(r.metrics.step);
            losses.push_back(r.metrics.terms.loss);
        }
        void on_finish(const sd::train_summary&) { finished = true; }
    } rec;
    sd::trainer<float> trainer(student, teacher, s);
    sd::data::gaussian_source<float> source(32, 5);
    sd::step_metrics first;
    REQUIRE(trainer.step(source, first));
    const sd::train_summary summary = trainer.run(source, rec);
    CHECK(summary.steps == 200);
    CHECK(summary.tokens == 200 * 64);
    CHECK(rec.steps == std::vector<std::int64_t>{50, 100, 150, 200});
    CHECK(rec.finished);
    CHECK(summary.last.terms.loss < 0.5 * first.terms.loss);
    CHECK(summary.last.terms.l0 < first.terms.l0);
}

TEST_CASE("should_stop ends a run early, and a finite source ends it too") {
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(32, 64, sd::activation::gelu, 3));
    sd::student_mlp<float> student(small_student(), 4);
    struct stopper {
        int calls = 0;
        bool should_stop() { return ++calls == 5; }
    } stop;
    sd::trainer<float> trainer(student, teacher, small_settings(100));
    sd::data::gaussian_source<float> source(32, 5);
    const sd::train_summary summary = trainer.run(source, stop);
    CHECK(summary.steps == 5);
    CHECK(summary.stopped_early);

    sd::student_mlp<float> student2(small_student(), 4);
    sd::trainer<float> trainer2(student2, teacher, small_settings(100));
    sd::data::matrix_source<float> finite(sd::matrix<float>::Ones(64 * 3 + 10, 32));
    const sd::train_summary s2 = trainer2.run(finite);
    CHECK(s2.steps == 3);
    CHECK(s2.stopped_early);
}

TEST_CASE("a source with its own targets trains without a teacher (input = target: an SAE)") {
    struct sae_source {
        sd::data::gaussian_source<float> inputs{32, 9};
        bool next_batch(sd::matrix<float>& x, sd::matrix<float>& y) {
            inputs.next_batch(x);
            y = x;
            return true;
        }
    } source;
    sd::student_mlp<float> student(small_student(), 4);
    sd::train_settings s = small_settings(150);
    s.loss.l1_coeff = 0;
    sd::trainer<float> trainer(student, s);
    sd::step_metrics first;
    trainer.step(source, first);
    const sd::train_summary summary = trainer.run(source);
    CHECK(summary.last.terms.mse < 0.5 * first.terms.mse);
}

TEST_CASE("bad settings and mismatched shapes are refused with a message") {
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(16, 64, sd::activation::gelu, 3));
    sd::student_mlp<float> student(small_student(), 4);
    CHECK_THROWS_WITH_AS(sd::trainer<float>(student, teacher, small_settings(10)),
                         doctest::Contains("teacher maps 16"), std::invalid_argument);
    sd::train_settings s = small_settings(10);
    s.batch_size = 0;
    CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("batch_size"), std::invalid_argument);
    sd::student_config bad = small_student();
    bad.d_out = 16;
    bad.pre_bias = sd::pre_bias::tied_decoder;
    CHECK_THROWS_WITH_AS(sd::student_mlp<float>(bad, 1), doctest::Contains("tied_decoder"), std::invalid_argument);
    sd::student_weights<float> w = student.weights();
    w.w_dec.resize(3, 3);
    CHECK_THROWS_WITH_AS(student.load(w), doctest::Contains("w_dec is [3, 3], expected [128, 32]"), std::invalid_argument);
}

TEST_CASE("step_on_batch on a batch already in backend memory equals step() drawing from a source") {
    sd::student_config c;
    c.d_in = c.d_out = 16;
    c.d_sae = 48;
    sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(16, 32, sd::activation::gelu, 3));
    sd::train_settings ts;
    ts.batch_size = 32;
    ts.tokens = 4 * 32;
    ts.loss.l1_coeff = 1e-2;
    sd::matrix<double> inputs(4 * 32, 16);
    sd::data::gaussian_source<double>(16, 4).next_batch(inputs);
    const sd::matrix<double> targets = teacher.forward(inputs);

    sd::student_mlp<double> from_source(c, 5), from_batch(c, 5);
    sd::data::matrix_source<double> source(inputs);
    sd::trainer<double> a(from_source, teacher, ts), b(from_batch, ts);
    for (int step = 0; step < 4; ++step) {
        sd::step_metrics ma, mb;
        REQUIRE(a.step(source, ma));
        const sd::matrix<double> x = inputs.middleRows(step * 32, 32), y = targets.middleRows(step * 32, 32);
        b.step_on_batch(sd::view(x), sd::view(y), mb);
        CHECK(mb.step == ma.step);
        CHECK(mb.tokens_seen == ma.tokens_seen);
        CHECK(mb.terms.loss == ma.terms.loss);
    }
    CHECK((from_batch.weights().w_enc.array() == from_source.weights().w_enc.array()).all());
    CHECK((from_batch.weights().w_dec.array() == from_source.weights().w_dec.array()).all());
    const sd::matrix<double> short_batch = inputs.topRows(8);
    sd::step_metrics m;
    CHECK_THROWS_AS(b.step_on_batch(sd::view(short_batch), sd::view(short_batch), m), std::invalid_argument);
}

TEST_CASE("replay_steps on the CPU: nothing recorded, steps unchanged, the dense path kept; step_on_batch(x) uses the teacher") {
    sd::student_config c;
    c.d_in = c.d_out = 16;
    c.d_sae = 64;
    c.sparse_below_density = 1;  // the sparse path whenever allowed: replay must keep it off
    sd::student_config dense = c;
    dense.sparse_below_density = 0;
    sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(16, 32, sd::activation::gelu, 7));
    sd::train_settings ts;
    ts.batch_size = 32;
    ts.tokens = 6 * 32;
    ts.loss.l1_coeff = 1e-2;
    sd::train_settings replayed = ts;
    replayed.replay_steps = true;
    sd::matrix<double> inputs(6 * 32, 16);
    sd::data::gaussian_source<double>(16, 8).next_batch(inputs);

    sd::student_mlp<double> plain_student(dense, 9), replay_student(c, 9), live_student(c, 9);
    sd::data::matrix_source<double> plain_source(inputs), replay_source(inputs);
    sd::trainer<double> plain(plain_student, teacher, ts), replay(replay_student, teacher, replayed), live(live_student, teacher, replayed);
    for (int step = 0; step < 6; ++step) {
        sd::step_metrics mp, mr, ml;
        REQUIRE(plain.step(plain_source, mp));
        REQUIRE(replay.step(replay_source, mr));
        const sd::matrix<double> x = inputs.middleRows(step * 32, 32);
        live.step_on_batch(sd::view(x), ml);  // targets from the trainer's teacher
        CHECK(mr.terms.loss == mp.terms.loss);
        CHECK(ml.terms.loss == mp.terms.loss);
    }
    CHECK(replay.captured_steps() == 0);
    CHECK((replay_student.weights().w_enc.array() == plain_student.weights().w_enc.array()).all());
    CHECK((live_student.weights().w_dec.array() == plain_student.weights().w_dec.array()).all());
    sd::student_mlp<double> without_teacher(c, 9);
    sd::trainer<double> targets_only(without_teacher, ts);
    sd::step_metrics m;
    const sd::matrix<double> x = inputs.topRows(32);
    CHECK_THROWS_WITH_AS(targets_only.step_on_batch(sd::view(x), m), doctest::Contains("needs a teacher"), std::logic_error);
}

}  // namespace train_trainer_test
