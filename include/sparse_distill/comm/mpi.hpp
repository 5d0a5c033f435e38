#pragma once
// comm::mpi: data-parallel ranks over MPI (host memory). The program links MPI (CMake:
// find_package(MPI) and MPI::MPI_CXX; the installed package's `mpi` component does it) and calls
// MPI_Init, or holds an mpi_session, before making a communicator of MPI_COMM_WORLD.
//
// How the sums are fixed (sum_in_rank_order): MPI_Allreduce may add the ranks' values in any order, and
// its algorithm changes with the message size and the rank count, so its result is not reproducible to
// the bit. Instead the n values are cut into N chunks, chunk j going to rank j (MPI_Alltoallv: each rank
// receives every rank's copy of its own chunk); rank j adds the N copies of each element in rank order
// 0, 1, …, N−1; the summed chunks are then gathered on every rank (MPI_Allgatherv). This moves the same
// 2·(N−1)/N·n values a rank as a ring all-reduce, and the result depends only on the values and N.
#include "../config.hpp"
#include "policy.hpp"
#include "rank_rows.hpp"

// Only MPI's C interface is used: Open MPI's and MPICH's deprecated C++ bindings stay out.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace sparse_distill::comm {

namespace detail {
template <class T>
MPI_Datatype mpi_type() {
    if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
    else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
    else static_assert(sizeof(T) == 0, "comm::mpi: no MPI datatype for this type");
}

inline void check_mpi(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw std::runtime_error(std::string("comm::mpi: ") + call + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}
}  // namespace detail

/// Whether this process was started by an MPI launcher (mpirun / mpiexec of Open MPI or MPICH, srun with
/// PMI): the environment such launchers set. A program built with MPI that is run directly stays one
/// process and never initialises MPI.
inline bool launched_by_mpi() {
    for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
        if (std::getenv(variable)) return true;
    return false;
}

/// MPI_Init_thread (funneled: only the thread that calls the trainer talks to MPI) for the lifetime of
/// the object, and MPI_Finalize after it; nothing when MPI was initialised already.
class mpi_session {
public:
    mpi_session(int& argc, char**& argv) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (initialized) return;
        int provided = 0;
        detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
        owner_ = true;
    }
    mpi_session(const mpi_session&) = delete;
    mpi_session& operator=(const mpi_session&) = delete;
    ~mpi_session() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owner_ && !finalized) MPI_Finalize();
    }

private:
    bool owner_ = false;
};

/// A communicator over an MPI communicator (MPI_COMM_WORLD for a whole mpirun job). Default-constructed
/// it is one rank that never calls MPI: what a program built with MPI uses when it was not launched by
/// mpirun (launched_by_mpi()).
class mpi {
public:
    static constexpr const char* name = "mpi";
    static constexpr bool device_memory = false;
    /// Values per round of sum_in_rank_order: bounds its scratch memory (and keeps MPI's int counts small).
    static constexpr index_t round_values = index_t{1} << 24;

    mpi() = default;
    explicit mpi(MPI_Comm communicator) : comm_(communicator), active_(true) {
        detail::check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
        detail::check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    }

    int rank() const { return rank_; }
    int size() const { return size_; }

    /// values[i] ← Σ over ranks, added in rank order (see the file's comment), on every rank.
    template <class T>
    void sum_in_rank_order(T* values, index_t n) {
        if (size_ == 1 || n == 0) return;
        for (index_t start = 0; start < n; start += round_values) sum_round(values + start, std::min(round_values, n - start));
    }

    std::int64_t max_over_ranks(std::int64_t value) {
        if (size_ == 1) return value;
        detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT64_T, MPI_MAX, comm_), "MPI_Allreduce");
        return value;
    }

    /// Every rank's text, in rank order, on every rank.
    std::vector<std::string> gather_text(const std::string& text) {
        if (size_ == 1) return {text};
        const int length = static_cast<int>(text.size());
        std::vector<int> lengths(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
        detail::check_mpi(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm_), "MPI_Allgather");
        int total = 0;
        for (int r = 0; r < size_; ++r) {
            offsets[static_cast<std::size_t>(r)] = total;
            total += lengths[static_cast<std::size_t>(r)];
        }
        std::string all(static_cast<std::size_t>(total), '\0');
        detail::check_mpi(MPI_Allgatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, comm_),
                          "MPI_Allgatherv");
        std::vector<std::string> texts;
        for (int r = 0; r < size_; ++r)
            texts.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                       static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
        return texts;
    }

    /// MPI_Abort: ends every rank of the job (mpirun reports the code and this rank).
    [[noreturn]] void abort(int code) {
        std::fflush(stdout);
        std::fflush(stderr);
        if (active_) MPI_Abort(comm_, code);
        std::exit(code);
    }

private:
    template <class T>
    void sum_round(T* values, index_t n) {
        const auto ranks = static_cast<std::size_t>(size_);
        std::vector<int> send_counts(ranks), send_offsets(ranks), receive_counts(ranks), receive_offsets(ranks);
        const index_t my_begin = rank_rows::split(n, rank_, size_), my_end = rank_rows::split(n, rank_ + 1, size_);
        const int mine = static_cast<int>(my_end - my_begin);
        for (int r = 0; r < size_; ++r) {
            const auto i = static_cast<std::size_t>(r);
            send_offsets[i] = static_cast<int>(rank_rows::split(n, r, size_));
            send_counts[i] = static_cast<int>(rank_rows::split(n, r + 1, size_)) - send_offsets[i];
            receive_counts[i] = mine;
            receive_offsets[i] = r * mine;
        }
        scratch_.resize(ranks * static_cast<std::size_t>(mine) * sizeof(T));
        T* copies = reinterpret_cast<T*>(scratch_.data());
        const MPI_Datatype type = detail::mpi_type<T>();
        detail::check_mpi(MPI_Alltoallv(values, send_counts.data(), send_offsets.data(), type, copies, receive_counts.data(),
                                        receive_offsets.data(), type, comm_),
                          "MPI_Alltoallv");
        T* own = values + my_begin;
        for (int i = 0; i < mine; ++i) {
            T sum = copies[i];
            for (std::size_t r = 1; r < ranks; ++r) sum += copies[r * static_cast<std::size_t>(mine) + static_cast<std::size_t>(i)];
            own[i] = sum;
        }
        detail::check_mpi(MPI_Allgatherv(MPI_IN_PLACE, 0, type, values, send_counts.data(), send_offsets.data(), type, comm_),
                          "MPI_Allgatherv");
    }

    MPI_Comm comm_ = MPI_COMM_NULL;
    bool active_ = false;
    int rank_ = 0, size_ = 1;
    std::vector<unsigned char> scratch_;  ///< every rank's copy of this rank's chunk
};

static_assert(communicator<mpi>);

}  // namespace sparse_distill::comm
