#pragma once
// Whole text files: read at once, written atomically (a crash or a concurrent reader sees the old file
// or the new one, never half of it). Errors are io_error naming the file.
#include "../config.hpp"
#include "detail/file_io.hpp"
#include "error.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>

namespace sparse_distill::io {

/// The bytes of `path` as a string.
inline std::string read_text_file(const std::filesystem::path& path) {
    detail::require_regular_file(path);
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(path, "file", "cannot open for reading: " + detail::system_reason());
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw io_error(path, "file", "read failed");
    return text.str();
}

/// Writes `text` to "<path>.tmp" and renames it over `path`.
inline void write_text_file(const std::filesystem::path& path, std::string_view text) {
    const std::span<const std::byte> pieces[] = {std::as_bytes(std::span(text.data(), text.size()))};
    detail::write_atomically(path, pieces);
}

}  // namespace sparse_distill::io
