// libFuzzer target for the .npy readers. Any input must either be rejected with io_error, by parse_npy,
// read_npy and npy_reader alike and with the same message, or parse into a consistent tensor that all
// three return identically and that write_npy writes and read_npy reads back unchanged. Another
// exception, a sanitizer report or an allocation beyond libFuzzer's limit is a finding.
#include "fuzz/fuzz_support.hpp"

#include <sparse_distill/io/npy.hpp>
#include <sparse_distill/io/npy_reader.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace sd_fuzz {

namespace {

namespace io = sparse_distill::io;

// npy_reader streams rows through a scratch buffer; a 24-byte chunk splits rows and elements across
// reads, which a whole-file read never does.
void check_row_reader(const std::filesystem::path& path, const io::tensor_data& tensor) {
    const auto opened = attempt([&] { return std::make_shared<io::npy_reader>(path, 24); });
    const bool row_shape = tensor.shape.size() == 1 || tensor.shape.size() == 2;
    if (!opened.value) {
        if (row_shape) finding("npy_reader rejects a rank-1/2 file read_npy accepts: " + opened.error);
        return;
    }
    if (!row_shape) finding("npy_reader accepts a file of rank " + std::to_string(tensor.shape.size()));
    auto& reader = **opened.value;
    const auto expected = io::to_values<double>(tensor);
    std::vector<double> rows(expected.size());
    reader.read_rows<double>(0, reader.rows(), rows);
    if (!rows.empty() && std::memcmp(rows.data(), expected.data(), rows.size() * sizeof(double)) != 0)
        finding("npy_reader rows differ from read_npy");
}

}  // namespace

bool accepts(std::span<const std::uint8_t> input) {
    const auto path = scratch_path("input.npy");
    write_bytes(path, input);
    const auto memory = attempt([&] { return io::parse_npy(std::as_bytes(input), path); });
    const auto file = attempt([&] { return io::read_npy(path); });
    check_same_error(memory, file, "parse_npy and read_npy");
    if (!memory.value) {
        const auto streamed = attempt([&] { return std::make_shared<io::npy_reader>(path, 24); });
        if (streamed.value) finding("npy_reader accepts a file read_npy rejects: " + memory.error);
        if (streamed.error != memory.error)
            finding("npy_reader and read_npy give different errors:\n  " + streamed.error + "\n  " + memory.error);
        return false;
    }
    const auto& tensor = *memory.value;
    check_consistent(tensor, "parse_npy");
    if (!same_tensor(tensor, *file.value)) finding("parse_npy and read_npy return different tensors");
    check_row_reader(path, tensor);
    // An io_error from here on escapes on purpose: whatever the reader returns must be writable.
    const auto copy = scratch_path("copy.npy");
    io::write_npy(copy, tensor);
    if (!same_tensor(io::read_npy(copy), tensor)) finding("read_npy(write_npy(tensor)) differs from tensor");
    return true;
}

}  // namespace sd_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sd_fuzz::accepts({data, size});
    return 0;
}
