#pragma once
// `distill train`: distil a teacher read from a file on activations read from .npy files (or fit
// precomputed teacher outputs), optionally starting from a saved student, for a fixed number of
// steps; log metrics.jsonl and save the student for SAELens or sparsify.
#include "options.hpp"
#include "outputs.hpp"

#include <sparse_distill/data/sharded_npy_source.hpp>
#include <sparse_distill/io/student_export.hpp>
#include <sparse_distill/io/teacher_import.hpp>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace distill {

namespace train_detail {

template <class Scalar>
sd::mlp_weights<Scalar> read_teacher(const options& o) {
    sd::mlp_weights<Scalar> w =
        sd::io::import_teacher<Scalar>(o.train.teacher, sd::io::parse_teacher_format(o.train.teacher_format), o.train.layer);
    // transformer_lens files do not record the activation: --teacher-act, when given, says it.
    if (o.train.teacher_act_given) w.act = sd::parse_activation(o.teacher_act);
    return w;
}

// Combinations of options that cannot work, found before any file is read (exit status 2).
inline void check_train_options(const options& o) {
    const auto& t = o.train;
    if (t.checkpoint_dir.empty() && (t.resume || t.checkpoint_every > 0))
        throw bad_settings("train: --resume and --checkpoint-every need --checkpoint-dir DIR");
    if (t.inputs.empty()) throw bad_settings("train: --inputs needs at least one .npy file of inputs [rows, d_model]");
    if (t.teacher.empty() && t.targets.empty())
        throw bad_settings("train: give --teacher FILE (targets computed on the fly) or --targets FILES (precomputed)");
    if (!t.teacher.empty() && !t.targets.empty())
        throw bad_settings("train: --teacher and --targets exclude each other (the targets are the teacher's outputs)");
    if (!t.targets.empty() && t.targets.size() != t.inputs.size())
        throw bad_settings("train: --targets has " + std::to_string(t.targets.size()) + " files for " +
                           std::to_string(t.inputs.size()) + " --inputs files; they pair up file by file");
    if (!t.init_student.empty()) {
        // The saved formats hold ReLU students whose sizes are the file's.
        if (o.student.act != "relu")
            throw bad_settings("train: --act " + o.student.act + " conflicts with --init-student (the formats hold ReLU students)");
        if (o.student.no_biases) throw bad_settings("train: --no-biases conflicts with --init-student (the file has biases)");
        if (o.student.input_bias == "learned")
            throw bad_settings("train: --input-bias learned conflicts with --init-student (the formats have no learned pre-bias)");
    }
    if (!t.save.empty()) {
        sd::student_config c;
        c.d_in = c.d_out = 1;
        c.act = sd::parse_activation(o.student.act);
        c.input_bias = sd::parse_pre_bias(o.student.input_bias);
        const std::string problem = sd::io::student_export_problem(c, sd::io::parse_student_format(t.save_format));
        if (!problem.empty()) throw bad_settings("train: --save-format " + t.save_format + ": " + problem);
    }
}

template <class Scalar>
int run_train_as(const options& o, bool d_sae_given) {
    const auto& t = o.train;
    sd::experiments::model_spec spec;
    try {
        spec = student_spec(o);
        if (t.steps > std::numeric_limits<std::int64_t>::max() / spec.train.batch_size)
            throw std::invalid_argument("--steps " + std::to_string(t.steps) + " × --batch overflows the token count");
        if (t.steps > 0) spec.train.tokens = t.steps * spec.train.batch_size;
        spec.train.checkpoint.directory = t.checkpoint_dir;
        spec.train.checkpoint.every = t.checkpoint_every;
        spec.train.checkpoint.resume = t.resume;
        // What the trainer cannot see but a resumed run must share: where its data and weights came from.
        auto joined = [](const std::vector<std::string>& files) {
            std::string all;
            for (const auto& f : files) all += (all.empty() ? "" : ",") + f;
            return all;
        };
        spec.train.checkpoint.identity = {{"seed", std::to_string(o.seed)},     {"teacher", t.teacher},
                                          {"inputs", joined(t.inputs)},          {"targets", joined(t.targets)},
                                          {"init_student", t.init_student},      {"shuffle_buffer", std::to_string(t.shuffle_buffer)}};
        spec.train.validate();
    } catch (const std::invalid_argument& e) {
        throw bad_settings(e.what());
    }

    // Files (exit status 1 on any error, with the io_error message naming file and field).
    std::optional<sd::teacher_mlp<Scalar>> teacher;
    if (!t.teacher.empty()) teacher.emplace(read_teacher<Scalar>(o));
    sd::data::npy_shards shards;
    shards.inputs.assign(t.inputs.begin(), t.inputs.end());
    shards.targets.assign(t.targets.begin(), t.targets.end());
    sd::data::sharded_npy_settings order;
    order.shuffle_buffer = t.shuffle_buffer;
    order.seed = o.seed;
    order.check_finite = true;
    using input_source = sd::data::sharded_npy_source<Scalar, false>;
    using paired_source = sd::data::sharded_npy_source<Scalar, true>;
    std::optional<input_source> inputs;
    std::optional<paired_source> pairs;
    if (teacher) {
        inputs.emplace(shards, order);
        if (inputs->dim() != teacher->d_model())
            throw sd::io::io_error(t.inputs.front(), "shape",
                                   "expected " + std::to_string(teacher->d_model()) + " columns (the teacher's d_model, from " +
                                       t.teacher + "), found " + std::to_string(inputs->dim()));
    } else {
        pairs.emplace(shards, order);
    }

    sd::student_config config = spec.config;
    config.d_in = teacher ? inputs->dim() : pairs->dim();
    config.d_out = teacher ? teacher->d_model() : pairs->target_dim();
    std::optional<sd::io::stored_student<Scalar>> init;
    if (!t.init_student.empty()) {
        init = sd::io::read_student<Scalar>(t.init_student);
        const auto& f = init->config;
        if (f.d_in != config.d_in || f.d_out != config.d_out)
            throw sd::io::io_error(t.init_student, "d_in, d_out",
                                   "expected " + std::to_string(config.d_in) + " → " + std::to_string(config.d_out) +
                                       " (the inputs and targets), found " + std::to_string(f.d_in) + " → " + std::to_string(f.d_out));
        if (d_sae_given && f.d_sae != config.d_sae)
            throw bad_settings("train: --d-sae " + std::to_string(config.d_sae) + " disagrees with --init-student (d_sae " +
                               std::to_string(f.d_sae) + ")");
        if (o.student.input_bias != "none" && f.input_bias != config.input_bias)
            throw bad_settings("train: --input-bias " + o.student.input_bias + " disagrees with --init-student (" +
                               std::string(sd::to_string(f.input_bias)) + ")");
        config.d_sae = f.d_sae;
        config.input_bias = f.input_bias;
        config.biases = true;
    }
    std::optional<sd::io::student_format> save_format;
    try {
        config.validate();
        if (!t.save.empty()) {
            save_format = sd::io::parse_student_format(t.save_format);
            const std::string problem = sd::io::student_export_problem(config, *save_format);
            if (!problem.empty()) throw std::invalid_argument("--save-format " + t.save_format + ": " + problem);
        }
    } catch (const std::invalid_argument& e) {
        throw bad_settings(std::string("train: ") + e.what());
    }
    sd::student_mlp<Scalar> student = init ? sd::student_mlp<Scalar>(config, init->weights) : sd::student_mlp<Scalar>(config, o.seed);

    const std::filesystem::path out = o.out;
    std::filesystem::create_directories(out);
    // A resumed run continues the log of the run it continues.
    std::FILE* log = std::fopen((out / "metrics.jsonl").c_str(), t.resume ? "a" : "w");
    if (!log) throw sd::io::io_error(out / "metrics.jsonl", "file", "cannot open for writing");
    struct closer {
        std::FILE* f;
        ~closer() { std::fclose(f); }
    } close_log{log};
    model_callbacks callbacks{std::nullopt, sd::jsonl_log(log, "student")};
    if (!o.quiet) callbacks.bar.emplace("student", spec.train.steps(), stderr);

    // Without a shuffle buffer, step t trains on rows [t·batch, (t+1)·batch) in file order, wrapping at the end.
    sd::trainer<Scalar> trainer(student, teacher ? &*teacher : nullptr, spec.train);
    const sd::train_summary summary = teacher ? trainer.run(*inputs, callbacks) : trainer.run(*pairs, callbacks);
    if (summary.stop_signal != 0) {
        std::printf("interrupted by signal %d after step %lld: checkpoint in %s; continue with the same options and --resume\n",
                    summary.stop_signal, static_cast<long long>(summary.steps), t.checkpoint_dir.c_str());
        return 128 + summary.stop_signal;
    }

    if (save_format) sd::io::write_student(t.save, *save_format, config, student.weights());
    const nlohmann::json metrics = {{"mode", "train"},
                                    {"dtype", t.dtype},
                                    {"teacher", t.teacher},
                                    {"inputs", t.inputs},
                                    {"targets", t.targets},
                                    {"init_student", t.init_student},
                                    {"student",
                                     {{"d_in", config.d_in}, {"d_sae", config.d_sae}, {"d_out", config.d_out},
                                      {"act", sd::to_string(config.act)}, {"input_bias", sd::to_string(config.input_bias)}}},
                                    {"steps", summary.steps},
                                    {"tokens", summary.tokens},
                                    {"seconds", summary.seconds},
                                    {"final_batch", sd::to_json(summary.last)},
                                    {"saved", t.save},
                                    {"save_format", t.save.empty() ? "" : t.save_format}};
    write_text(out / "metrics.json", metrics.dump(2) + "\n");
    std::printf("trained %lld steps (%lld tokens) in %.2f s: loss %.6g, mse %.6g, L0 %.2f\n", static_cast<long long>(summary.steps),
                static_cast<long long>(summary.tokens), summary.seconds, summary.last.terms.loss, summary.last.terms.mse,
                summary.last.terms.l0);
    if (save_format)
        std::printf("student: %s (%s)\n", std::filesystem::absolute(t.save).c_str(), t.save_format.c_str());
    return 0;
}

}  // namespace train_detail

/// `distill train`; `d_sae_given`: --d-sae was on the command line (else an --init-student sets it).
inline int run_train(const options& o, bool d_sae_given) {
    train_detail::check_train_options(o);
    return o.train.dtype == "double" ? train_detail::run_train_as<double>(o, d_sae_given)
                                     : train_detail::run_train_as<float>(o, d_sae_given);
}

}  // namespace distill
