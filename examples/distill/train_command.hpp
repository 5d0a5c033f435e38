#pragma once
// `distill train`: distil a teacher read from a file on activations read from .npy files (or fit
// precomputed teacher outputs), optionally starting from a saved student, for a fixed number of
// steps (on --backend); log metrics.jsonl and save the student for SAELens or sparsify.
#include "common_options.hpp"
#include "output_folder.hpp"
#include "planted_options.hpp"
#include "ranks.hpp"

#include <sparse_distill/data/sharded_npy_source.hpp>
#include <sparse_distill/io/checksum.hpp>
#include <sparse_distill/io/file_pattern.hpp>
#include <sparse_distill/io/student_export.hpp>
#include <sparse_distill/io/teacher_import.hpp>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace distill {

struct train_options {
    std::string teacher, teacher_format = "auto";
    int layer = 0;
    std::vector<std::string> inputs, targets;
    sd::index_t shuffle_buffer = 0;  ///< 0: rows in file order
    std::string init_student;
    std::string dead_mask;  ///< .npy [d_sae], nonzero = dead: AuxK's dead set for every step
    std::int64_t steps = 0;  ///< 0: --tokens decides
    std::string save, save_format = "saelens";
    std::string dtype = "float";
    std::string checkpoint_dir;        ///< empty: no checkpoints
    std::int64_t checkpoint_every = 0;  ///< 0: only at the end and on SIGINT/SIGTERM
    bool resume = false;
};

inline CLI::App* add_train_command(CLI::App& app, train_options& t) {
    CLI::App* train = app.add_subcommand("train", "distil a teacher from a file on activations from .npy files (or fit precomputed "
                                                  "targets), for a fixed number of steps; write metrics.jsonl and save the student "
                                                  "for SAELens or sparsify. Training and student options apply.");
    train->fallthrough();
    train->add_option("--teacher", t.teacher, "teacher checkpoint (.safetensors, or a folder with model.safetensors); --teacher-act, when given, overrides its activation");
    train->add_option("--teacher-format", t.teacher_format, "naming scheme of the teacher file")
        ->check(CLI::IsMember(sd::io::teacher_format_names.names()));
    train->add_option("--layer", t.layer, "the teacher's layer (ignored for bare transformer_lens names)")->check(CLI::Range(0, 1 << 20));
    train->add_option("--inputs", t.inputs,
                      "input activations, .npy [rows, d_model], read in file order; 'acts/shard_*.npy' (quoted) lists "
                      "the matching files in sorted order");
    train->add_option("--targets", t.targets, "precomputed teacher outputs, .npy [rows, d_out], one per --inputs file (patterns as --inputs)");
    train->add_option("--shuffle-buffer", t.shuffle_buffer, "rows shuffled together (0: file order)")->check(non_negative_number);
    train->add_option("--init-student", t.init_student, "start from this student: SAELens folder or .safetensors, or sparsify folder");
    train->add_option("--dead-mask", t.dead_mask,
                      "AuxK's dead latents for every step instead of the counted ones: .npy [d_sae], nonzero = dead");
    train->add_option("--steps", t.steps, "training steps (otherwise --tokens / --batch)")->check(positive_number);
    train->add_option("--save", t.save, "save the trained student in this folder");
    train->add_option("--save-format", t.save_format, "layout of --save")->check(CLI::IsMember(sd::io::student_format_names.names()));
    train->add_option("--dtype", t.dtype, "precision of the student and teacher")->check(CLI::IsMember({"float", "double"}));
    train->add_option("--checkpoint-dir", t.checkpoint_dir,
                      "save the full training state here (at the end, every --checkpoint-every steps, and on "
                      "SIGINT/SIGTERM, which then stop the run with exit status 130/143)");
    train->add_option("--checkpoint-every", t.checkpoint_every, "steps between checkpoints (0: only at the end and on a signal)")
        ->check(non_negative_number);
    train->add_flag("--resume", t.resume, "continue bit-identically from --checkpoint-dir's checkpoint (same options)");
    return train;
}

namespace detail {

/// The teacher file; transformer_lens files do not record the activation, so --teacher-act (a planted
/// option, shared), when given, says it.
template <class Scalar>
sd::mlp_weights<Scalar> read_teacher(const shared_options& shared, const planted_options& planted, const train_options& t) {
    sd::mlp_weights<Scalar> w = sd::io::import_teacher<Scalar>(t.teacher, sd::io::parse_teacher_format(t.teacher_format), t.layer);
    if (shared.given("--teacher-act")) w.act = sd::parse_activation(planted.teacher_act);
    return w;
}

// Combinations of options that cannot work, found before any file is read (exit status 2).
inline void check_train_options(const student_options& student, const train_options& t) {
    if (t.checkpoint_dir.empty() && (t.resume || t.checkpoint_every > 0))
        throw bad_settings("train: --resume and --checkpoint-every need --checkpoint-dir DIR");
    if (t.inputs.empty()) throw bad_settings("train: --inputs needs at least one .npy file of inputs [rows, d_model]");
    if (t.teacher.empty() && t.targets.empty())
        throw bad_settings("train: give --teacher FILE (targets computed on the fly) or --targets FILES (precomputed)");
    if (!t.teacher.empty() && !t.targets.empty())
        throw bad_settings("train: --teacher and --targets exclude each other (the targets are the teacher's outputs)");
    if (!t.init_student.empty()) {
        // The saved formats hold ReLU students whose sizes are the file's.
        if (student.act != "relu")
            throw bad_settings("train: --act " + student.act + " conflicts with --init-student (the formats hold ReLU students)");
        if (student.no_biases) throw bad_settings("train: --no-biases conflicts with --init-student (the file has biases)");
        if (student.pre_bias == "learned")
            throw bad_settings("train: --pre-bias learned conflicts with --init-student (the formats have no learned pre-bias)");
    }
    if (!t.dead_mask.empty() && !(student.auxk_alpha > 0))
        throw bad_settings("train: --dead-mask fixes AuxK's dead set; it needs --auxk-alpha > 0");
    if (!t.save.empty()) {
        sd::student_config c = student_spec(student, 1).config;
        c.d_in = c.d_out = 1;
        const std::string problem = sd::io::student_export_problem(c, sd::io::parse_student_format(t.save_format));
        if (!problem.empty()) throw bad_settings("train: --save-format " + t.save_format + ": " + problem);
    }
}

/// --inputs and --targets as files: each entry may be a pattern with '*' in its file name
/// ('acts/shard_*.npy', quoted so that the shell leaves it), expanded in sorted order. Throws
/// io_error (exit 1) for a pattern that matches nothing, bad_settings (exit 2) when the targets do
/// not pair up with the inputs file by file.
inline void expand_shard_patterns(train_options& t) {
    auto expand = [](std::vector<std::string>& entries) {
        std::vector<std::string> files;
        for (const std::string& entry : entries)
            for (const auto& file : sd::io::expand_file_pattern(entry)) files.push_back(file.string());
        entries = std::move(files);
    };
    expand(t.inputs);
    expand(t.targets);
    if (!t.targets.empty() && t.targets.size() != t.inputs.size())
        throw bad_settings("train: --targets has " + std::to_string(t.targets.size()) + " files for " +
                           std::to_string(t.inputs.size()) + " --inputs files; they pair up file by file");
}

/// What a resumed run must share with the run it continues beyond the student and training settings
/// (checkpoint_settings::identity): the seed, every option that changes the computation but lives
/// outside them (the teacher's activation as used, --teacher-act or the file's; its layer and naming
/// scheme; the shuffle buffer), and each
/// file's fingerprint (size and content hash, sd::io::path_fingerprint), not its path, so the same
/// file by another path resumes and a changed file at the same path is refused.
inline std::map<std::string, std::string> run_identity(const shared_options& shared, const train_options& t,
                                                       const std::string& teacher_act) {
    std::map<std::string, std::string> identity{
        {"seed", std::to_string(shared.common.seed)},
        {"shuffle_buffer", std::to_string(t.shuffle_buffer)},
    };
    if (!t.teacher.empty()) {
        identity["teacher_act"] = teacher_act;
        identity["teacher"] = sd::io::path_fingerprint(t.teacher);
        identity["teacher_layer"] = std::to_string(t.layer);
        identity["teacher_format"] = t.teacher_format;
    }
    auto add_files = [&](const std::string& name, const std::vector<std::string>& files) {
        identity[name + " count"] = std::to_string(files.size());
        for (std::size_t i = 0; i < files.size(); ++i)
            identity[name + "[" + std::to_string(i) + "]"] = sd::io::path_fingerprint(files[i]);
    };
    add_files("inputs", t.inputs);
    add_files("targets", t.targets);
    if (!t.init_student.empty()) identity["init_student"] = sd::io::path_fingerprint(t.init_student);
    if (!t.dead_mask.empty()) identity["dead_mask"] = sd::io::path_fingerprint(t.dead_mask);
    return identity;
}

/// --dead-mask: a .npy of d_sae flags (bool or integers, nonzero = dead).
inline std::vector<bool> read_dead_mask(const std::string& file, sd::index_t d_sae) {
    const sd::io::tensor_data mask = sd::io::read_npy(file);
    if (mask.shape.size() != 1 || mask.shape[0] != d_sae)
        throw sd::io::io_error(file, "shape",
                               "expected [" + std::to_string(d_sae) + "] (one flag per latent, d_sae), found " +
                                   sd::io::detail::shape_string(mask.shape));
    std::vector<bool> dead;
    for (const double flag : sd::io::to_values<double>(mask)) dead.push_back(flag != 0);
    return dead;
}

template <class Scalar, class Backend>
int run_train_as(const shared_options& shared, const planted_options& planted, const train_options& t, launch& ranks) {
    const std::uint64_t seed = shared.common.seed;
    sd::experiments::model_spec spec;
    try {
        spec = student_spec(shared.student, shared.common.log_every);
        if (t.steps > std::numeric_limits<std::int64_t>::max() / spec.train.batch_size)
            throw std::invalid_argument("--steps " + std::to_string(t.steps) + " × --batch overflows the token count");
        if (t.steps > 0) spec.train.tokens = t.steps * spec.train.batch_size;
        spec.train.checkpoint.directory = t.checkpoint_dir;
        spec.train.checkpoint.every = t.checkpoint_every;
        spec.train.checkpoint.resume = t.resume;
        spec.train.validate();
        if (ranks.several()) {
            // Each rank reads and trains on its rows of every batch.
            (void)sd::comm::rank_rows::of(spec.train.batch_size, ranks.rank(), ranks.size());
            if (spec.config.sparsity == sd::sparsity_mode::batchtopk || spec.train.loss.auxk.enabled())
                throw std::invalid_argument("--arch batchtopk and --auxk-alpha run on one rank only (BatchTopK selects over the "
                                            "whole batch, AuxK normalises by its variance); " +
                                            std::to_string(ranks.size()) + " were launched");
        }
    } catch (const std::invalid_argument& e) {
        throw bad_settings(e.what());
    }

    // Files (exit status 1 on any error, with the io_error message naming file and field).
    std::optional<sd::teacher_mlp<Scalar, Backend>> teacher;
    if (!t.teacher.empty()) teacher.emplace(read_teacher<Scalar>(shared, planted, t));
    // Only a checkpointed run needs the files' fingerprints (a full read of files up to 256 MiB).
    if (!t.checkpoint_dir.empty())
        spec.train.checkpoint.identity = run_identity(shared, t, teacher ? std::string(sd::to_string(teacher->act())) : std::string());
    sd::data::npy_shards shards;
    shards.inputs.assign(t.inputs.begin(), t.inputs.end());
    shards.targets.assign(t.targets.begin(), t.targets.end());
    sd::data::sharded_npy_settings order;
    order.shuffle_buffer = t.shuffle_buffer;
    order.seed = seed;
    order.check_finite = true;
    if (ranks.several()) order.rank_slice = sd::comm::rank_rows::of(spec.train.batch_size, ranks.rank(), ranks.size());
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
        if (shared.given("--d-sae") && f.d_sae != config.d_sae)
            throw bad_settings("train: --d-sae " + std::to_string(config.d_sae) + " disagrees with --init-student (d_sae " +
                               std::to_string(f.d_sae) + ")");
        if (shared.student.pre_bias != "none" && f.pre_bias != config.pre_bias)
            throw bad_settings("train: --pre-bias " + shared.student.pre_bias + " disagrees with --init-student (" +
                               std::string(sd::to_string(f.pre_bias)) + ")");
        // The file's own architecture (a JumpReLU file has thresholds, a skip transcoder W_skip; a
        // native file says everything) must be the one the options ask for.
        if (f.sparsity == sd::sparsity_mode::jumprelu && config.sparsity != sd::sparsity_mode::jumprelu)
            throw sd::io::io_error(t.init_student, "tensor 'log_threshold'",
                                   "the file holds a JumpReLU student; train it with --arch jumprelu");
        if (config.sparsity == sd::sparsity_mode::jumprelu && f.sparsity != sd::sparsity_mode::jumprelu)
            throw sd::io::io_error(t.init_student, "tensor 'log_threshold'", "missing: --arch jumprelu needs the student's thresholds");
        if (f.skip != config.skip)
            throw sd::io::io_error(t.init_student, "tensor 'W_skip'",
                                   f.skip ? "the file holds a skip transcoder; train it with --skip" : "missing: --skip needs W_skip");
        // A file that states its architecture (a TopK or JumpReLU folder, a native file) must agree; a
        // plain ReLU file may start a TopK or BatchTopK run (its weights are all it gives).
        const bool states_architecture = f.sparsity != sd::sparsity_mode::l1 || init->format == sd::io::student_format::native;
        if (states_architecture && (f.sparsity != config.sparsity || f.k != config.k || f.act != config.act))
            throw sd::io::io_error(t.init_student, "student",
                                   "the file holds a " + std::string(sd::to_string(f.sparsity)) + " student (k " + std::to_string(f.k) +
                                       "); the options ask for " + std::string(sd::to_string(config.sparsity)) + " (k " +
                                       std::to_string(config.k) + ")");
        config.d_sae = f.d_sae;
        config.pre_bias = f.pre_bias;
        config.biases = f.biases;
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
    try {
        spec.train.loss.validate_for(config);
    } catch (const std::invalid_argument& e) {
        throw bad_settings(std::string("train: ") + e.what());
    }
    check_memory_for(config, spec.train.batch_size, sizeof(Scalar));
    sd::student_mlp<Scalar, Backend> student = init ? sd::student_mlp<Scalar, Backend>(config, init->weights)
                                                    : sd::student_mlp<Scalar, Backend>(config, seed);
    if (init) student.set_batch_threshold(init->batch_threshold);
    std::optional<std::vector<bool>> dead;
    if (!t.dead_mask.empty()) dead = read_dead_mask(t.dead_mask, config.d_sae);
    // Every output location is checked before the first step, not after the last.
    if (save_format) sd::io::check_student_destination(t.save);

    // A resumed run continues the log of the run it continues. Only rank 0 writes.
    std::optional<output_folder> out;
    if (ranks.writes()) out.emplace(shared.common.out, shared.common.quiet, /*continue_log=*/t.resume);
    using trainer_type = sd::trainer<Scalar, Backend, rank_comm>;
    trainer_type trainer = teacher ? trainer_type(student, *teacher, spec.train, ranks.comm()) : trainer_type(student, spec.train, ranks.comm());
    if (dead) trainer.fix_dead_latents(*dead);
    // Resumed here rather than in run(), so that a checkpoint this launch cannot continue (another rank
    // count, other options) is a setup failure every rank reports together.
    if (t.resume) {
        const std::filesystem::path file = sd::checkpoint_file(t.checkpoint_dir);
        teacher ? trainer.load_checkpoint(file, *inputs) : trainer.load_checkpoint(file, *pairs);
    }
    ranks.setup_done();
    // Without a shuffle buffer, step t trains on rows [t·batch, (t+1)·batch) in file order, wrapping at the end.
    const auto train_with = [&](auto&&... callbacks) { return teacher ? trainer.run(*inputs, callbacks...) : trainer.run(*pairs, callbacks...); };
    const sd::train_summary summary = out ? std::apply(train_with, out->callbacks("student", spec.train.steps())) : train_with();
    if (!ranks.writes()) return summary.stop_signal != 0 ? 128 + summary.stop_signal : 0;
    if (summary.already_finished) {
        // A finished run resumed again: its metrics and saved student stay as the run left them.
        std::printf("the run in %s had already finished (step %lld of %lld): nothing to train; its outputs are left as they were\n",
                    t.checkpoint_dir.c_str(), static_cast<long long>(summary.steps), static_cast<long long>(spec.train.steps()));
        return 0;
    }
    if (summary.stop_signal != 0) {
        std::printf("interrupted by signal %d after step %lld: checkpoint in %s; continue with the same options and --resume\n",
                    summary.stop_signal, static_cast<long long>(summary.steps), t.checkpoint_dir.c_str());
        return 128 + summary.stop_signal;
    }

    if (save_format) sd::io::write_student(t.save, *save_format, config, student.weights(), {}, student.batch_threshold());
    nlohmann::json metrics = {{"mode", "train"},
                                    {"backend", shared.common.backend},
                                    {"dtype", t.dtype},
                                    {"teacher", t.teacher},
                                    {"inputs", t.inputs},
                                    {"targets", t.targets},
                                    {"init_student", t.init_student},
                                    {"student", config},
                                    {"train", spec.train},
                                    {"steps", summary.steps},
                                    {"tokens", summary.tokens},
                                    {"seconds", summary.seconds},
                                    {"final_batch", sd::to_json(summary.last)},
                                    {"saved", t.save},
                                    {"save_format", t.save.empty() ? "" : t.save_format}};
    if (ranks.several()) metrics["ranks"] = ranks.size();
    out->write_metrics(metrics);
    std::printf("trained %lld steps (%lld tokens) in %.2f s: loss %.6g, mse %.6g, L0 %.2f\n", static_cast<long long>(summary.steps),
                static_cast<long long>(summary.tokens), summary.seconds, summary.last.terms.loss, summary.last.terms.mse,
                summary.last.terms.l0);
    if (save_format)
        std::printf("student: %s (%s)\n", std::filesystem::absolute(t.save).c_str(), t.save_format.c_str());
    return 0;
}

}  // namespace detail

/// `distill train`.
inline int run_train(const shared_options& shared, const planted_options& planted, const train_options& given, launch& ranks) {
    detail::check_train_options(shared.student, given);
    train_options t = given;
    detail::expand_shard_patterns(t);
    return with_backend(shared.common.backend, [&]<class Backend>() {
        return t.dtype == "double" ? detail::run_train_as<double, Backend>(shared, planted, t, ranks)
                                   : detail::run_train_as<float, Backend>(shared, planted, t, ranks);
    });
}

}  // namespace distill
