// libFuzzer target for the safetensors readers. Any input must either be rejected with io_error, by
// parse_safetensors and read_safetensors alike and with the same message, or parse into consistent
// tensors and metadata that both return identically and that write_safetensors writes and
// read_safetensors reads back unchanged. Another exception, a sanitizer report or an allocation beyond
// libFuzzer's limit is a finding.
#include "fuzz/fuzz_support.hpp"

#include <sparse_distill/io/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace sd_fuzz {

namespace {

namespace io = sparse_distill::io;

bool same_file(const io::safetensors_file& a, const io::safetensors_file& b) {
    if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
    for (const auto& [name, tensor] : a.tensors) {
        const auto found = b.tensors.find(name);
        if (found == b.tensors.end() || !same_tensor(found->second, tensor)) return false;
    }
    return true;
}

}  // namespace

bool accepts(std::span<const std::uint8_t> input) {
    const auto path = scratch_path("input.safetensors");
    write_bytes(path, input);
    const auto memory = attempt([&] { return io::parse_safetensors(std::as_bytes(input), path); });
    const auto file = attempt([&] { return io::read_safetensors(path); });
    check_same_error(memory, file, "parse_safetensors and read_safetensors");
    if (!memory.value) return false;
    const auto& parsed = *memory.value;
    for (const auto& [name, tensor] : parsed.tensors) check_consistent(tensor, "parse_safetensors");
    if (!same_file(parsed, *file.value)) finding("parse_safetensors and read_safetensors return different contents");
    // An io_error from here on escapes on purpose: whatever the reader returns must be writable.
    const auto copy = scratch_path("copy.safetensors");
    io::write_safetensors(copy, parsed.tensors, parsed.metadata);
    if (!same_file(io::read_safetensors(copy), parsed))
        finding("read_safetensors(write_safetensors(file)) differs from file");
    return true;
}

}  // namespace sd_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sd_fuzz::accepts({data, size});
    return 0;
}
