#pragma once
// SIGINT and SIGTERM turned into a request to stop: while a scoped_stop_signals lives, the handlers
// only record the signal in a lock-free atomic, and the training loop polls it between steps, so
// the state it then checkpoints is never half-updated. A second signal while a stop is pending
// gets the default action (a second Ctrl-C still kills a run stuck in a slow write).
#include "../../detail/internal_header_check.hpp"
#include <atomic>
#include <csignal>

#include <signal.h>

namespace sparse_distill::detail {

inline std::atomic<int>& pending_stop_signal() {
    static std::atomic<int> signal_number{0};
    return signal_number;
}

inline void record_stop_signal(int signal_number) {
    int none = 0;
    if (!pending_stop_signal().compare_exchange_strong(none, signal_number)) {
        ::signal(signal_number, SIG_DFL);
        ::raise(signal_number);
    }
}

class scoped_stop_signals {
public:
    scoped_stop_signals() {
        static_assert(std::atomic<int>::is_always_lock_free, "a signal handler may only touch lock-free atomics");
        pending_stop_signal().store(0);
        struct sigaction action {};
        action.sa_handler = record_stop_signal;
        sigemptyset(&action.sa_mask);
        // Restart interrupted reads and writes: a signal during a checkpoint write must not fail it.
        action.sa_flags = SA_RESTART;
        installed_int_ = ::sigaction(SIGINT, &action, &previous_int_) == 0;
        installed_term_ = ::sigaction(SIGTERM, &action, &previous_term_) == 0;
    }
    ~scoped_stop_signals() {
        if (installed_int_) ::sigaction(SIGINT, &previous_int_, nullptr);
        if (installed_term_) ::sigaction(SIGTERM, &previous_term_, nullptr);
        pending_stop_signal().store(0);
    }
    scoped_stop_signals(const scoped_stop_signals&) = delete;
    scoped_stop_signals& operator=(const scoped_stop_signals&) = delete;

    /// The signal received since construction, or 0.
    int received() const { return pending_stop_signal().load(std::memory_order_relaxed); }

private:
    struct sigaction previous_int_ {}, previous_term_ {};
    bool installed_int_ = false, installed_term_ = false;
};

}  // namespace sparse_distill::detail
