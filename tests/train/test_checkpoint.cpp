// Checkpoints: what the file holds, resume is bit-identical to an uninterrupted run (several sources,
// float and double), mismatched runs and broken files are refused by field, a failed write keeps the
// previous checkpoint, and SIGINT/SIGTERM stop a run after a checkpoint.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "support/temp_files.hpp"

#include <csignal>
#include <string>

#include <signal.h>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace train_checkpoint_test {

constexpr sd::index_t d = 16, batch = 32;

doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

sd::student_config resume_student() {
    sd::student_config c;
    c.d_in = c.d_out = d;
    c.d_sae = 64;
    return c;
}

sd::train_settings resume_settings(std::int64_t steps, const std::filesystem::path& dir = {}) {
    sd::train_settings s;
    s.batch_size = batch;
    s.tokens = steps * batch;
    s.loss.l1_coeff = 3e-3;
    s.adam.weight_decay = 1e-4;
    s.schedule = {3e-3, 5, 0, 0.1};
    s.callback_every = 1;
    s.checkpoint.directory = dir;
    s.checkpoint.identity = {{"seed", "7"}};
    return s;
}

// Stops a run after `after` steps, as a crash would (the trainer still writes its final checkpoint,
// which the periodic one at the same step makes redundant).
struct stop_after {
    std::int64_t after;
    std::int64_t seen = 0;
    void on_step(const auto&) { ++seen; }
    bool should_stop() const { return seen >= after; }
};

template <class Scalar>
struct final_state {
    std::vector<Scalar> parameters, first_moment, second_moment;
    sd::train_summary summary;
    std::uint64_t position = 0;
};

template <class Scalar, class Trainer, class Student, class Source>
final_state<Scalar> state_of(const Trainer& trainer, const Student& student, const Source& source,
                             const sd::train_summary& summary) {
    final_state<Scalar> s;
    s.parameters.assign(student.parameters(), student.parameters() + student.parameter_count());
    const auto& adam = trainer.optimizer_state();
    s.first_moment.assign(adam.first_moment(), adam.first_moment() + adam.size());
    s.second_moment.assign(adam.second_moment(), adam.second_moment() + adam.size());
    s.summary = summary;
    s.position = static_cast<std::uint64_t>(source.position());
    return s;
}

template <class Scalar>
void check_identical(const final_state<Scalar>& resumed, const final_state<Scalar>& straight) {
    REQUIRE(resumed.parameters.size() == straight.parameters.size());
    CHECK(resumed.parameters == straight.parameters);
    CHECK(resumed.first_moment == straight.first_moment);
    CHECK(resumed.second_moment == straight.second_moment);
    CHECK(resumed.summary.steps == straight.summary.steps);
    CHECK(resumed.summary.tokens == straight.summary.tokens);
    CHECK(resumed.summary.last.terms.mse == straight.summary.last.terms.mse);
    CHECK(resumed.summary.last.terms.l0 == straight.summary.last.terms.l0);
    // The reported L1 sum (not the state: its gradient is λ·sign(a)) adds Eigen's vectorised row
    // segments, whose order follows the buffers' alignment, so it may differ in the last bits.
    CHECK(resumed.summary.last.terms.loss == doctest::Approx(straight.summary.last.terms.loss).epsilon(1e-6));
    CHECK(resumed.position == straight.position);
}

// Trains 2k steps straight, and k steps + (fresh student, source and trainer) resume + k steps, with
// sources made by `make_source` and the teacher (or none when the source has targets).
template <class Scalar, class MakeSource>
void check_resume_is_bit_identical(MakeSource make_source, bool with_teacher, std::int64_t k) {
    sd::teacher_mlp<Scalar> teacher(sd::random_mlp_weights<Scalar>(d, 48, sd::activation::gelu, 21));
    // With a teacher the source gives inputs; without one it gives (input, target) pairs.
    const auto make_trainer = [&](sd::student_mlp<Scalar>& student, const sd::train_settings& settings) {
        return with_teacher ? sd::trainer<Scalar>(student, teacher, settings) : sd::trainer<Scalar>(student, settings);
    };

    sd::student_mlp<Scalar> straight_student(resume_student(), 3);
    auto straight_source = make_source();
    sd::trainer<Scalar> straight_trainer = make_trainer(straight_student, resume_settings(2 * k));
    const sd::train_summary straight_summary = straight_trainer.run(straight_source);
    const auto straight = state_of<Scalar>(straight_trainer, straight_student, straight_source, straight_summary);
    REQUIRE(straight_summary.steps == 2 * k);

    sd_test::temp_dir dir("sd_resume");
    {
        sd::student_mlp<Scalar> student(resume_student(), 3);
        auto source = make_source();
        sd::train_settings s = resume_settings(2 * k, dir.path);
        s.checkpoint.every = k;
        sd::trainer<Scalar> first_half = make_trainer(student, s);
        const sd::train_summary half = first_half.run(source, stop_after{k});
        REQUIRE(half.steps == k);
        REQUIRE(half.stopped_early);
        // The comparison below is not vacuous: half-way weights differ from the final ones.
        CHECK(std::vector<Scalar>(student.parameters(), student.parameters() + student.parameter_count()) !=
              straight.parameters);
    }
    CHECK(sd::read_checkpoint<Scalar>(sd::checkpoint_file(dir.path)).step == k);
    // A different initial seed: everything that matters must come from the checkpoint.
    sd::student_mlp<Scalar> student(resume_student(), 99);
    auto source = make_source();
    sd::train_settings s = resume_settings(2 * k, dir.path);
    s.checkpoint.resume = true;
    sd::trainer<Scalar> second_half = make_trainer(student, s);
    const sd::train_summary rest = second_half.run(source);
    check_identical(state_of<Scalar>(second_half, student, source, rest), straight);
    CHECK(sd::read_checkpoint<Scalar>(sd::checkpoint_file(dir.path)).step == 2 * k);
}


TEST_CASE_TEMPLATE("resume from step k ends bit-identical to 2k straight steps (gaussian source and teacher)", Scalar,
                   float, double) {
    check_resume_is_bit_identical<Scalar>([] { return sd::data::gaussian_source<Scalar>(d, 5); }, true, 20);
}

TEST_CASE("resume is bit-identical with a planted-feature source, a matrix source and a shuffled paired source") {
    SUBCASE("planted features") {
        sd::data::planted_feature_settings p;
        p.dim = d;
        p.features = 48;
        p.probability = 0.1;
        check_resume_is_bit_identical<float>([p] { return sd::data::planted_feature_source<float>(p, 8); }, true, 15);
    }
    SUBCASE("matrix source, cycling") {
        const sd::matrix<float> rows = sd::matrix<float>::Random(150, d);
        check_resume_is_bit_identical<float>([rows] { return sd::data::matrix_source<float>(rows, true); }, true, 15);
    }
    SUBCASE("paired source with its own targets, shuffled, across passes") {
        const sd::matrix<float> x = sd::matrix<float>::Random(100, d);
        const sd::matrix<float> y = 0.5f * x.array().tanh().matrix();
        // 100 pairs, 32 per batch: the resume point (step 15, pair 480) falls inside pass 5.
        check_resume_is_bit_identical<float>([x, y] { return sd::data::paired_source<float>(x, y, 4); }, false, 15);
    }
}

TEST_CASE("a checkpoint holds the step, tokens, weights, Adam moments, source position and run description") {
    sd_test::temp_dir dir("sd_ckpt");
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(d, 48, sd::activation::gelu, 21));
    sd::student_mlp<float> student(resume_student(), 3);
    sd::data::gaussian_source<float> source(d, 5);
    sd::train_settings s = resume_settings(12, dir.path);
    s.checkpoint.every = 5;
    struct spy {
        std::filesystem::path file;
        std::vector<std::int64_t> steps_on_disk;
        void on_step(const sd::step_report<float, sd::backend::cpu>&) {
            steps_on_disk.push_back(std::filesystem::exists(file) ? sd::read_checkpoint<float>(file).step : -1);
        }
    } watch{sd::checkpoint_file(dir.path), {}};
    sd::trainer<float> trainer(student, teacher, s);
    const sd::train_summary summary = trainer.run(source, watch);
    // Written at steps 5 and 10 (every 5) and at the end (12).
    CHECK(watch.steps_on_disk == std::vector<std::int64_t>{-1, -1, -1, -1, 5, 5, 5, 5, 5, 10, 10, 10});
    CHECK(summary.steps == 12);

    const auto saved = sd::read_checkpoint<float>(sd::checkpoint_file(dir.path));
    CHECK(saved.step == 12);
    CHECK(saved.tokens_seen == 12 * batch);
    CHECK(saved.source_position == nlohmann::json{{"position", 12 * batch}});
    CHECK(saved.run == trainer.run_description());
    CHECK(saved.run["student"]["d_sae"] == 64);
    CHECK(saved.run["train"]["steps"] == 12);
    CHECK(saved.run["identity"]["seed"] == "7");
    CHECK(saved.threads == sd::num_threads());
    REQUIRE(saved.parameters.size() == static_cast<std::size_t>(student.parameter_count()));
    CHECK(std::equal(saved.parameters.begin(), saved.parameters.end(), student.parameters()));
    const auto& adam = trainer.optimizer_state();
    REQUIRE(saved.first_moment.size() == static_cast<std::size_t>(adam.size()));
    CHECK(std::equal(saved.first_moment.begin(), saved.first_moment.end(), adam.first_moment()));
    CHECK(std::equal(saved.second_moment.begin(), saved.second_moment.end(), adam.second_moment()));
    // No temporary file is left behind.
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("resuming a different run is refused, naming the field that differs") {
    sd_test::temp_dir dir("sd_ckpt_mismatch");
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(d, 48, sd::activation::gelu, 21));
    {
        sd::student_mlp<float> student(resume_student(), 3);
        sd::data::gaussian_source<float> source(d, 5);
        sd::trainer<float> trainer(student, teacher, resume_settings(6, dir.path));
        trainer.run(source);
    }
    const std::string file = sd::checkpoint_file(dir.path).string();
    auto resume_with = [&](sd::student_config config, sd::train_settings settings) {
        settings.checkpoint.resume = true;
        sd::student_mlp<float> student(config, 3);
        sd::data::gaussian_source<float> source(d, 5);
        sd::trainer<float> trainer(student, teacher, settings);
        trainer.run(source);
    };
    const sd::train_settings same = resume_settings(6, dir.path);
    sd::student_config wider = resume_student();
    wider.d_sae = 96;
    CHECK_THROWS_WITH_AS(resume_with(wider, same),
                         (file + ": run.student.d_sae: the checkpoint was written with 64, this run has 96: resuming would not "
                          "continue the same run").c_str(),
                         sd::io::io_error);
    sd::student_config gelu = resume_student();
    gelu.act = sd::activation::gelu;
    CHECK_THROWS_WITH_AS(resume_with(gelu, same), contains(file + ": run.student.act: the checkpoint was written with \"relu\", this run has \"gelu\""),
                         sd::io::io_error);
    CHECK_THROWS_WITH_AS(resume_with(resume_student(), resume_settings(8, dir.path)),
                         contains(file + ": run.train.steps: the checkpoint was written with 6, this run has 8"),
                         sd::io::io_error);
    sd::train_settings other_seed = same;
    other_seed.checkpoint.identity["seed"] = "8";
    CHECK_THROWS_WITH_AS(resume_with(resume_student(), other_seed),
                         contains(file + ": run.identity.seed: the checkpoint was written with \"7\", this run has \"8\""),
                         sd::io::io_error);
    sd::train_settings other_lr = same;
    other_lr.schedule.lr = 1e-3;
    CHECK_THROWS_WITH_AS(resume_with(resume_student(), other_lr), contains(file + ": run.train.schedule.lr: "),
                         sd::io::io_error);
    sd::train_settings extra_identity = same;
    extra_identity.checkpoint.identity["inputs"] = "acts.npy";
    CHECK_THROWS_WITH_AS(resume_with(resume_student(), extra_identity),
                         contains(file + ": run.identity.inputs: absent from the checkpoint, this run has \"acts.npy\""),
                         sd::io::io_error);
    // A double run cannot continue a float run bit-identically.
    sd::teacher_mlp<double> teacher64(sd::random_mlp_weights<double>(d, 48, sd::activation::gelu, 21));
    sd::student_mlp<double> student64(resume_student(), 3);
    sd::data::gaussian_source<double> source64(d, 5);
    sd::train_settings s64 = same;
    s64.checkpoint.resume = true;
    sd::trainer<double> trainer64(student64, teacher64, s64);
    CHECK_THROWS_WITH_AS(trainer64.run(source64),
                         (file + ": tensor 'parameters' dtype: expected F64 (this run's scalar), found F32").c_str(),
                         sd::io::io_error);
    // Nothing was changed by the refused resumes: the run still resumes (to its end) from the same file.
    CHECK(sd::read_checkpoint<float>(file).step == 6);

    sd_test::temp_dir empty("sd_ckpt_empty");
    sd::train_settings missing = resume_settings(6, empty.path);
    CHECK_THROWS_WITH_AS(resume_with(resume_student(), missing),
                         (sd::checkpoint_file(empty.path).string() +
                          ": file: no checkpoint to resume from (is the checkpoint directory right?)").c_str(),
                         sd::io::io_error);
}

TEST_CASE("broken checkpoint files are refused with the file and field named") {
    sd_test::temp_dir dir("sd_ckpt_broken");
    sd::checkpoint_data<float> good;
    good.step = 3;
    good.tokens_seen = 96;
    good.parameters = {1, 2, 3};
    good.first_moment = {0.1f, 0.2f, 0.3f};
    good.second_moment = {0.01f, 0.02f, 0.03f};
    good.source_position = {{"position", 96}};
    good.run = {{"scalar", "f32"}};
    good.threads = 2;
    const auto file = dir / "c.safetensors";
    sd::write_checkpoint(file, good);
    const auto back = sd::read_checkpoint<float>(file);
    CHECK(back.step == 3);
    CHECK(back.tokens_seen == 96);
    CHECK(back.parameters == good.parameters);
    CHECK(back.first_moment == good.first_moment);
    CHECK(back.second_moment == good.second_moment);
    CHECK(back.source_position == good.source_position);
    CHECK(back.run == good.run);
    CHECK(back.threads == 2);

    auto tensor = [](std::vector<float> v) {
        return sd::io::from_values<float>({static_cast<std::int64_t>(v.size())}, sd::io::dtype::f32, std::span<const float>(v));
    };
    const std::map<std::string, sd::io::tensor_data> tensors{
        {"parameters", tensor({1, 2, 3})}, {"adam.first_moment", tensor({1, 2, 3})}, {"adam.second_moment", tensor({1, 2, 3})}};
    const std::map<std::string, std::string> metadata{
        {"format", "sparse_distill checkpoint"}, {"format_version", "3"}, {"step", "3"}, {"tokens_seen", "96"},
        {"source_position", "{\"position\":96}"}, {"run", "{}"}, {"threads", "1"},
        {"latent_state", "{\"tokens_since_fired\":[],\"batch_threshold\":0}"}};
    struct broken_case {
        const char* what;
        std::string field_and_problem;
        std::map<std::string, sd::io::tensor_data> tensors;
        std::map<std::string, std::string> metadata;
        bool unsealed = false;  ///< written without the checksums entry
    };
    auto with = [&](std::string key, std::string value) {
        auto m = metadata;
        if (value.empty()) m.erase(key);
        else m[key] = value;
        return m;
    };
    auto without_tensor = [&](const std::string& name) {
        auto t = tensors;
        t.erase(name);
        return t;
    };
    auto with_tensor = [&](const std::string& name, sd::io::tensor_data value) {
        auto t = tensors;
        t[name] = std::move(value);
        return t;
    };
    const std::vector<broken_case> cases{
        {"not a checkpoint", "__metadata__ 'format': expected \"sparse_distill checkpoint\", found none", tensors, {}},
        {"another format", "__metadata__ 'format': expected \"sparse_distill checkpoint\", found \"saelens\"", tensors,
         with("format", "saelens")},
        {"a newer version", "__metadata__ 'format_version': expected \"3\" (this version of sparse_distill), found \"4\"", tensors,
         with("format_version", "4")},
        {"version 1, whose run description has other keys",
         "__metadata__ 'format_version': expected \"3\" (this version of sparse_distill), found \"1\": a version 1 checkpoint, "
         "written before the run description took the keys of student_config and train_settings, cannot be resumed",
         tensors, with("format_version", "1")},
        {"version 2, without checksums",
         "__metadata__ 'format_version': expected \"3\" (this version of sparse_distill), found \"2\": a version 2 checkpoint, "
         "written before checkpoints carried checksums and input fingerprints, cannot be resumed",
         tensors, with("format_version", "2")},
        {"no checksums", "__metadata__ 'checksums': missing", tensors, metadata, true},
        {"no step", "__metadata__ 'step': missing", tensors, with("step", "")},
        {"a step that is no number", "__metadata__ 'step': expected a non-negative decimal integer, found \"3x\"", tensors,
         with("step", "3x")},
        {"a negative token count", "__metadata__ 'tokens_seen': expected a non-negative decimal integer, found \"-5\"",
         tensors, with("tokens_seen", "-5")},
        {"a step beyond 64 bits", "__metadata__ 'step': expected a non-negative decimal integer, found \"99999999999999999999\"",
         tensors, with("step", "99999999999999999999")},
        {"a run description that is not JSON", "__metadata__ 'run': invalid JSON", tensors, with("run", "{\"a\":")},
        {"no parameters", "tensor 'parameters': not found", without_tensor("parameters"), metadata},
        {"moments of another dtype", "tensor 'adam.first_moment' dtype: expected F32 (this run's scalar), found F64",
         with_tensor("adam.first_moment", sd::io::from_values<double>({3}, sd::io::dtype::f64, std::vector<double>{1, 2, 3})),
         metadata},
        {"a 2-D parameter tensor", "tensor 'parameters' shape: expected a 1-D tensor, found [1, 3]",
         with_tensor("parameters", sd::io::from_values<float>({1, 3}, sd::io::dtype::f32, std::vector<float>{1, 2, 3})),
         metadata},
        {"moments shorter than the parameters",
         "tensor 'adam.second_moment' shape: expected [3] like 'parameters' at step 3, found [2]",
         with_tensor("adam.second_moment", tensor({1, 2})), metadata},
        {"no moments after step 3", "tensor 'adam.first_moment' shape: expected [3] like 'parameters' at step 3, found [0]",
         {{"parameters", tensor({1, 2, 3})}, {"adam.first_moment", tensor({})}, {"adam.second_moment", tensor({})}},
         metadata},
    };
    for (const broken_case& c : cases) {
        CAPTURE(c.what);
        const auto path = dir / "broken.safetensors";
        // Sealed with correct checksums (unless the case removes them), so that the reader reaches the
        // field each case breaks.
        auto sealed = c.metadata;
        if (!c.unsealed) sealed["checksums"] = sd::detail::checkpoint_checksums(c.tensors, c.metadata).dump();
        sd::io::write_safetensors(path, c.tensors, sealed);
        CHECK_THROWS_WITH_AS(sd::read_checkpoint<float>(path), contains(path.string() + ": " + c.field_and_problem),
                             sd::io::io_error);
    }
    // Truncated: the safetensors reader names the problem.
    const std::string bytes = sd_test::read_file(file);
    sd_test::write_file(dir / "truncated.safetensors", bytes.substr(0, bytes.size() - 5));
    CHECK_THROWS_WITH_AS(sd::read_checkpoint<float>(dir / "truncated.safetensors"),
                         contains((dir / "truncated.safetensors").string() + ": "), sd::io::io_error);

    // A source position of the wrong form, through a trainer resume.
    sd::checkpoint_data<float> bad_position = good;
    sd::student_mlp<float> student(resume_student(), 3);
    sd::data::gaussian_source<float> source(d, 5);
    sd::trainer<float> trainer(student, resume_settings(6, dir.path));
    bad_position.parameters.assign(student.parameters(), student.parameters() + student.parameter_count());
    bad_position.first_moment = bad_position.second_moment = bad_position.parameters;
    bad_position.run = trainer.run_description();
    bad_position.source_position = {{"position", -96}};
    sd::write_checkpoint(dir / "position.safetensors", bad_position);
    CHECK_THROWS_WITH_AS(trainer.load_checkpoint(dir / "position.safetensors", source),
                         contains((dir / "position.safetensors").string() +
                                           ": source_position: expected {\"position\": <non-negative integer>}, found "
                                           "{\"position\":-96}"),
                         sd::io::io_error);
    bad_position.source_position = {{"position", 96}};
    bad_position.step = 7;
    sd::write_checkpoint(dir / "step.safetensors", bad_position);
    CHECK_THROWS_WITH_AS(trainer.load_checkpoint(dir / "step.safetensors", source),
                         contains((dir / "step.safetensors").string() +
                                           ": __metadata__ 'step': expected at most the run's 6 steps, found 7"),
                         sd::io::io_error);
    bad_position.step = 3;
    bad_position.parameters.pop_back();
    bad_position.first_moment = bad_position.second_moment = bad_position.parameters;
    sd::write_checkpoint(dir / "short.safetensors", bad_position);
    CHECK_THROWS_WITH_AS(trainer.load_checkpoint(dir / "short.safetensors", source),
                         contains((dir / "short.safetensors").string() + ": tensor 'parameters' shape: expected [" +
                                           std::to_string(student.parameter_count()) + "] for this student, found [" +
                                           std::to_string(student.parameter_count() - 1) + "]"),
                         sd::io::io_error);
    CHECK(trainer.steps_done() == 0);
}

TEST_CASE("a checkpoint write that fails leaves the previous checkpoint intact") {
    sd_test::temp_dir dir("sd_ckpt_fail");
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(d, 48, sd::activation::gelu, 21));
    sd::student_mlp<float> student(resume_student(), 3);
    sd::data::gaussian_source<float> source(d, 5);
    sd::trainer<float> trainer(student, teacher, resume_settings(10, dir.path));
    sd::step_metrics m;
    for (int i = 0; i < 3; ++i) REQUIRE(trainer.step(source, m));
    const auto file = sd::checkpoint_file(dir.path);
    trainer.save_checkpoint(file, source);
    const std::string before = sd_test::read_file(file);

    for (int i = 0; i < 2; ++i) REQUIRE(trainer.step(source, m));
    // Stand-ins for a crash mid-write: the temporary name is taken by a directory, so the write fails
    // after the old checkpoint would have been at risk in a non-atomic writer.
    for (const char* blocker : {".partial.tmp", ".partial"}) {
        CAPTURE(blocker);
        auto blocked = file;
        blocked += blocker;
        std::filesystem::create_directories(blocked / "occupied");
        CHECK_THROWS_AS(trainer.save_checkpoint(file, source), sd::io::io_error);
        CHECK(sd_test::read_file(file) == before);
        CHECK(sd::read_checkpoint<float>(file).step == 3);
        std::filesystem::remove_all(blocked);
    }
    // A stale partial file from a crash does not disturb the next write or a resume.
    auto stale = file;
    stale += ".partial";
    sd_test::write_file(stale, "half a checkpoint");
    trainer.save_checkpoint(file, source);
    CHECK(sd::read_checkpoint<float>(file).step == 5);
    CHECK_FALSE(std::filesystem::exists(stale));
}

TEST_CASE("SIGTERM and SIGINT during run(): checkpoint, stop, handlers restored, and the resumed run is identical") {
    for (const int signal_number : {SIGTERM, SIGINT}) {
        CAPTURE(signal_number);
        sd_test::temp_dir dir("sd_ckpt_signal");
        sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(d, 48, sd::activation::gelu, 21));

        sd::student_mlp<float> straight_student(resume_student(), 3);
        sd::data::gaussian_source<float> straight_source(d, 5);
        sd::trainer<float> straight_trainer(straight_student, teacher, resume_settings(30));
        const auto straight = state_of<float>(straight_trainer, straight_student, straight_source,
                                              straight_trainer.run(straight_source));

        // A handler of the program's own, which run() must put back.
        static std::atomic<int> program_handler_calls{0};
        struct sigaction mine {}, old {};
        mine.sa_handler = [](int) { ++program_handler_calls; };
        sigemptyset(&mine.sa_mask);
        REQUIRE(sigaction(signal_number, &mine, &old) == 0);

        struct raise_at {
            int signal_number;
            void on_step(const sd::step_report<float, sd::backend::cpu>& r) {
                if (r.metrics.step == 11) std::raise(signal_number);
            }
        };
        {
            sd::student_mlp<float> student(resume_student(), 3);
            sd::data::gaussian_source<float> source(d, 5);
            sd::train_settings s = resume_settings(30, dir.path);
            s.checkpoint.every = 4;
            sd::trainer<float> trainer(student, teacher, s);
            const sd::train_summary summary = trainer.run(source, raise_at{signal_number});
            CHECK(summary.stop_signal == signal_number);
            CHECK(summary.stopped_early);
            CHECK(summary.steps == 11);
            CHECK(sd::read_checkpoint<float>(sd::checkpoint_file(dir.path)).step == 11);
        }
        CHECK(program_handler_calls == 0);
        struct sigaction now {};
        REQUIRE(sigaction(signal_number, nullptr, &now) == 0);
        CHECK((now.sa_handler == mine.sa_handler));
        std::raise(signal_number);
        CHECK(program_handler_calls == 1);
        program_handler_calls = 0;
        REQUIRE(sigaction(signal_number, &old, nullptr) == 0);

        sd::student_mlp<float> student(resume_student(), 3);
        sd::data::gaussian_source<float> source(d, 5);
        sd::train_settings s = resume_settings(30, dir.path);
        s.checkpoint.resume = true;
        sd::trainer<float> trainer(student, teacher, s);
        const sd::train_summary rest = trainer.run(source);
        CHECK(rest.stop_signal == 0);
        check_identical(state_of<float>(trainer, student, source, rest), straight);
    }
}

TEST_CASE("checkpointing needs a source that can save its position, and settings that name a directory") {
    struct opaque_source {
        sd::data::gaussian_source<float> inner{d, 5};
        bool next_batch(sd::matrix<float>& x) { return inner.next_batch(x); }
    } source;
    sd_test::temp_dir dir("sd_ckpt_opaque");
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(d, 48, sd::activation::gelu, 21));
    sd::student_mlp<float> student(resume_student(), 3);
    sd::trainer<float> trainer(student, teacher, resume_settings(4, dir.path));
    CHECK_THROWS_WITH_AS(trainer.run(source), doctest::Contains("the source cannot save its position"),
                         std::invalid_argument);
    sd::train_settings s = resume_settings(4);
    s.checkpoint.every = 2;
    CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("need checkpoint.directory"), std::invalid_argument);
    s.checkpoint.every = -1;
    s.checkpoint.directory = dir.path;
    CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("checkpoint.every must be non-negative"), std::invalid_argument);
}

}  // namespace train_checkpoint_test
