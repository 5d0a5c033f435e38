#pragma once
// The post's experiment on a real model: for each chosen layer of a llama2.c transformer, harvest the
// MLP's inputs and outputs on training text, distil the (SwiGLU) MLP into a wide sparse student, run
// every analysis on held-out text, and measure the language-model loss with the student spliced in
// against the clean model and zero / mean ablation of that MLP. Top-activating contexts for a few
// features complete Fig 6.
#include "../analysis/loss_recovered.hpp"
#include "../analysis/student_analysis.hpp"
#include "../comm/rank_rows.hpp"
#include "../comm/single.hpp"
#include "../data/paired_source.hpp"
#include "../lm/harvest.hpp"
#include "../lm/harvest_shards.hpp"
#include "../lm/text_windows.hpp"
#include "../lm/top_examples.hpp"
#include "../train/metrics_log.hpp"
#include "../pipeline/distill.hpp"
#include "../train/trainer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparse_distill::experiments {

struct lm_distillation_settings {
    std::vector<int> layers;            ///< empty: every layer
    int window = 128;                   ///< tokens per sequence, for harvesting and for the loss
    double held_out_fraction = 0.1;     ///< the last passages of the text: analyses and loss, never training
    double width_ratio = 4.0;           ///< d_sae = round(width_ratio · d_mlp), the post's ×4
    student_config student;             ///< d_in, d_sae, d_out are filled in
    train_settings train;
    analysis::analysis_options analysis;
    /// Held-out tokens the analyses and top-activating contexts see: the first whole windows up to this
    /// many (0: all). The analyses hold every such token's d_sae activations, so this bounds their
    /// memory; the spliced losses always use every held-out window, a batch at a time.
    index_t analysis_tokens = 65536;
    index_t example_features = 16;      ///< features shown with top-activating contexts (sparse ones first)
    index_t examples_per_feature = 5;
    int batch_windows = 16;             ///< windows per forward pass (bounds the logits held at once)
    bool keep_harvest = false;          ///< return the training harvest (e.g. to write it as .npy)
    /// Train the post's baseline instead of a student: an SAE that reads and reconstructs the MLP's output
    /// (spliced in as MLP(x) → SAE(MLP(x))). Its encoder lives in the output space, so it is not compared
    /// with the teacher's input vectors, and no top-activating contexts are drawn for it.
    bool sae = false;
    /// Non-empty: the training harvest streams to .npy shards in this folder (lm/harvest_shards.hpp)
    /// and each student trains from them through data::sharded_npy_source, so memory does not grow
    /// with the text (keep_harvest is then moot: the shards stay). Empty: the harvest is held in memory.
    /// On several ranks it is required, on a file system every rank sees: rank r harvests windows
    /// r, r + N, r + 2N, … into harvest_folder/rank<r>/, and every rank trains on its rows of every batch
    /// drawn from all ranks' shards.
    std::filesystem::path harvest_folder;
    index_t shard_rows = 0;             ///< rows per shard (0: about 32 MB per shard, lm::rows_per_shard_for)
    /// Rows shuffled together when training from shards (0: about 256 MB of rows, at least 4096);
    /// in memory the whole harvest is shuffled.
    index_t shuffle_rows = 0;
    std::uint64_t seed = 0;

    /// Throws std::invalid_argument naming what is impossible for `model` (an lm::llama_config or
    /// lm::decoder_config: both name dim, hidden_dim, n_layers and seq_len).
    template <class ModelConfig>
    void validate(const ModelConfig& model) const {
        std::vector<int> seen;
        for (int l : layers) {
            if (l < 0 || l >= model.n_layers)
                throw std::invalid_argument("layer " + std::to_string(l) + " outside [0, " + std::to_string(model.n_layers) + ")");
            if (std::find(seen.begin(), seen.end(), l) != seen.end())
                throw std::invalid_argument("layer " + std::to_string(l) + " is listed twice");
            seen.push_back(l);
        }
        if (window < 2 || window > model.seq_len)
            throw std::invalid_argument("window must be 2.." + std::to_string(model.seq_len) + " tokens (the model's seq_len), got " +
                                        std::to_string(window));
        if (!(held_out_fraction > 0 && held_out_fraction < 1))
            throw std::invalid_argument("held-out fraction must lie in (0, 1) (got " + std::to_string(held_out_fraction) + ")");
        if (!(width_ratio > 0 && std::isfinite(width_ratio))) throw std::invalid_argument("width ratio must be positive");
        if (analysis_tokens < 0) throw std::invalid_argument("analysis tokens must be non-negative (0: every held-out token)");
        if (example_features < 0 || examples_per_feature <= 0)
            throw std::invalid_argument("example counts must be non-negative (features) and positive (per feature)");
        if (batch_windows < 1) throw std::invalid_argument("batch_windows must be positive");
        train.validate();
        student_for(model).validate();
    }

    /// The student for one layer of `model`: the configured one with its dims filled in.
    template <class ModelConfig>
    student_config student_for(const ModelConfig& model) const {
        student_config c = student;
        c.d_in = c.d_out = model.dim;
        c.d_sae = std::max<index_t>(1, static_cast<index_t>(std::llround(width_ratio * double(model.hidden_dim))));
        return c;
    }
};

/// One layer: what `distill` returned, the language-model loss with the student spliced in, and
/// top-activating contexts of a few features.
struct lm_layer_result : distilled_model<float> {
    int layer = 0;
    analysis::spliced_losses losses;
    std::vector<index_t> example_features;
    std::vector<std::vector<lm::token_example>> examples;  ///< one list per example feature
};

struct lm_distillation_result {
    std::size_t train_tokens = 0, held_out_tokens = 0;       ///< in whole windows
    std::size_t train_passages = 0, held_out_passages = 0;
    std::size_t analysed_tokens = 0;                         ///< the held-out tokens the analyses saw
    double clean_loss = 0;
    double forward_tokens_per_second = 0;                    ///< the harvesting forward pass, hooks included
    std::vector<lm_layer_result> layers;
    lm::harvest train_harvest;  ///< only with settings.keep_harvest
};

namespace detail {
/// Sparse features first, the rarest first among those that fired on at least `min_fires` held-out
/// tokens (rare features tend to be the monosemantic ones, and the post's Fig 6 shows sparse
/// features), then simulators that fired as often.
inline std::vector<index_t> pick_example_features(const analysis::student_analysis& a, index_t count, index_t min_fires) {
    std::vector<index_t> sparse, simulators;
    for (std::size_t j = 0; j < a.types.size(); ++j) {
        if (a.types[j] == analysis::feature_type::sparse_feature && a.activity.fire_counts[j] >= min_fires)
            sparse.push_back(static_cast<index_t>(j));
        if (a.types[j] == analysis::feature_type::neuron_simulator && a.activity.fire_counts[j] >= min_fires)
            simulators.push_back(static_cast<index_t>(j));
    }
    const auto by_frequency = [&](index_t x, index_t y) {
        return a.activity.fire_counts[static_cast<std::size_t>(x)] < a.activity.fire_counts[static_cast<std::size_t>(y)];
    };
    std::stable_sort(sparse.begin(), sparse.end(), by_frequency);
    std::vector<index_t> out;
    for (index_t j : sparse)
        if (index_t(out.size()) < count) out.push_back(j);
    for (index_t j : simulators)
        if (index_t(out.size()) < count) out.push_back(j);
    return out;
}

/// Mean next-token loss over `windows`, `batch` windows per forward pass so that only batch·T·vocab
/// logits exist at once; equal-length windows make every batch's mean weigh by its window count.
template <class Model>
double chunked_loss(const Model& model, const std::vector<std::vector<int>>& windows, int batch,
                           const lm::forward_hooks& hooks = {}) {
    double sum = 0;
    for (std::size_t first = 0; first < windows.size(); first += static_cast<std::size_t>(batch)) {
        const std::size_t count = std::min(windows.size() - first, static_cast<std::size_t>(batch));
        const std::vector<std::vector<int>> part(windows.begin() + static_cast<std::ptrdiff_t>(first),
                                                 windows.begin() + static_cast<std::ptrdiff_t>(first + count));
        sum += model.next_token_loss(part, hooks) * double(count);
    }
    return sum / double(windows.size());
}
}  // namespace detail

/// Refuses windows with no training or no held-out part, saying how many passages each had.
inline lm::text_windows checked_windows(lm::text_windows w, const lm_distillation_settings& s) {
    if (w.train.empty() || w.held_out.empty())
        throw std::invalid_argument(
            "the text gives " + std::to_string(w.train.size()) + " training and " + std::to_string(w.held_out.size()) +
            " held-out windows of " + std::to_string(s.window) + " tokens (" + std::to_string(w.train_passages) + " + " +
            std::to_string(w.held_out_passages) + " passages, separated by blank lines): both parts need at least one");
    return w;
}

/// The text's windows (lm::make_text_windows), refusing a split that leaves either part empty.
template <class Tokenizer>
lm::text_windows checked_text_windows(const Tokenizer& tok, std::string_view text, const lm_distillation_settings& s) {
    return checked_windows(lm::make_text_windows(tok, text, s.window, s.held_out_fraction), s);
}

/// Runs the experiment on the text's `windows` (checked_text_windows). `make_callbacks(layer,
/// total_steps)` gives each layer's training callbacks (one object or a std::tuple of them);
/// `progress(stage)` reports what is being done.
/// The students train (and are analysed) on `Backend`; the transformer itself runs on the host.
/// What every rank's harvest wrote, in rank order, for the training of a multi-rank run: each harvested
/// layer's shards of every rank, and the mean MLP output over all of them. Collective: every rank calls
/// it with its own harvest, after all have written theirs.
template <comm::communicator Comm>
lm::sharded_harvest combine_rank_harvests(const lm::sharded_harvest& mine, Comm& comm) {
    if (comm.size() == 1) return mine;
    nlohmann::json listed = nlohmann::json::array();
    for (const data::npy_shards& shards : mine.shards) {
        nlohmann::json layer = {{"inputs", nlohmann::json::array()}, {"targets", nlohmann::json::array()}};
        for (const auto& f : shards.inputs) layer["inputs"].push_back(f.string());
        for (const auto& f : shards.targets) layer["targets"].push_back(f.string());
        listed.push_back(layer);
    }
    lm::sharded_harvest all;
    all.folder = mine.folder.parent_path();
    all.layers = mine.layers;
    all.shards.resize(mine.layers.size());
    for (const std::string& text : comm.gather_text(listed.dump())) {
        const nlohmann::json theirs = nlohmann::json::parse(text);
        for (std::size_t i = 0; i < all.shards.size(); ++i) {
            for (const auto& f : theirs.at(i).at("inputs")) all.shards[i].inputs.emplace_back(f.get<std::string>());
            for (const auto& f : theirs.at(i).at("targets")) all.shards[i].targets.emplace_back(f.get<std::string>());
        }
    }
    // Means weighted by each rank's rows, summed in rank order.
    std::vector<double> sums{static_cast<double>(mine.rows)};
    for (const vector<double>& mean : mine.mean_output)
        for (index_t c = 0; c < mean.size(); ++c) sums.push_back(mean[c] * static_cast<double>(mine.rows));
    comm.sum_in_rank_order(sums.data(), static_cast<index_t>(sums.size()));
    all.rows = static_cast<std::uint64_t>(sums[0]);
    std::size_t at = 1;
    for (const vector<double>& mean : mine.mean_output) {
        vector<double> total(mean.size());
        for (index_t c = 0; c < mean.size(); ++c) total[c] = sums[at++] / sums[0];
        all.mean_output.push_back(total);
    }
    return all;
}

/// Runs `work` on every rank and agrees on its outcome: a rank whose work threw rethrows, and the others
/// throw naming it, so no rank goes on to a collective the failed one never reaches.
template <comm::communicator Comm, class Work>
void on_every_rank(Comm& comm, const std::string& what, Work&& work) {
    if (comm.size() == 1) return work();
    std::exception_ptr fault;
    try {
        work();
    } catch (...) {
        fault = std::current_exception();
    }
    const std::int64_t failed = comm.max_over_ranks(fault ? comm.rank() + 1 : 0);
    if (fault) std::rethrow_exception(fault);
    if (failed > 0) throw std::runtime_error(what + " failed on rank " + std::to_string(failed - 1) + " (its own message says why)");
}

template <class Backend = backend::cpu, comm::communicator Comm = comm::single, class Model, class MakeCallbacks, class Progress>
lm_distillation_result run_lm_distillation(const Model& model, const lm::text_windows& windows,
                                           lm_distillation_settings s, MakeCallbacks&& make_callbacks, Progress&& progress,
                                           Comm comm = {}) {
    const int n_layers = model.config().n_layers;
    s.validate(model.config());
    if (s.layers.empty())
        for (int l = 0; l < n_layers; ++l) s.layers.push_back(l);
    if (windows.train.empty() || windows.held_out.empty())
        throw std::invalid_argument("run_lm_distillation: no training or no held-out windows");
    lm_distillation_result r;
    r.train_passages = windows.train_passages;
    r.held_out_passages = windows.held_out_passages;
    r.train_tokens = windows.train.size() * static_cast<std::size_t>(s.window);
    r.held_out_tokens = windows.held_out.size() * static_cast<std::size_t>(s.window);

    const bool to_disk = !s.harvest_folder.empty();
    const index_t dim = model.config().dim;
    const int ranks = comm.size();
    if (ranks > 1 && !to_disk)
        throw std::invalid_argument("run_lm_distillation: on " + std::to_string(ranks) + " ranks the training harvest goes to disk "
                                    "(harvest_folder, on a file system every rank sees): each rank harvests its share of the windows");
    if (static_cast<std::size_t>(ranks) > windows.train.size())
        throw std::invalid_argument("run_lm_distillation: " + std::to_string(windows.train.size()) + " training windows for " +
                                    std::to_string(ranks) + " ranks: each rank needs at least one");
    // This rank's windows: every ranks-th, starting at its rank (all of them on one rank).
    std::vector<std::vector<int>> strided;
    if (ranks > 1)
        for (std::size_t w = static_cast<std::size_t>(comm.rank()); w < windows.train.size(); w += static_cast<std::size_t>(ranks))
            strided.push_back(windows.train[w]);
    const std::vector<std::vector<int>>& mine = ranks > 1 ? strided : windows.train;
    const std::filesystem::path folder = ranks > 1 ? s.harvest_folder / ("rank" + std::to_string(comm.rank())) : s.harvest_folder;
    progress("harvesting MLP activations of " + std::to_string(windows.train.size()) + " training windows" +
             (to_disk ? " into " + s.harvest_folder.string() : std::string()) +
             (ranks > 1 ? " (" + std::to_string(mine.size()) + " on each of " + std::to_string(ranks) + " ranks)" : std::string()));
    const auto start = std::chrono::steady_clock::now();
    lm::harvest train;
    lm::sharded_harvest shards;
    on_every_rank(comm, "harvesting", [&] {
        if (to_disk)
            shards = lm::harvest_mlp_shards(model, mine, s.layers, folder, s.shard_rows > 0 ? s.shard_rows : lm::rows_per_shard_for(dim),
                                            s.batch_windows);
        else
            train = lm::harvest_mlp_activations(model, mine, s.layers, s.batch_windows);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.forward_tokens_per_second = seconds > 0 ? double(to_disk ? static_cast<index_t>(shards.rows) : train.rows()) / seconds : 0;
    if (to_disk) shards = combine_rank_harvests(shards, comm);
    const std::size_t analysed_windows =
        s.analysis_tokens > 0 ? std::min(windows.held_out.size(), static_cast<std::size_t>(std::max<index_t>(1, s.analysis_tokens / s.window)))
                              : windows.held_out.size();
    const std::vector<std::vector<int>> analysed(windows.held_out.begin(), windows.held_out.begin() + static_cast<std::ptrdiff_t>(analysed_windows));
    progress("harvesting " + std::to_string(analysed_windows) + " held-out windows for the analyses");
    const lm::harvest held = lm::harvest_mlp_activations(model, analysed, s.layers, s.batch_windows);
    r.analysed_tokens = analysed_windows * static_cast<std::size_t>(s.window);
    // The loss holds batch·T·vocab logits at once (GPT-2: 50,257 per token): at most ~256 MB of them.
    const auto logit_row_bytes = static_cast<std::size_t>(model.config().vocab_size) * sizeof(float);
    const int loss_batch = std::clamp<int>(static_cast<int>((std::size_t{256} << 20) / logit_row_bytes / static_cast<std::size_t>(s.window)), 1,
                                           s.batch_windows);
    r.clean_loss = detail::chunked_loss(model, windows.held_out, loss_batch);

    for (int layer : s.layers) {
        lm_layer_result& out = r.layers.emplace_back();
        out.layer = layer;
        const teacher_mlp<float, Backend> teacher(lm::teacher_weights(model, layer));
        distill_settings d;
        d.student = s.student_for(model.config());
        d.train = s.train;
        d.analysis = s.analysis;
        d.seed = s.seed * 137 + static_cast<std::uint64_t>(layer);

        progress("layer " + std::to_string(layer) + ": training a student with " + std::to_string(d.student.d_sae) +
                 " features, then its analyses");
        const lm::layer_activations& held_acts = held.layer(layer);
        // {teacher input, student input, target}: an SAE reads the MLP output it reconstructs.
        const analysis::eval_tokens<float> eval{held_acts.mlp_in, s.sae ? held_acts.mlp_out : held_acts.mlp_in, held_acts.mlp_out};
        if (s.sae) d.analysis.compare_encoder = false;
        auto callbacks = make_callbacks(layer, s.train.steps());
        const auto train_on = [&](auto& source) {
            std::apply([&](auto&... each) {
                static_cast<distilled_model<float>&>(out) = distill_on_ranks(comm, teacher, source, eval, d, each...);
            }, callback_refs(callbacks));
        };
        const std::uint64_t source_seed = s.seed * 131 + static_cast<std::uint64_t>(layer);
        vector<float> mean_output;
        if (to_disk) {
            data::sharded_npy_settings from_disk;
            from_disk.shuffle_buffer = s.shuffle_rows > 0 ? s.shuffle_rows
                                                          : std::max<index_t>(4096, static_cast<index_t>((std::size_t{256} << 20) /
                                                                                                         (2 * sizeof(float) * static_cast<std::size_t>(dim))));
            from_disk.seed = source_seed;
            if (ranks > 1) from_disk.rank_slice = comm::rank_rows::of(s.train.batch_size, comm.rank(), ranks);
            data::npy_shards files = shards.layer(layer);
            if (s.sae) files.inputs = files.targets;
            data::sharded_npy_source<float, true> source(files, from_disk);
            train_on(source);
            mean_output = shards.mean_output[shards.index_of(layer)].cast<float>();
        } else {
            const lm::layer_activations& acts = train.layer(layer);
            data::paired_source<float> source(s.sae ? acts.mlp_out : acts.mlp_in, acts.mlp_out, source_seed);
            train_on(source);
            mean_output = lm::mean_mlp_output(acts);
        }

        // The transformer runs on the host: the spliced loss and the examples use a host copy of the student.
        progress("layer " + std::to_string(layer) + ": spliced losses");
        student_mlp<float> student(out.config, out.weights);
        student.set_batch_threshold(out.batch_threshold);  // a BatchTopK student infers with its τ
        out.losses.clean = r.clean_loss;
        lm::forward_hooks zero, mean, spliced;
        zero.replace[layer] = lm::zero_ablation();
        mean.replace[layer] = lm::mean_ablation(mean_output);
        const teacher_mlp<float> host_teacher(lm::teacher_weights(model, layer));
        if (s.sae)
            spliced.replace[layer] = [&](const matrix<float>& in, matrix<float>& mlp_out) { mlp_out = student.predict(host_teacher.forward(in)); };
        else
            spliced.replace[layer] = [&student](const matrix<float>& in, matrix<float>& mlp_out) { mlp_out = student.predict(in); };
        out.losses.zero_ablated = detail::chunked_loss(model, windows.held_out, loss_batch, zero);
        out.losses.mean_ablated = detail::chunked_loss(model, windows.held_out, loss_batch, mean);
        out.losses.student = detail::chunked_loss(model, windows.held_out, loss_batch, spliced);

        if (!s.sae) {
            out.example_features = detail::pick_example_features(out.analysis, s.example_features, s.examples_per_feature);
            out.examples = lm::top_examples(student, held, layer, out.example_features, s.examples_per_feature);
        }
    }
    if (s.keep_harvest) r.train_harvest = std::move(train);
    return r;
}

/// The same on raw `text`.
template <class Backend = backend::cpu, class Model, class Tokenizer, class MakeCallbacks, class Progress>
lm_distillation_result run_lm_distillation(const Model& model, const Tokenizer& tok, std::string_view text,
                                           const lm_distillation_settings& s, MakeCallbacks&& make_callbacks,
                                           Progress&& progress) {
    return run_lm_distillation<Backend>(model, checked_text_windows(tok, text, s), s, std::forward<MakeCallbacks>(make_callbacks),
                               std::forward<Progress>(progress));
}

}  // namespace sparse_distill::experiments
