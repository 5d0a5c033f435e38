#pragma once
// oneDNN's matmul for the CPU policies that multiply through it (backend::cpu_onednn: fp32 operands;
// backend::cpu_bf16: bf16 operands), always accumulating in fp32: its engine, one cached primitive per
// shape, the rounding of fp32 operands to bf16, and the instruction-set check the bf16 policy needs.
#include "../../config.hpp"
#include "../../tensor/view.hpp"
#include "../cpu/matmul.hpp"
#include "../cpu/parallel.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace sparse_distill::backend::onednn_system {

/// The CPU instruction set oneDNN will use, by name, and whether it has AVX512-BF16 (or AMX, above it).
inline std::string effective_isa_name(dnnl::cpu_isa isa) {
    switch (isa) {
        case dnnl::cpu_isa::sse41: return "sse41";
        case dnnl::cpu_isa::avx: return "avx";
        case dnnl::cpu_isa::avx2: return "avx2";
        case dnnl::cpu_isa::avx512_core: return "avx512_core";
        case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
        case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
        case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
        case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
        default: return "isa " + std::to_string(static_cast<int>(isa));
    }
}
inline bool has_bf16_instructions(dnnl::cpu_isa isa) {
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

/// Throws, naming the instruction set found, unless `isa` multiplies bf16 in hardware: without it oneDNN
/// emulates bf16 products more slowly than fp32 ones, so the policy would only lose precision.
inline void require_bf16_instructions(dnnl::cpu_isa isa) {
    if (!has_bf16_instructions(isa))
        throw std::runtime_error("backend::cpu_bf16: this CPU runs oneDNN at " + effective_isa_name(isa) +
                                 ", without AVX512-BF16 (the avx512_bf16 flag of /proc/cpuinfo), so bf16 products would be "
                                 "emulated, slower than fp32: use backend::cpu");
}

/// Whether this machine can run backend::cpu_bf16.
inline bool cpu_bf16_available() { return has_bf16_instructions(dnnl::get_effective_cpu_isa()); }

/// fp32 → bf16, rounding to nearest even (NaN stays NaN): the upper 16 bits after rounding.
inline std::uint16_t to_bf16(float value) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>(bits >> 16);
}

/// bf16 copies of a row-major [rows, cols] matrix, reused between calls (grow-only).
inline const std::uint16_t* bf16_copy(const float* source, index_t n, std::vector<std::uint16_t>& scratch) {
    if (static_cast<index_t>(scratch.size()) < n) scratch.resize(static_cast<std::size_t>(n));
    std::uint16_t* out = scratch.data();
#pragma omp parallel for schedule(static) if (cpu_system::worth_threads(n))
    for (index_t i = 0; i < n; ++i) out[i] = to_bf16(source[i]);
    return out;
}

/// The operands' type in a product: fp32 as given, or rounded to bf16 first.
enum class operands { f32, bf16 };

/// oneDNN's engine, stream and one matmul primitive per operand type, shape, transpose pair, alpha and beta
/// (creating a primitive takes milliseconds; a training step repeats the same few products). One per thread.
class products {
public:
    products() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

    /// c [m, n] = alpha·op(a)·op(b) + beta·c with fp32 accumulation; bf16 operands are rounded copies of a and b.
    void run(operands type, matrix_view<const float> a, bool transpose_a, matrix_view<const float> b, bool transpose_b,
             matrix_view<float> c, float alpha, float beta) {
        const index_t m = c.rows, n = c.cols, k = transpose_a ? a.rows : a.cols;
        using dims = dnnl::memory::dims;
        using dt = dnnl::memory::data_type;
        const bool bf16 = type == operands::bf16;
        if (bf16) require_bf16_instructions(dnnl::get_effective_cpu_isa());
        void* a_data = bf16 ? static_cast<void*>(const_cast<std::uint16_t*>(bf16_copy(a.data, a.size(), a_scratch_)))
                            : static_cast<void*>(const_cast<float*>(a.data));
        void* b_data = bf16 ? static_cast<void*>(const_cast<std::uint16_t*>(bf16_copy(b.data, b.size(), b_scratch_)))
                            : static_cast<void*>(const_cast<float*>(b.data));
        const dt operand_type = bf16 ? dt::bf16 : dt::f32;
        // Strides say where op(x)(i, j) lies: a transposed operand is read in place, column-wise.
        const dnnl::memory::desc a_md({m, k}, operand_type, transpose_a ? dims{1, m} : dims{k, 1});
        const dnnl::memory::desc b_md({k, n}, operand_type, transpose_b ? dims{1, k} : dims{n, 1});
        const dnnl::memory::desc c_md({m, n}, dt::f32, dims{n, 1});
        dnnl::matmul& product = primitive({bf16, m, n, k, transpose_a, transpose_b, alpha, beta}, a_md, b_md, c_md, alpha, beta);
        dnnl::memory a_mem(a_md, engine_, a_data), b_mem(b_md, engine_, b_data), c_mem(c_md, engine_, c.data);
        product.execute(stream_, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
        stream_.wait();
    }

private:
    using key = std::tuple<bool, index_t, index_t, index_t, bool, bool, float, float>;

    dnnl::matmul& primitive(const key& k, const dnnl::memory::desc& a_md, const dnnl::memory::desc& b_md,
                            const dnnl::memory::desc& c_md, float alpha, float beta) {
        auto found = cache_.find(k);
        if (found != cache_.end()) return found->second;
        dnnl::primitive_attr attr;
        if (alpha != 1.f) attr.set_output_scales(0, {alpha});
        if (beta != 0.f) {
            dnnl::post_ops ops;
            ops.append_sum(beta);
            attr.set_post_ops(ops);
        }
        const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, engine_);
        return cache_.emplace(k, dnnl::matmul(pd)).first->second;
    }

    dnnl::engine engine_;
    dnnl::stream stream_;
    std::map<key, dnnl::matmul> cache_;
    std::vector<std::uint16_t> a_scratch_, b_scratch_;
};

/// This thread's engine and primitives.
inline products& thread_products() {
    thread_local products instance;
    return instance;
}

/// The matmul of a oneDNN policy: a dense float product through oneDNN with `Type` operands; double products
/// and thin float products (an outer or matrix–vector product, bound by memory) as backend::cpu runs them.
template <operands Type, class Scalar>
void matmul(matrix_view<const Scalar> a, bool transpose_a, matrix_view<const Scalar> b, bool transpose_b,
            matrix_view<Scalar> c, Scalar alpha, Scalar beta) {
    const index_t k = transpose_a ? a.rows : a.cols;
    if constexpr (std::is_same_v<Scalar, float>) {
        if (!cpu_system::thin_product(c.rows, c.cols, k) && c.size() > 0) {
            thread_products().run(Type, a, transpose_a, b, transpose_b, c, alpha, beta);
            return;
        }
    }
    cpu_system::matmul(cpu_system::tag{}, a, transpose_a, b, transpose_b, c, alpha, beta);
}

}  // namespace sparse_distill::backend::onednn_system
