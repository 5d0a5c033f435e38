// distill: trains sparse students of a teacher MLP on planted-feature data, an SAE baseline on the
// teacher's outputs, runs every analysis of the research post and writes a report.
//
//   distill [options]                  ReLU student, its GELU twin and an SAE; report.html
//   distill [options] sweep --l1-values 0.03,0.1,0.3,1     Fig 5 across λ
//   distill [options] lm --checkpoint M.bin --tokenizer T.bin --text X.txt [--layers all]   a real model
//   distill [options] train --teacher T.safetensors --inputs X.npy... [--steps N] [--save DIR]   files in, student out
//
// Exit status: 0 on success, 1 when a file cannot be read or written, 2 for bad options.
#include "options.hpp"
#include "outputs.hpp"
#include "lm_mode.hpp"
#include "train_mode.hpp"
#include "report_page.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using namespace distill;

struct log_file {
    std::FILE* file = nullptr;
    explicit log_file(const std::filesystem::path& path) : file(std::fopen(path.c_str(), "w")) {
        if (!file) throw sd::io::io_error(path, "file", "cannot open for writing");
    }
    ~log_file() {
        if (file) std::fclose(file);
    }
    log_file(const log_file&) = delete;
    log_file& operator=(const log_file&) = delete;
};

auto callbacks_for(const options& o, std::FILE* log) {
    return [&o, log](const sd::experiments::model_spec& spec, std::int64_t steps) {
        model_callbacks c{std::nullopt, sd::jsonl_log(log, spec.name)};
        if (!o.quiet) c.bar.emplace(spec.name, steps, stderr);
        return c;
    };
}

sd::experiments::planted_distillation_settings checked_settings(const options& o) {
    try {
        return to_settings(o);
    } catch (const std::invalid_argument& e) {
        throw bad_settings(e.what());
    }
}

int run(const options& o) {
    const auto settings = checked_settings(o);
    const std::filesystem::path out = o.out;
    std::filesystem::create_directories(out);
    log_file log(out / "metrics.jsonl");
    const result_type r = sd::experiments::run_planted_distillation<float>(settings, callbacks_for(o, log.file));

    nlohmann::json metrics = {{"settings", settings_json(o)}, {"models", nlohmann::json::object()}};
    std::vector<const model_type*> models;
    for (const auto& m : r.models) {
        metrics["models"][m.spec.name] = model_json(m);
        write_text(out / ("features_" + m.spec.name + ".csv"), sd::analysis::feature_table_csv(m.analysis));
        models.push_back(&m);
    }
    write_text(out / "metrics.json", metrics.dump(2) + "\n");
    run_report(o, r).write(out / "report.html");
    print_summary(models);
    std::printf("\nreport: %s\n", std::filesystem::absolute(out / "report.html").c_str());
    return 0;
}

int sweep(const options& o) {
    if (o.sweep_l1.empty()) throw bad_settings("sweep: --l1-values needs at least one value");
    std::vector<sd::experiments::planted_distillation_settings> runs;
    for (double l1 : o.sweep_l1) {
        options one = o;
        one.student.l1 = l1;
        runs.push_back(checked_settings(one));
        runs.back().models.front().name = "student_l1_" + detail::fmt(l1, "%g");
    }
    const std::filesystem::path out = o.out;
    std::filesystem::create_directories(out);
    log_file log(out / "metrics.jsonl");
    std::vector<sd::analysis::l1_sweep_row> rows;
    nlohmann::json metrics = {{"settings", settings_json(o)}, {"sweep", nlohmann::json::array()}};
    std::vector<model_type> trained;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const double l1 = o.sweep_l1[i];
        auto r = sd::experiments::run_planted_distillation<float>(runs[i], callbacks_for(o, log.file));
        const model_type& m = r.models.front();
        rows.push_back(sd::analysis::sweep_row(l1, m.analysis));
        nlohmann::json entry = to_json(rows.back());
        entry["model"] = model_json(m);
        metrics["sweep"].push_back(entry);
        trained.push_back(std::move(r.models.front()));
    }
    write_text(out / "metrics.json", metrics.dump(2) + "\n");
    sweep_report(o, rows).write(out / "report.html");
    std::vector<const model_type*> models;
    for (const auto& m : trained) models.push_back(&m);
    print_summary(models);
    std::printf("\nreport: %s\n", std::filesystem::absolute(out / "report.html").c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    CLI::App app{"distill: distil a teacher MLP into a wide sparse student (and an SAE baseline) on planted-feature "
                 "data, run the analyses of the sparse MLP distillation post, and write report.html.",
                 "distill"};
    subcommands sub;
    add_options(app, o, sub);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (sub.sweep->parsed()) o.mode = "sweep";
    if (sub.lm->parsed()) {
        o.mode = "lm";
        // Real activations have another scale than the planted default: its own defaults, unless given.
        if (app.count("--l1") == 0) o.student.l1 = 0.03;
        if (app.count("--lr") == 0) o.student.lr = 3e-3;
        o.d_sae_given = app.count("--d-sae") > 0;
    }
    if (sub.train->parsed()) {
        o.mode = "train";
        o.train.teacher_act_given = app.count("--teacher-act") > 0;
    }
    try {
        if (o.threads > 0) sd::set_num_threads(o.threads);  // bounded by the option's check
        if (o.mode == "lm") return distill::run_lm(o);
        if (o.mode == "train") return distill::run_train(o, app.count("--d-sae") > 0);
        return o.mode == "sweep" ? sweep(o) : run(o);
    } catch (const bad_settings& e) {
        std::fprintf(stderr, "distill: invalid settings: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "distill: error: %s\n", e.what());
        return 1;
    }
}
