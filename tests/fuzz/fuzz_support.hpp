#pragma once
// Shared by the parser fuzz targets: scratch files for the file-based readers and the checks a
// successfully parsed tensor must pass. A failed check aborts, which libFuzzer records as a crash.
#include <sparse_distill/io/tensor_data.hpp>  // and its internal shape helpers, which the checks use

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace sd_fuzz {

/// Each fuzz target decides whether its parser accepts `input`; aborts on anything other than a
/// clean acceptance or an io_error. The replay driver checks the answer against the file's name.
bool accepts(std::span<const std::uint8_t> input);

[[noreturn]] inline void finding(std::string_view what) {
    std::fprintf(stderr, "fuzz finding: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}

// The file readers are checked against the in-memory parsers on the same bytes, so each input is also
// written to a file: in /dev/shm when there is one (a write per execution on a real disk would dominate
// the run), in a directory of this process so that parallel jobs do not share files. The directory is
// removed at a normal exit; a crash leaves it for inspection.
class scratch_directory {
public:
    scratch_directory() {
        std::error_code error;
        const auto base = std::filesystem::is_directory("/dev/shm", error) ? std::filesystem::path("/dev/shm")
                                                                          : std::filesystem::temp_directory_path();
        path_ = base / ("sd_fuzz_" + std::to_string(::getpid()));
        std::filesystem::create_directories(path_, error);
        if (error) finding("cannot create " + path_.string() + ": " + error.message());
    }
    ~scratch_directory() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    scratch_directory(const scratch_directory&) = delete;
    scratch_directory& operator=(const scratch_directory&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline std::filesystem::path scratch_path(std::string_view name) {
    static const scratch_directory directory;
    return directory.path() / std::string(name);
}

inline void write_bytes(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) finding("cannot write the scratch file " + path.string());
}

// What every reader promises about a tensor it returns: non-negative extents whose product, times the
// element size, is exactly the byte count, and elements that convert without throwing.
inline void check_consistent(const sparse_distill::io::tensor_data& tensor, std::string_view reader) {
    namespace io = sparse_distill::io;
    for (const auto extent : tensor.shape)
        if (extent < 0) finding(std::string(reader) + " returned a negative extent");
    const auto expected = io::detail::byte_count(tensor.shape, io::dtype_size(tensor.type));
    if (!expected || *expected != tensor.bytes.size())
        finding(std::string(reader) + " returned " + std::to_string(tensor.bytes.size()) + " bytes for shape " +
                io::detail::shape_string(tensor.shape));
    const auto count = tensor.bytes.size() / io::dtype_size(tensor.type);
    if (static_cast<std::uint64_t>(tensor.numel()) != count)
        finding(std::string(reader) + ": numel() disagrees with the byte count for shape " +
                io::detail::shape_string(tensor.shape));
    if (io::to_values<double>(tensor).size() != count) finding(std::string(reader) + ": to_values lost elements");
}

inline bool same_tensor(const sparse_distill::io::tensor_data& a, const sparse_distill::io::tensor_data& b) {
    return a.shape == b.shape && a.type == b.type && a.bytes == b.bytes;
}

/// What a parser made of one input: the value, or the io_error message it threw.
template <class T>
struct outcome {
    std::optional<T> value;
    std::string error;
};

/// Runs `parse`, keeping an io_error's message; any other exception escapes (a finding).
template <class Parse>
auto attempt(Parse&& parse) -> outcome<decltype(parse())> {
    try {
        return {parse(), {}};
    } catch (const sparse_distill::io::io_error& error) {
        return {std::nullopt, error.what()};
    }
}

/// The file reader must reject exactly what the memory parser rejects, with the same message.
template <class T>
void check_same_error(const outcome<T>& memory, const outcome<T>& file, std::string_view readers) {
    if (memory.value.has_value() != file.value.has_value())
        finding(std::string(readers) + ": one accepts, the other rejects with: " + memory.error + file.error);
    if (memory.error != file.error)
        finding(std::string(readers) + " give different errors:\n  " + memory.error + "\n  " + file.error);
}

}  // namespace sd_fuzz
