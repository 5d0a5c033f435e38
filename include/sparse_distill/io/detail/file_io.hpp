#pragma once
// Reading byte ranges of a file with bounds checked against its real size, and writing a file so
// that readers never observe a half-written one.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/error.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <system_error>

namespace sparse_distill::io::detail {

class file_reader {
public:
    explicit file_reader(const std::filesystem::path& path) : path_(path), stream_(path, std::ios::binary) {
        std::error_code error;
        if (!std::filesystem::exists(path, error)) throw io_error(path, "file", "does not exist");
        if (!stream_ || std::filesystem::is_directory(path, error))
            throw io_error(path, "file", "cannot open for reading");
        size_ = std::filesystem::file_size(path, error);
        if (error) throw io_error(path, "file", "cannot determine the size: " + error.message());
    }

    std::uint64_t size() const { return size_; }

    // Fills `out` from byte `offset`; `field` names what is being read in the error message.
    void read(std::uint64_t offset, std::span<std::byte> out, std::string_view field) {
        if (offset > size_ || out.size() > size_ - offset)
            throw io_error(path_, field,
                           "expected " + std::to_string(out.size()) + " bytes at offset " + std::to_string(offset) +
                               ", but the file has only " + std::to_string(size_) + " bytes");
        if (out.empty()) return;
        stream_.seekg(static_cast<std::streamoff>(offset));
        stream_.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
        if (!stream_) throw io_error(path_, field, "read failed at offset " + std::to_string(offset));
    }

private:
    std::filesystem::path path_;
    std::ifstream stream_;
    std::uint64_t size_ = 0;
};

// Writes the pieces in order to "<path>.tmp", then renames it over `path`: rename replaces the
// target atomically, so a crash or a concurrent reader sees either the old file or the new one.
inline void write_atomically(const std::filesystem::path& path, std::span<const std::span<const std::byte>> pieces) {
    auto temporary = path;
    temporary += ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw io_error(temporary, "file", "cannot open for writing");
        for (const auto piece : pieces)
            out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(piece.size()));
        out.close();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(temporary, ignored);
            throw io_error(temporary, "file", "write failed");
        }
    }
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw io_error(path, "file", "cannot rename " + temporary.string() + " into place: " + error.message());
    }
}

}  // namespace sparse_distill::io::detail
