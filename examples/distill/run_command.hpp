#pragma once
// `distill run` (also what `distill` alone does): on planted-feature data, the student, its GELU twin and
// an SAE baseline, every analysis of the post, report.html, metrics.json and features_<model>.csv.
// Its options are planted_options (shared with `sweep`) with the student and training options.
#include "output_folder.hpp"
#include "outputs.hpp"
#include "report_page.hpp"

#include <cstdio>
#include <vector>

namespace distill {

inline CLI::App* add_run_command(CLI::App& app) {
    CLI::App* run = app.add_subcommand("run", "the default: a student, its GELU twin and an SAE on planted-feature data, "
                                              "every analysis of the post, report.html");
    run->fallthrough();  // the main options may follow the subcommand too
    return run;
}

inline int run_planted(const shared_options& shared, const planted_options& planted) {
    const auto settings = planted_settings(shared, planted, shared.student, /*baselines=*/true);
    for (const auto& model : settings.models) {
        sd::student_config c = model.config;
        c.d_in = c.d_out = planted.data.dim;
        check_memory_for(c, model.train.batch_size, sizeof(float));
    }
    const output_folder out(shared.common.out, shared.common.quiet);
    const auto callbacks = [&](const sd::experiments::model_spec& spec, std::int64_t steps) {
        return out.callbacks(spec.name, steps);
    };
    const result_type r = with_backend(shared.common.backend, [&]<class Backend>() {
        return sd::experiments::run_planted_distillation<float, Backend>(settings, callbacks);
    });

    nlohmann::json metrics = {{"settings", settings_json(shared, planted)}, {"models", nlohmann::json::object()}};
    std::vector<const model_type*> models;
    for (const auto& m : r.models) {
        metrics["models"][m.spec.name] = model_json(m);
        out.write_text("features_" + m.spec.name + ".csv", sd::analysis::feature_table_csv(m.analysis));
        models.push_back(&m);
    }
    out.write_metrics(metrics);
    print_summary(models);
    out.write_report(run_report(shared, planted, r));
    return 0;
}

}  // namespace distill
