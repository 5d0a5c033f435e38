#pragma once
// The CUDA backend's per-process state, for one host thread at a time: one stream on the current device, one cuBLAS handle bound to
// it, device scratch for reductions and pinned host memory to bring their results back. Every op of
// backend::cuda runs on this stream, in order, so ops need no synchronisation among themselves; only
// results the host reads (reduction sums, copies to host) wait for the stream.
#include "error.cuh"

#include <cstddef>
#include <cstdint>

namespace sparse_distill::backend {

namespace cuda_system {

class cuda_context {
public:
    /// The process-wide context, created on first use (on the device current at that moment).
    static cuda_context& get() {
        static cuda_context context;
        return context;
    }

    cudaStream_t stream() const { return stream_; }
    cublasHandle_t cublas() const { return cublas_; }
    int multiprocessors() const { return multiprocessors_; }

    /// Device scratch of at least `bytes`, valid until the next call. Growing it frees the old block,
    /// which waits for the device (cudaFree synchronises), so no kernel still reads it.
    void* scratch(std::size_t bytes) { return scratch_.at_least(bytes, "scratch"); }

    /// Device memory for operands converted to another type (the bf16 products), apart from scratch()
    /// so a conversion and a reduction never share it; same growth rule.
    void* staging(std::size_t bytes) { return staging_.at_least(bytes, "staging"); }

    /// Device slots where reductions leave their final sums: results stay here when a step is
    /// captured in a graph, and are read back after the replay.
    double* device_results() { return device_results_; }
    /// Pinned host mirror of device_results().
    double* host_results() { return host_results_; }
    static constexpr int result_slots = 8;

    /// Copies `count` result slots from `first` to the host and waits for the stream.
    const double* fetch_results(int first, int count) {
        cuda_check(cudaMemcpyAsync(host_results_ + first, device_results_ + first, sizeof(double) * count,
                                   cudaMemcpyDeviceToHost, stream_),
                   "cudaMemcpyAsync(results)");
        synchronize();
        return host_results_ + first;
    }

    /// Counts device allocations and frees made by the backend (buffers, scratch, staging). A captured
    /// graph holds raw addresses: a recorded step (step_replay.cuh) is captured again when this has moved.
    std::uint64_t allocation_generation() const { return allocation_generation_; }
    void note_allocation() { ++allocation_generation_; }

    void synchronize() { cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

    /// True while a graph is being captured on the stream: reductions then leave their sums on the
    /// device (no host wait is allowed inside a capture).
    bool capturing() const {
        cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
        cuda_check(cudaStreamIsCapturing(stream_, &status), "cudaStreamIsCapturing");
        return status == cudaStreamCaptureStatusActive;
    }

    cuda_context(const cuda_context&) = delete;
    cuda_context& operator=(const cuda_context&) = delete;

private:
    cuda_context() {
        int device = 0;
        cuda_check(cudaGetDevice(&device), "cudaGetDevice");
        cuda_check(cudaDeviceGetAttribute(&multiprocessors_, cudaDevAttrMultiProcessorCount, device),
                   "cudaDeviceGetAttribute(multiprocessors)");
        cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        cublas_check(cublasCreate(&cublas_), "cublasCreate");
        cublas_check(cublasSetStream(cublas_, stream_), "cublasSetStream");
        // A workspace of our own: cuBLAS then allocates nothing inside a graph capture.
        cuda_check(cudaMalloc(&cublas_workspace_, cublas_workspace_bytes), "cudaMalloc(cublas workspace)");
        cublas_check(cublasSetWorkspace(cublas_, cublas_workspace_, cublas_workspace_bytes), "cublasSetWorkspace");
        cuda_check(cudaMalloc(&device_results_, sizeof(double) * result_slots), "cudaMalloc(results)");
        cuda_check(cudaMallocHost(&host_results_, sizeof(double) * result_slots), "cudaMallocHost(results)");
    }
    // Process exit: the driver may already be shutting down, so failures here are ignored.
    ~cuda_context() {
        cublasDestroy(cublas_);
        cudaFree(cublas_workspace_);
        cudaFree(device_results_);
        cudaFreeHost(host_results_);
        cudaStreamDestroy(stream_);
    }

    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    static constexpr std::size_t cublas_workspace_bytes = 32u << 20;  // what NVIDIA advises for Hopper
    void* cublas_workspace_ = nullptr;
    int multiprocessors_ = 1;
    // A device block that only grows.
    struct growing_block {
        void* data = nullptr;
        std::size_t bytes = 0;
        void* at_least(std::size_t wanted, const char* what) {
            if (wanted > bytes) {
                if (data) cuda_check(cudaFree(data), what);
                data = nullptr;
                cuda_check(cudaMalloc(&data, wanted), what);
                bytes = wanted;
                cuda_context::get().note_allocation();
            }
            return data;
        }
        ~growing_block() { cudaFree(data); }  // at exit; a failure there is ignored
    };
    growing_block scratch_, staging_;
    std::uint64_t allocation_generation_ = 0;
    double* device_results_ = nullptr;
    double* host_results_ = nullptr;
};

/// Whether this process sees a CUDA device (tests skip without one).
inline bool cuda_device_available() {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

}  // namespace cuda_system
}  // namespace sparse_distill::backend
