#pragma once
// comm::nccl: data-parallel ranks over NCCL, one rank per GPU, summing device memory on the CUDA
// backend's stream. Opt-in like the CUDA backend: nvcc compiles the including file, which links NCCL
// (the libnccl that ships with the CUDA toolkit). NCCL does not start processes: launch one process a
// GPU (mpirun, srun, or a script), make an ncclUniqueId on rank 0 (nccl::new_id), hand it to every rank
// (MPI_Bcast, a shared file) and construct nccl::world(id, rank, size) on each, after cudaSetDevice.
//
// The sums are fixed in rank order exactly as comm::mpi's (comm/mpi.hpp): the n values are cut into N
// chunks; rank j receives every rank's copy of chunk j (grouped ncclSend/ncclRecv), adds the copies in
// rank order 0, 1, …, N−1 in one kernel, then sends its summed chunk to every rank. ncclAllReduce's ring
// and tree orders change with the message size and the topology; this order does not.
#if !defined(__CUDACC__)
#error "sparse_distill/comm/nccl.cuh needs nvcc: compile this file as CUDA"
#endif

#include "../backend/cuda/context.cuh"
#include "../backend/cuda/error.cuh"
#include "../config.hpp"
#include "policy.hpp"
#include "rank_rows.hpp"

#include <nccl.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sparse_distill::comm {

namespace detail {
inline void check_nccl(ncclResult_t result, const char* call) {
    if (result != ncclSuccess) throw std::runtime_error(std::string("comm::nccl: ") + call + " failed: " + ncclGetErrorString(result));
}

template <class T>
ncclDataType_t nccl_type() {
    if constexpr (std::is_same_v<T, float>) return ncclFloat32;
    else if constexpr (std::is_same_v<T, double>) return ncclFloat64;
    else if constexpr (std::is_same_v<T, std::int64_t>) return ncclInt64;
    else if constexpr (std::is_same_v<T, char>) return ncclChar;
    else static_assert(sizeof(T) == 0, "comm::nccl: no NCCL datatype for this type");
}

/// own[i] = copies[0·count + i] + copies[1·count + i] + … in rank order.
template <class T>
__global__ void nccl_sum_copies_kernel(const T* copies, int ranks, long long count, T* own) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        T sum = copies[i];
        for (int r = 1; r < ranks; ++r) sum += copies[r * count + i];
        own[i] = sum;
    }
}
}  // namespace detail

class nccl {
public:
    static constexpr const char* name = "nccl";
    /// sum_device_in_rank_order takes device pointers; sum_in_rank_order (host) stages through the device.
    static constexpr bool device_memory = true;

    /// A fresh id for a new communicator, made on one rank and handed to all.
    static ncclUniqueId new_id() {
        ncclUniqueId id;
        detail::check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
        return id;
    }
    /// Rank `rank` of `size` joins the communicator of `id` on the current device (collective: every
    /// rank calls it).
    static nccl world(const ncclUniqueId& id, int rank, int size) {
        ncclComm_t comm = nullptr;
        detail::check_nccl(ncclCommInitRank(&comm, size, id, rank), "ncclCommInitRank");
        return nccl(comm, /*owns=*/true);
    }

    nccl() = default;
    nccl(nccl&& other) noexcept { *this = std::move(other); }
    nccl& operator=(nccl&& other) noexcept {
        std::swap(comm_, other.comm_);
        std::swap(owns_, other.owns_);
        std::swap(rank_, other.rank_);
        std::swap(size_, other.size_);
        std::swap(copies_, other.copies_);
        std::swap(staging_, other.staging_);
        return *this;
    }
    nccl(const nccl&) = delete;
    nccl& operator=(const nccl&) = delete;
    ~nccl() {
        if (owns_ && comm_) ncclCommDestroy(comm_);
    }

    int rank() const { return rank_; }
    int size() const { return size_; }

    /// values (device memory, n of them) ← their sum over the ranks in rank order, on every rank.
    template <class T>
    void sum_device_in_rank_order(T* values, index_t n) {
        if (size_ == 1 || n == 0) return;
        const cudaStream_t stream = backend::cuda_system::cuda_context::get().stream();
        const index_t my_begin = rank_rows::split(n, rank_, size_), mine = rank_rows::split(n, rank_ + 1, size_) - my_begin;
        T* copies = static_cast<T*>(copies_.at_least(static_cast<std::size_t>(size_) * static_cast<std::size_t>(mine) * sizeof(T)));
        const ncclDataType_t type = detail::nccl_type<T>();
        detail::check_nccl(ncclGroupStart(), "ncclGroupStart");
        for (int r = 0; r < size_; ++r) {
            const index_t begin = rank_rows::split(n, r, size_), count = rank_rows::split(n, r + 1, size_) - begin;
            detail::check_nccl(ncclSend(values + begin, static_cast<std::size_t>(count), type, r, comm_, stream), "ncclSend");
            detail::check_nccl(ncclRecv(copies + r * mine, static_cast<std::size_t>(mine), type, r, comm_, stream), "ncclRecv");
        }
        detail::check_nccl(ncclGroupEnd(), "ncclGroupEnd");
        if (mine > 0) {
            const int blocks = static_cast<int>(std::min<index_t>((mine + 255) / 256, 1024));
            detail::nccl_sum_copies_kernel<<<blocks, 256, 0, stream>>>(copies, size_, static_cast<long long>(mine), values + my_begin);
            backend::cuda_system::cuda_check(cudaGetLastError(), "nccl_sum_copies_kernel");
        }
        detail::check_nccl(ncclGroupStart(), "ncclGroupStart");
        for (int r = 0; r < size_; ++r) {
            const index_t begin = rank_rows::split(n, r, size_), count = rank_rows::split(n, r + 1, size_) - begin;
            if (r != rank_) {
                detail::check_nccl(ncclSend(values + my_begin, static_cast<std::size_t>(mine), type, r, comm_, stream), "ncclSend");
                detail::check_nccl(ncclRecv(values + begin, static_cast<std::size_t>(count), type, r, comm_, stream), "ncclRecv");
            }
        }
        detail::check_nccl(ncclGroupEnd(), "ncclGroupEnd");
    }

    /// The same for host memory (the trainer's few scalar sums and firing counts), through the device.
    template <class T>
    void sum_in_rank_order(T* values, index_t n) {
        if (size_ == 1 || n == 0) return;
        T* device = static_cast<T*>(staging_.at_least(static_cast<std::size_t>(n) * sizeof(T)));
        auto& context = backend::cuda_system::cuda_context::get();
        backend::cuda_system::cuda_check(
            cudaMemcpyAsync(device, values, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyHostToDevice, context.stream()), "cudaMemcpyAsync");
        sum_device_in_rank_order(device, n);
        backend::cuda_system::cuda_check(
            cudaMemcpyAsync(values, device, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToHost, context.stream()), "cudaMemcpyAsync");
        context.synchronize();
    }

    std::int64_t max_over_ranks(std::int64_t value) {
        if (size_ == 1) return value;
        auto& context = backend::cuda_system::cuda_context::get();
        auto* device = static_cast<std::int64_t*>(staging_.at_least(sizeof(std::int64_t)));
        backend::cuda_system::cuda_check(cudaMemcpyAsync(device, &value, sizeof value, cudaMemcpyHostToDevice, context.stream()), "cudaMemcpyAsync");
        detail::check_nccl(ncclAllReduce(device, device, 1, ncclInt64, ncclMax, comm_, context.stream()), "ncclAllReduce");
        backend::cuda_system::cuda_check(cudaMemcpyAsync(&value, device, sizeof value, cudaMemcpyDeviceToHost, context.stream()), "cudaMemcpyAsync");
        context.synchronize();
        return value;
    }

    /// Every rank's text on every rank (padded to the longest, through the device).
    std::vector<std::string> gather_text(const std::string& text) {
        if (size_ == 1) return {text};
        const auto longest = static_cast<std::size_t>(max_over_ranks(static_cast<std::int64_t>(text.size())));
        const std::size_t slot = longest + sizeof(std::int64_t);
        std::vector<char> mine(slot, '\0'), all(slot * static_cast<std::size_t>(size_));
        const auto length = static_cast<std::int64_t>(text.size());
        std::copy_n(reinterpret_cast<const char*>(&length), sizeof length, mine.data());
        std::copy(text.begin(), text.end(), mine.data() + sizeof length);
        auto& context = backend::cuda_system::cuda_context::get();
        char* device = static_cast<char*>(staging_.at_least(all.size() + slot));
        backend::cuda_system::cuda_check(cudaMemcpyAsync(device + all.size(), mine.data(), slot, cudaMemcpyHostToDevice, context.stream()), "cudaMemcpyAsync");
        detail::check_nccl(ncclAllGather(device + all.size(), device, slot, ncclChar, comm_, context.stream()), "ncclAllGather");
        backend::cuda_system::cuda_check(cudaMemcpyAsync(all.data(), device, all.size(), cudaMemcpyDeviceToHost, context.stream()), "cudaMemcpyAsync");
        context.synchronize();
        std::vector<std::string> texts;
        for (int r = 0; r < size_; ++r) {
            const char* at = all.data() + static_cast<std::size_t>(r) * slot;
            std::int64_t n = 0;
            std::copy_n(at, sizeof n, reinterpret_cast<char*>(&n));
            texts.emplace_back(at + sizeof n, static_cast<std::size_t>(n));
        }
        return texts;
    }

    /// ncclCommAbort, then ends this process: the launcher (mpirun, srun) ends the others.
    [[noreturn]] void abort(int code) {
        std::fflush(stdout);
        std::fflush(stderr);
        if (comm_) ncclCommAbort(comm_);
        comm_ = nullptr;
        std::exit(code);
    }

private:
    nccl(ncclComm_t comm, bool owns) : comm_(comm), owns_(owns) {
        detail::check_nccl(ncclCommUserRank(comm_, &rank_), "ncclCommUserRank");
        detail::check_nccl(ncclCommCount(comm_, &size_), "ncclCommCount");
    }

    // Device memory of at least `bytes`, kept between calls. Growing it waits for the stream first, so no
    // queued collective still reads the old block.
    struct device_block {
        void* data = nullptr;
        std::size_t bytes = 0;
        void* at_least(std::size_t wanted) {
            if (wanted <= bytes) return data;
            backend::cuda_system::cuda_context::get().synchronize();
            if (data) cudaFree(data);
            data = nullptr;
            backend::cuda_system::cuda_check(cudaMalloc(&data, wanted), "cudaMalloc(comm::nccl)");
            bytes = wanted;
            return data;
        }
        device_block() = default;
        device_block(device_block&& other) noexcept : data(std::exchange(other.data, nullptr)), bytes(std::exchange(other.bytes, 0)) {}
        device_block& operator=(device_block&& other) noexcept {
            std::swap(data, other.data);
            std::swap(bytes, other.bytes);
            return *this;
        }
        ~device_block() {
            if (data) cudaFree(data);
        }
    };

    ncclComm_t comm_ = nullptr;
    bool owns_ = false;
    int rank_ = 0, size_ = 1;
    device_block copies_;   ///< every rank's copy of this rank's chunk
    device_block staging_;  ///< host values on their way through the device
};

static_assert(communicator<nccl>);

}  // namespace sparse_distill::comm
