// The trainer over several ranks, without MPI: ranks as threads of this process talking through a
// communicator that sums in rank order (what comm::mpi does across processes). N ranks must equal one
// process with the same global batch to float rounding, repeat bit-identically, agree on the dead-latent
// counts, and refuse what they cannot do exactly. tests/distributed/ runs the same over real MPI.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "support/thrown_message.hpp"

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sd = sparse_distill;

namespace train_data_parallel_test {

// What the ranks of one run share: a barrier and one slot per rank.
struct board {
    explicit board(int n) : ranks(n), sync(n), slots(static_cast<std::size_t>(n)), values(static_cast<std::size_t>(n)) {}
    int ranks;
    std::barrier<> sync;
    std::vector<const void*> slots;
    std::vector<std::int64_t> values;
};

// A communicator whose ranks are threads. Every rank reads every rank's buffer after a barrier, adds
// them in rank order, and writes its own after a second barrier.
class thread_comm {
public:
    static constexpr const char* name = "threads";
    static constexpr bool device_memory = false;
    thread_comm() = default;
    thread_comm(board& shared, int rank) : board_(&shared), rank_(rank) {}

    int rank() const { return rank_; }
    int size() const { return board_ ? board_->ranks : 1; }

    template <class T>
    void sum_in_rank_order(T* values, sd::index_t n) {
        if (size() == 1) return;
        board_->slots[static_cast<std::size_t>(rank_)] = values;
        board_->sync.arrive_and_wait();
        std::vector<T> sum(values, values + n);
        std::fill(sum.begin(), sum.end(), T(0));
        for (int r = 0; r < size(); ++r) {
            const T* theirs = static_cast<const T*>(board_->slots[static_cast<std::size_t>(r)]);
            for (sd::index_t i = 0; i < n; ++i) sum[static_cast<std::size_t>(i)] = r == 0 ? theirs[i] : sum[static_cast<std::size_t>(i)] + theirs[i];
        }
        board_->sync.arrive_and_wait();
        std::copy(sum.begin(), sum.end(), values);
    }
    std::int64_t max_over_ranks(std::int64_t value) {
        if (size() == 1) return value;
        board_->values[static_cast<std::size_t>(rank_)] = value;
        board_->sync.arrive_and_wait();
        const std::int64_t most = *std::max_element(board_->values.begin(), board_->values.end());
        board_->sync.arrive_and_wait();
        return most;
    }
    std::vector<std::string> gather_text(const std::string& text) { return {text}; }  // unused by the trainer
    [[noreturn]] void abort(int) { std::terminate(); }

private:
    board* board_ = nullptr;
    int rank_ = 0;
};
static_assert(sd::comm::communicator<thread_comm>);

constexpr sd::index_t d = 8;

sd::student_config student_of(sd::sparsity_mode mode) {
    sd::student_config c;
    c.d_in = c.d_out = d;
    c.d_sae = 48;
    c.sparsity = mode;
    if (mode == sd::sparsity_mode::topk || mode == sd::sparsity_mode::batchtopk) c.k = 3;
    return c;
}

sd::train_settings settings_of(sd::sparsity_mode mode, std::int64_t steps) {
    sd::train_settings s = sd::train_settings::for_steps(steps, 30);
    s.schedule = {1e-2, 5, 0, 0.1};
    s.adam.weight_decay = 1e-3;
    if (mode == sd::sparsity_mode::l1) s.loss.l1_coeff = 3e-2;
    if (mode == sd::sparsity_mode::jumprelu) s.loss.l0_coeff = 1e-2;
    s.dead_tokens = 60;
    return s;
}

struct rank_result {
    std::vector<double> parameters;
    std::vector<std::int64_t> since_fired;
    double loss = 0;
};

// One run of `steps` steps on `ranks` ranks (threads); each rank's parameters and counts.
std::vector<rank_result> train_on(int ranks, sd::sparsity_mode mode, std::int64_t steps) {
    const sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(d, 24, sd::activation::gelu, 5));
    board shared(ranks);
    std::vector<rank_result> results(static_cast<std::size_t>(ranks));
    std::vector<std::exception_ptr> faults(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            try {
                sd::set_num_threads(1);
                sd::student_mlp<double> student(student_of(mode), 11);
                // A source that hands out whole batches: the trainer cuts out the rank's rows.
                sd::data::gaussian_source<double> source(d, 3);
                sd::trainer<double, sd::backend::cpu, thread_comm> trainer(student, teacher, settings_of(mode, steps),
                                                                             thread_comm(shared, r));
                const sd::train_summary summary = trainer.run(source);
                rank_result& mine = results[static_cast<std::size_t>(r)];
                mine.parameters.assign(student.parameters(), student.parameters() + student.parameter_count());
                mine.since_fired = trainer.tokens_since_fired();
                mine.loss = summary.last.terms.loss;
            } catch (...) {
                faults[static_cast<std::size_t>(r)] = std::current_exception();
            }
        });
    for (std::thread& t : threads) t.join();
    for (const std::exception_ptr& fault : faults)
        if (fault) std::rethrow_exception(fault);
    return results;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double difference = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        difference += (a[i] - b[i]) * (a[i] - b[i]);
        norm += b[i] * b[i];
    }
    return std::sqrt(difference / norm);
}

TEST_CASE("data parallel: 2 and 3 ranks equal one process with the same global batch to 1e-12 in double, and repeat bit-identically") {
    for (const sd::sparsity_mode mode : {sd::sparsity_mode::l1, sd::sparsity_mode::topk, sd::sparsity_mode::jumprelu}) {
        CAPTURE(std::string(sd::to_string(mode)));
        const std::vector<rank_result> one = train_on(1, mode, 40);
        for (const int ranks : {2, 3}) {
            CAPTURE(ranks);
            const std::vector<rank_result> many = train_on(ranks, mode, 40);
            for (const rank_result& rank : many) {
                // Every rank holds the same student and the same counts.
                CHECK(rank.parameters == many[0].parameters);
                CHECK(rank.since_fired == many[0].since_fired);
            }
            CHECK(relative_difference(many[0].parameters, one[0].parameters) < 1e-12);
            CHECK(many[0].loss == doctest::Approx(one[0].loss).epsilon(1e-12));
            if (mode == sd::sparsity_mode::l1) CHECK(many[0].since_fired == one[0].since_fired);
            CHECK(train_on(ranks, mode, 40)[0].parameters == many[0].parameters);
        }
    }
}

TEST_CASE("data parallel: what cannot be split exactly is refused, naming why") {
    const sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(d, 24, sd::activation::gelu, 5));
    board shared(2);  // never waited on: the constructors throw before any collective
    sd::student_mlp<double> batchtopk(student_of(sd::sparsity_mode::batchtopk), 1);
    CHECK(sd_test::thrown_message([&] {
              sd::trainer<double, sd::backend::cpu, thread_comm>(batchtopk, teacher, settings_of(sd::sparsity_mode::batchtopk, 5),
                                                                 thread_comm(shared, 0));
          }).find("BatchTopK and AuxK are not supported on several ranks") != std::string::npos);
    sd::student_mlp<double> relu(student_of(sd::sparsity_mode::l1), 1);
    sd::train_settings tiny = settings_of(sd::sparsity_mode::l1, 5);
    tiny.batch_size = 1;
    CHECK(sd_test::thrown_message([&] {
              sd::trainer<double, sd::backend::cpu, thread_comm>(relu, teacher, tiny, thread_comm(shared, 1));
          }).find("cannot be split over 2 ranks") != std::string::npos);
}

}  // namespace train_data_parallel_test
