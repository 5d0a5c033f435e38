#pragma once
// Making a finished file durable and moving it into place so that a crash or power loss at any
// moment leaves either the old file or the new one: fsync the new file's data, rename it over the
// old name (atomic on POSIX file systems), then fsync the directory so the rename itself persists.
#include "../../detail/internal_header_check.hpp"
#include "../../io/error.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace sparse_distill::detail {

inline void fsync_path(const std::filesystem::path& path, bool directory) {
    const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
    if (fd < 0) throw io::io_error(path, "file", std::string("cannot open to sync: ") + std::strerror(errno));
    int result;
    do {
        result = ::fsync(fd);
    } while (result != 0 && errno == EINTR);
    const int error = errno;
    ::close(fd);
    if (result != 0) throw io::io_error(path, "file", std::string("fsync failed: ") + std::strerror(error));
}

// `finished` is a complete file in the same directory as `target` (rename cannot cross file systems).
inline void commit_file(const std::filesystem::path& finished, const std::filesystem::path& target) {
    fsync_path(finished, false);
    std::error_code error;
    std::filesystem::rename(finished, target, error);
    if (error)
        throw io::io_error(target, "file", "cannot rename " + finished.string() + " into place: " + error.message());
    const auto directory = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    fsync_path(directory, true);
}

}  // namespace sparse_distill::detail
