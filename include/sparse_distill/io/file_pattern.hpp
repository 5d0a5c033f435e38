#pragma once
// Shard lists written as a pattern, "acts/layer3_*.npy": '*' in the file name matches any run of
// characters, as a shell glob does; directories are taken literally.
#include "../config.hpp"
#include "detail/file_io.hpp"
#include "sparse_distill/io/error.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sparse_distill::io {

namespace detail {

// Whether `name` matches `pattern`, where '*' matches any (possibly empty) run of characters.
// Greedy with backtracking to the last '*': linear in practice, never exponential.
inline bool wildcard_match(std::string_view pattern, std::string_view name) {
    std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
    while (n < name.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = n;
        } else if (p < pattern.size() && pattern[p] == name[n]) {
            ++p, ++n;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

}  // namespace detail

/// The regular files matching `pattern`, sorted by their full path (byte order, as Python's
/// sorted(glob(...)): zero-pad shard numbers so that shard_10 follows shard_9). Only the file name
/// may contain '*'; a pattern without '*' names one file, returned as is if it is a regular file.
/// Throws io_error (field "pattern") when the directory part has a '*', the directory does not
/// exist, or nothing matches.
inline std::vector<std::filesystem::path> expand_file_pattern(const std::string& pattern) {
    const std::filesystem::path path(pattern);
    const std::string name = path.filename().string();
    const std::filesystem::path directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    if (path.parent_path().string().find('*') != std::string::npos)
        throw io_error(pattern, "pattern", "'*' is allowed in the file name only, not in the directory");
    std::error_code error;
    if (name.find('*') == std::string::npos) {
        if (!std::filesystem::exists(path, error)) throw io_error(pattern, "pattern", "no such file");
        detail::require_regular_file(path);  // a FIFO or a device is refused here, never opened
        return {path};
    }
    if (!std::filesystem::is_directory(directory, error))
        throw io_error(pattern, "pattern", "directory '" + directory.string() + "' does not exist");
    std::vector<std::filesystem::path> matches;
    for (std::filesystem::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
        std::error_code type_error;
        if (it->is_regular_file(type_error) && detail::wildcard_match(name, it->path().filename().string()))
            matches.push_back(path.has_parent_path() ? it->path() : it->path().filename());
    }
    if (error) throw io_error(pattern, "pattern", "cannot list '" + directory.string() + "': " + error.message());
    if (matches.empty()) throw io_error(pattern, "pattern", "matches no file");
    std::sort(matches.begin(), matches.end());
    return matches;
}

}  // namespace sparse_distill::io
