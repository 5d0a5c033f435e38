#pragma once
// comm::single: one process. Every collective is a no-op; the default communicator of the trainer.
#include "../config.hpp"
#include "policy.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace sparse_distill::comm {

struct single {
    static constexpr const char* name = "single";
    static constexpr bool device_memory = false;

    int rank() const { return 0; }
    int size() const { return 1; }
    template <class T>
    void sum_in_rank_order(T*, index_t) {}
    std::int64_t max_over_ranks(std::int64_t value) { return value; }
    std::vector<std::string> gather_text(const std::string& text) { return {text}; }
    [[noreturn]] void abort(int code) { std::exit(code); }
};

static_assert(communicator<single>);

}  // namespace sparse_distill::comm
