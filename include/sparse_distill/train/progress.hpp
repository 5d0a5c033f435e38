#pragma once
// A callback that prints one progress line per report: step, tokens, loss terms, rate, throughput.
#include "callbacks.hpp"

#include <chrono>
#include <cstdio>
#include <cstdint>

namespace sparse_distill {

class progress_printer {
public:
    explicit progress_printer(std::int64_t total_steps, std::FILE* out = stderr)
        : total_(total_steps), out_(out), start_(std::chrono::steady_clock::now()) {}

    template <class Scalar, class Backend>
    void on_step(const step_report<Scalar, Backend>& report) {
        const step_metrics& m = report.metrics;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        const double rate = seconds > 0 ? double(m.tokens_seen) / seconds : 0;
        std::fprintf(out_, "[%6.2f%%] step %lld/%lld  tokens %lld  loss %.6g  mse %.6g  l1 %.6g  l0 %.4g  dead %.4g  lr %.3g  %.0f tok/s\n",
                     100.0 * double(m.step) / double(total_), static_cast<long long>(m.step),
                     static_cast<long long>(total_), static_cast<long long>(m.tokens_seen), m.terms.loss, m.terms.mse,
                     m.terms.l1, m.terms.l0, m.dead_fraction, m.lr, rate);
        std::fflush(out_);
    }

private:
    std::int64_t total_;
    std::FILE* out_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace sparse_distill
