#pragma once
// A progress callback for people: on a terminal, one line redrawn in place with a bar, tokens/s, loss,
// L0, the share of dead latents (where counted) and the time left; into a file or pipe, a plain line at most every `plain_interval` seconds (and
// at the end), so logs stay readable. A null stream makes it silent (a program's --quiet), so callers
// pass the same callbacks either way.
#include "callbacks.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace sparse_distill {

class progress_bar {
public:
    /// `out` null: prints nothing.
    progress_bar(std::string label, std::int64_t total_steps, std::FILE* out = stderr, double plain_interval = 5.0)
        : label_(std::move(label)), total_(total_steps), out_(out), plain_interval_(plain_interval),
          terminal_(out != nullptr && ::isatty(::fileno(out)) == 1), start_(std::chrono::steady_clock::now()) {}

    template <class Scalar, class Backend>
    void on_step(const step_report<Scalar, Backend>& report) {
        if (!out_) return;
        const step_metrics& m = report.metrics;
        const double elapsed = seconds_since_start();
        const bool last = m.step >= total_;
        if (!terminal_ && !last && elapsed - last_plain_ < plain_interval_ && m.step > 1) return;
        last_plain_ = elapsed;
        const double fraction = total_ > 0 ? std::clamp(double(m.step) / double(total_), 0.0, 1.0) : 1.0;
        const double rate = elapsed > 0 ? double(m.tokens_seen) / elapsed : 0;
        const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
        const std::string stats = format_stats(m, rate, elapsed, eta);
        if (terminal_) {
            constexpr int width = 24;
            const int filled = static_cast<int>(fraction * width + 0.5);
            std::fprintf(out_, "\r\033[2K%s [%s%s] %3.0f%% %s", label_.c_str(), std::string(std::size_t(filled), '#').c_str(),
                         std::string(std::size_t(width - filled), '.').c_str(), 100 * fraction, stats.c_str());
        } else {
            std::fprintf(out_, "%s %3.0f%% step %lld/%lld %s\n", label_.c_str(), 100 * fraction,
                         static_cast<long long>(m.step), static_cast<long long>(total_), stats.c_str());
        }
        std::fflush(out_);
    }

    void on_finish(const train_summary&) {
        if (!out_) return;
        if (terminal_) std::fputc('\n', out_);
        std::fflush(out_);
    }

private:
    double seconds_since_start() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    static std::string format_time(double seconds) {
        const auto s = static_cast<long long>(seconds + 0.5);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
        return buf;
    }
    static std::string format_stats(const step_metrics& m, double rate, double elapsed, double eta) {
        char dead[32] = "";
        if (std::isfinite(m.dead_fraction)) std::snprintf(dead, sizeof dead, "  dead %.1f%%", 100 * m.dead_fraction);
        char buf[192];
        std::snprintf(buf, sizeof buf, "%.3gM tok  %.1fk tok/s  loss %.4g  mse %.4g  L0 %.1f%s  %s elapsed  ETA %s",
                      double(m.tokens_seen) / 1e6, rate / 1e3, m.terms.loss, m.terms.mse, m.terms.l0, dead,
                      format_time(elapsed).c_str(), format_time(eta).c_str());
        return buf;
    }

    std::string label_;
    std::int64_t total_;
    std::FILE* out_;
    double plain_interval_;
    bool terminal_;
    double last_plain_ = -1e9;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace sparse_distill
