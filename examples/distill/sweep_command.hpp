#pragma once
// `distill sweep`: the student alone at several L1 coefficients on the same planted data, and the post's
// Fig 5 against λ (errors and feature types); with --k-values also TopK (or BatchTopK) students, one per
// k, and the Pareto front of error against L0 per architecture with the simulators/sparse split of each.
#include "output_folder.hpp"
#include "outputs.hpp"
#include "report_page.hpp"

#include <cstdio>
#include <utility>
#include <vector>

namespace distill {

struct sweep_options {
    std::vector<double> l1_values = {0.03, 0.1, 0.3, 1.0};
    std::vector<sd::index_t> k_values;  ///< TopK students, one per k (--arch batchtopk: BatchTopK)
    const CLI::Option* l1_option = nullptr;  ///< --l1-values, to ask whether it was given
};

inline CLI::App* add_sweep_command(CLI::App& app, sweep_options& o) {
    CLI::App* sweep = app.add_subcommand("sweep", "train the student at several λ and draw Fig 5 (errors and feature types vs λ)");
    sweep->fallthrough();  // the main options may follow the subcommand too
    o.l1_option = sweep->add_option("--l1-values", o.l1_values, "comma-separated λ values (ReLU or GELU students)")
                      ->delimiter(',')
                      ->check(non_negative_number);
    sweep->add_option("--k-values", o.k_values,
                      "comma-separated k values: one TopK student per k (BatchTopK with --arch batchtopk); without "
                      "--l1-values only these run")
        ->delimiter(',')
        ->check(positive_number);
    return sweep;
}

inline int run_sweep(const shared_options& shared, const planted_options& planted, const sweep_options& o) {
    const bool keeps_k = shared.student.arch == "topk" || shared.student.arch == "batchtopk";
    // λ runs unless only k values were asked for; k runs when given.
    const bool l1_runs = o.l1_option->count() > 0 || (o.k_values.empty() && !keeps_k);
    if (l1_runs && o.l1_values.empty()) throw bad_settings("sweep: --l1-values needs at least one value");
    if (keeps_k && o.k_values.empty()) throw bad_settings("sweep: --arch " + shared.student.arch + " sweeps over --k-values");
    // Every run's settings are checked before the output folder is made.
    std::vector<sd::experiments::planted_distillation_settings> runs;
    std::vector<std::pair<std::string, sd::index_t>> kinds;  // architecture and k of each run
    if (l1_runs)
        for (double l1 : o.l1_values) {
            student_options student = shared.student;
            if (keeps_k) student.arch = "relu";
            student.l1 = l1;
            runs.push_back(planted_settings(shared, planted, student, /*baselines=*/false));
            runs.back().models.front().name = "student_l1_" + detail::fmt(l1, "%g");
            kinds.emplace_back(student.arch.empty() ? student.act : student.arch, 0);
        }
    for (const sd::index_t k : o.k_values) {
        student_options student = shared.student;
        if (!keeps_k) student.arch = "topk";
        student.k = k;
        runs.push_back(planted_settings(shared, planted, student, /*baselines=*/false));
        runs.back().models.front().name = student.arch + "_k" + std::to_string(k);
        kinds.emplace_back(student.arch, k);
    }
    const output_folder out(shared.common.out, shared.common.quiet);
    const auto callbacks = [&](const sd::experiments::model_spec& spec, std::int64_t steps) {
        return out.callbacks(spec.name, steps);
    };
    std::vector<sd::analysis::l1_sweep_row> rows;
    nlohmann::json metrics = {{"settings", settings_json(shared, planted)}, {"sweep", nlohmann::json::array()}};
    std::vector<model_type> trained;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        result_type r = with_backend(shared.common.backend, [&]<class Backend>() {
            return sd::experiments::run_planted_distillation<float, Backend>(runs[i], callbacks);
        });
        const model_type& m = r.models.front();
        rows.push_back(sd::analysis::sweep_row(kinds[i].first, kinds[i].second, m.spec.train.loss.l1_coeff, m.analysis));
        nlohmann::json entry = to_json(rows.back());
        entry["model"] = model_json(m);
        metrics["sweep"].push_back(entry);
        trained.push_back(std::move(r.models.front()));
    }
    out.write_metrics(metrics);
    std::vector<const model_type*> models;
    for (const auto& m : trained) models.push_back(&m);
    print_summary(models);
    out.write_report(sweep_report(shared, planted, rows));
    return 0;
}

}  // namespace distill
