#pragma once
// Reading byte ranges of a file with bounds checked against its real size, and writing a file so
// that readers never observe a half-written one.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/error.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <system_error>

namespace sparse_distill::io::detail {

// The system's reason for the last failed call ("Permission denied", "No space left on device").
inline std::string system_reason() { return errno != 0 ? std::string(std::strerror(errno)) : std::string("unknown reason"); }

// What kind of thing stands at `path`, in words, for a message refusing it.
inline std::string file_kind_text(std::filesystem::file_type type) {
    switch (type) {
    case std::filesystem::file_type::directory: return "a directory";
    case std::filesystem::file_type::fifo: return "a FIFO (named pipe)";
    case std::filesystem::file_type::socket: return "a socket";
    case std::filesystem::file_type::block: return "a block device";
    case std::filesystem::file_type::character: return "a character device";
    default: return "not a regular file";
    }
}

// Refuses, before anything opens it, a path that is not a regular file: opening a FIFO for reading
// blocks until a writer appears (a run would hang forever), and a device or directory is never
// what a reader of files expects. Symbolic links are followed.
inline void require_regular_file(const std::filesystem::path& path) {
    std::error_code error;
    const std::filesystem::file_status status = std::filesystem::status(path, error);
    if (status.type() == std::filesystem::file_type::not_found) throw io_error(path, "file", "does not exist");
    if (error) throw io_error(path, "file", "cannot inspect: " + error.message());
    if (status.type() != std::filesystem::file_type::regular)
        throw io_error(path, "file", "is " + file_kind_text(status.type()) + "; expected a regular file");
}

class file_reader {
public:
    explicit file_reader(const std::filesystem::path& path) : path_(path) {
        require_regular_file(path);
        errno = 0;
        stream_.open(path, std::ios::binary);
        if (!stream_) throw io_error(path, "file", "cannot open for reading: " + system_reason());
        std::error_code error;
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
        errno = 0;
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw io_error(path, "file", "cannot open " + temporary.string() + " for writing: " + system_reason());
        for (const auto piece : pieces)
            out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(piece.size()));
        out.close();
        if (!out) {
            const std::string reason = system_reason();
            std::error_code ignored;
            std::filesystem::remove(temporary, ignored);
            throw io_error(path, "file", "write failed: " + reason);
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
