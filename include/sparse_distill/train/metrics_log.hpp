#pragma once
// Callbacks that keep what training measured: `metrics_history` in memory (for plots), `jsonl_log`
// as one JSON object per line in a file (for tools: `jq`, pandas.read_json(lines=True)).
#include "callbacks.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sparse_distill {

/// The metrics of every reported step (every callback_every steps and the last).
struct metrics_history {
    std::vector<step_metrics> steps;

    template <class Report>
    void on_step(const Report& report) { steps.push_back(report.metrics); }
};

/// One step's metrics; the keys of the terms a run does not have (auxk without AuxK, threshold_window
/// without JumpReLU, dead_fraction for GELU students) are left out.
inline nlohmann::json to_json(const step_metrics& m) {
    nlohmann::json j = {{"step", m.step}, {"tokens", m.tokens_seen}, {"lr", m.lr},    {"loss", m.terms.loss},
                        {"mse", m.terms.mse}, {"l1", m.terms.l1},      {"l0", m.terms.l0}};
    if (m.terms.total_variance > 0) {
        j["auxk"] = m.terms.auxk;
        j["total_variance"] = m.terms.total_variance;
    }
    if (m.terms.threshold_window > 0) j["threshold_window"] = m.terms.threshold_window;
    if (std::isfinite(m.dead_fraction)) j["dead_fraction"] = m.dead_fraction;
    return j;
}

/// Appends {"model": name, "step": …, "tokens": …, "lr": …, "loss": …, "mse": …, "l1": …, "l0": …,
/// "seconds": …} per reported step to a file shared by the caller, flushed line by line so a
/// crashed run keeps everything it logged.
class jsonl_log {
public:
    /// `path`, when given, names the file in error messages.
    jsonl_log(std::FILE* file, std::string model, std::string path = "the metrics log")
        : file_(file), model_(std::move(model)), path_(std::move(path)), start_(std::chrono::steady_clock::now()) {
        if (!file_) throw std::invalid_argument("jsonl_log: no file");
    }

    template <class Report>
    void on_step(const Report& report) {
        nlohmann::json line = to_json(report.metrics);
        line["model"] = model_;
        line["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        const std::string text = line.dump() + "\n";
        errno = 0;
        if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0)
            throw std::runtime_error(path_ + ": writing a line failed: " +
                                     (errno != 0 ? std::string(std::strerror(errno)) : std::string("unknown reason")));
    }

private:
    std::FILE* file_;
    std::string model_;
    std::string path_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace sparse_distill
