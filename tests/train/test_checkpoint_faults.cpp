// Numerical faults: a NaN or Inf in a batch's inputs, its targets or teacher outputs, or its loss stops
// the run with the step and the data row named, before the update, and the last checkpoint stays.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "support/temp_files.hpp"

#include <cmath>
#include <limits>
#include <string>

#include <signal.h>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace train_checkpoint_faults_test {

constexpr sd::index_t d = 16, batch = 32;

sd::student_config fault_student() {
    sd::student_config c;
    c.d_in = c.d_out = d;
    c.d_sae = 64;
    return c;
}

sd::train_settings fault_settings(std::int64_t steps, const std::filesystem::path& dir) {
    sd::train_settings s;
    s.batch_size = batch;
    s.tokens = steps * batch;
    s.loss.l1_coeff = 3e-3;
    s.schedule = {3e-3, 2, 0, 0.1};
    s.checkpoint.directory = dir;
    s.checkpoint.every = 2;
    s.callback_every = 1;
    return s;
}

bool all_finite(const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

// Stops a run after two steps (callback_every is 1 in fault_settings).
struct stop_after_two {
    int steps = 0;
    void on_step(const sd::step_report<float, sd::backend::cpu>&) { ++steps; }
    bool should_stop() const { return steps == 2; }
};

std::string fault_message(auto&& run) {
    try {
        run();
    } catch (const sd::numerical_fault& fault) {
        return fault.what();
    }
    return "no numerical_fault";
}


TEST_CASE("a NaN or Inf in the inputs stops the run at that step, naming the source row, and the last checkpoint stays") {
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
        CAPTURE(bad);
        sd_test::temp_dir dir("sd_fault_inputs");
        sd::matrix<float> rows = sd::matrix<float>::Random(400, d);
        rows(100, 3) = bad;  // step 4 takes rows 96..127: batch row 4
        sd::data::matrix_source<float> source(rows);
        sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(d, 48, sd::activation::gelu, 21));
        sd::student_mlp<float> student(fault_student(), 3);
        sd::trainer<float> trainer(student, teacher, fault_settings(10, dir.path));
        struct sigaction before {};
        REQUIRE(sigaction(SIGTERM, nullptr, &before) == 0);
        const std::string expected = std::string("step 4: inputs: ") + (std::isnan(bad) ? "nan" : "-inf") +
                                     " at batch row 4 (row 100), column 3; the last checkpoint (step 2) is kept";
        CHECK(fault_message([&] { trainer.run(source); }) == expected);
        CHECK(trainer.steps_done() == 3);  // the update of step 4 was not made
        const auto kept = sd::read_checkpoint<float>(sd::checkpoint_file(dir.path));
        CHECK(kept.step == 2);
        CHECK(all_finite(kept.parameters));
        CHECK(std::all_of(student.parameters(), student.parameters() + student.parameter_count(),
                          [](float x) { return std::isfinite(x); }));
        // The signal handlers installed for the run are gone after the exception.
        struct sigaction now {};
        REQUIRE(sigaction(SIGTERM, nullptr, &now) == 0);
        CHECK((now.sa_handler == before.sa_handler));
    }
}

TEST_CASE("non-finite teacher outputs for finite inputs are reported as teacher outputs with their row") {
    sd_test::temp_dir dir("sd_fault_teacher");
    // All-ones input weights: a row of 3e38 (finite in float) sums to 16·3e38 = inf before the activation.
    sd::mlp_weights<float> w;
    w.w_in = sd::matrix<float>::Ones(48, d);
    w.w_out = sd::matrix<float>::Constant(48, d, 0.01f);
    w.act = sd::activation::relu;
    sd::teacher_mlp<float> teacher(w);
    sd::matrix<float> rows = sd::matrix<float>::Random(200, d) * 0.1f;
    rows.row(40).setConstant(3e38f);  // step 2, batch row 8
    sd::data::matrix_source<float> source(rows);
    sd::student_mlp<float> student(fault_student(), 3);
    sd::trainer<float> trainer(student, teacher, fault_settings(5, dir.path));
    CHECK(fault_message([&] { trainer.run(source); }) ==
          "step 2: teacher outputs: inf at batch row 8 (row 40), column 0; no checkpoint was written");
    CHECK(trainer.steps_done() == 1);
    CHECK_FALSE(std::filesystem::exists(sd::checkpoint_file(dir.path)));
}

TEST_CASE("a NaN target from a source with targets names the data row it came from") {
    sd_test::temp_dir dir("sd_fault_targets");
    const sd::matrix<float> x = sd::matrix<float>::Random(100, d);
    sd::matrix<float> y = x;
    y(37, 2) = std::numeric_limits<float>::quiet_NaN();
    sd::data::paired_source<float> source(x, y, 4);  // shuffled: the batch row is wherever row 37 lands
    sd::student_mlp<float> student(fault_student(), 3);
    sd::trainer<float> trainer(student, fault_settings(10, dir.path));
    const std::string message = fault_message([&] { trainer.run(source); });
    CHECK(message.find(": targets: nan at batch row ") != std::string::npos);
    CHECK(message.find(" (row 37), column 2; ") != std::string::npos);
    CHECK(message.rfind("step " + std::to_string(trainer.steps_done() + 1) + ": ", 0) == 0);
}

TEST_CASE("a student that diverged: a non-finite loss on finite data stops the run, and no checkpoint of it is written") {
    sd_test::temp_dir dir("sd_fault_loss");
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(d, 48, sd::activation::gelu, 21));
    sd::student_mlp<float> student(fault_student(), 3);
    sd::data::gaussian_source<float> source(d, 5);
    sd::trainer<float> trainer(student, teacher, fault_settings(10, dir.path));
    trainer.run(source, stop_after_two{});
    REQUIRE(trainer.steps_done() == 2);
    const auto file = sd::checkpoint_file(dir.path);
    const std::string good = sd_test::read_file(file);

    // What divergence leaves behind: a weight that became NaN.
    sd::student_weights<float> w = student.weights();
    w.b_dec(7) = std::numeric_limits<float>::quiet_NaN();
    student.load(w);
    CHECK(fault_message([&] { trainer.run(source); }) ==
          "step 3: loss: nan with finite inputs and targets: the student diverged (a lower learning rate, or Adam settings with beta1² < beta2, may help); "
          "the last checkpoint (step 2) is kept");
    CHECK(sd_test::read_file(file) == good);
    // An explicit save refuses the non-finite state rather than replace the good checkpoint.
    CHECK(fault_message([&] { trainer.save_checkpoint(file, source); }) ==
          "step 2: parameters: not finite: refusing to overwrite the checkpoint " + file.string());
    CHECK(sd_test::read_file(file) == good);
}

TEST_CASE("a loss that grows ten-thousandfold over the first one stops the run before the update, as a NaN would") {
    sd_test::temp_dir dir("sd_fault_growth");
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(d, 48, sd::activation::gelu, 21));
    sd::student_mlp<float> student(fault_student(), 3);
    sd::data::gaussian_source<float> source(d, 5);
    sd::trainer<float> trainer(student, teacher, fault_settings(10, dir.path));
    trainer.run(source, stop_after_two{});
    REQUIRE(trainer.steps_done() == 2);
    // Finite but exploding weights, as after an unstable Adam setting: the loss grows by ~1e12.
    sd::student_weights<float> w = student.weights();
    w.w_dec *= 1e6f;
    student.load(w);
    const std::string message = fault_message([&] { trainer.run(source); });
    CHECK(message.find("step 3: loss: ") == 0);
    INFO(message);
    CHECK(message.find("more than 10000 times the run's first loss") != std::string::npos);
    CHECK(message.find("the last checkpoint (step 2) is kept") != std::string::npos);
    CHECK(trainer.steps_done() == 2);
    // max_loss_growth = 0 lets it run.
    sd::student_mlp<float> again(fault_student(), 3);
    sd::train_settings unguarded = fault_settings(3, {});
    unguarded.checkpoint.every = 0;
    unguarded.max_loss_growth = 0;
    sd::trainer<float> free_run(again, teacher, unguarded);
    free_run.run(source, stop_after_two{});
    again.load(w);
    CHECK(free_run.run(source).steps == 3);
}

}  // namespace train_checkpoint_faults_test
