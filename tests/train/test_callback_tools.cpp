// The callback helpers: trainer::run forwards every hook to any number of callbacks, jsonl_log writes parseable lines,
// progress_bar prints plain lines (rate-limited) when not on a terminal.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "support/temp_files.hpp"

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace train_callback_tools_test {
struct counting {
    int steps = 0, finishes = 0;
    bool stop = false;
    template <class R>
    void on_step(const R&) { ++steps; }
    bool should_stop() { return stop; }
    void on_finish(const sd::train_summary&) { ++finishes; }
};
struct only_steps {
    int steps = 0;
    template <class R>
    void on_step(const R&) { ++steps; }
};

struct tiny_run {
    sd::student_config config;
    sd::teacher_mlp<double> teacher{sd::random_mlp_weights<double>(4, 8, sd::activation::gelu, 1)};
    sd::train_settings settings;
    tiny_run() {
        config.d_in = config.d_out = 4;
        config.d_sae = 8;
        settings.batch_size = 16;
        settings.tokens = 16 * 10;
        settings.callback_every = 3;
    }
    template <class... C>
    sd::train_summary run(C&&... callbacks) {
        sd::student_mlp<double> student(config, 2);
        sd::trainer<double> t(student, teacher, settings);
        sd::data::gaussian_source<double> source(4, 3);
        return t.run(source, std::forward<C>(callbacks)...);
    }
};

TEST_CASE("trainer::run forwards on_step, should_stop and on_finish to every callback that has them") {
    tiny_run r;
    counting a;
    only_steps b;
    r.run(a, b);
    CHECK(a.steps == 4);  // steps 3, 6, 9 and the last (10)
    CHECK(b.steps == 4);
    CHECK(a.finishes == 1);
    counting stopper;
    stopper.stop = true;
    only_steps first;
    const auto summary = r.run(first, stopper);  // any callback's should_stop ends the run
    CHECK(summary.steps == 1);
    CHECK(summary.stopped_early);
    CHECK(first.steps == 0);  // step 1 is not a reported step (callback_every = 3), yet should_stop is asked after it
    CHECK(r.run().steps == 10);  // no callback at all
    CHECK(r.run(sd::no_callbacks{}, b).steps == 10);  // temporaries are fine
}

TEST_CASE("jsonl_log writes one parseable JSON object per reported step") {
    tiny_run r;
    const sd_test::temp_dir dir("sd_jsonl");
    const auto path = dir / "metrics.jsonl";
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    r.run(sd::jsonl_log(f, "m"));
    std::fclose(f);
    std::ifstream in(path);
    std::string line;
    int lines = 0;
    std::int64_t last_step = 0;
    while (std::getline(in, line)) {
        const auto j = nlohmann::json::parse(line);
        CHECK(j.at("model") == "m");
        CHECK(j.at("step").get<std::int64_t>() > last_step);
        last_step = j.at("step").get<std::int64_t>();
        CHECK(j.at("loss").get<double>() == doctest::Approx(j.at("mse").get<double>()));  // λ = 0
        CHECK(j.contains("l0"));
        CHECK(j.contains("seconds"));
        ++lines;
    }
    CHECK(lines == 4);
    CHECK(last_step == 10);
    CHECK_THROWS(sd::jsonl_log(nullptr, "m"));
}

TEST_CASE("progress_bar into a file: plain lines, the first and the last at least, with rate and ETA") {
    tiny_run r;
    const sd_test::temp_dir dir("sd_progress");
    const auto path = dir / "progress.txt";
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    r.run(sd::progress_bar("student", 10, f, /*plain_interval=*/3600));
    std::fclose(f);
    const std::string text = sd_test::read_file(path);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(text.find("step 10/10") != std::string::npos);
    CHECK(text.find("step 6/10") == std::string::npos);  // rate-limited: one line an hour
    CHECK(text.find("tok/s") != std::string::npos);
    CHECK(text.find("ETA") != std::string::npos);
    CHECK(text.find("L0") != std::string::npos);
}

}  // namespace train_callback_tools_test
