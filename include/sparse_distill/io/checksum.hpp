#pragma once
// Content hashes for integrity checks: XXH3-64 (Debian's libxxhash-dev, used inline, so nothing is
// linked) of byte ranges, and a file's fingerprint, which says whether a file given again is the
// same file whatever path names it.
//   checksum_text(bytes)        "xxh3:0123456789abcdef": sixteen lower-case hex digits
//   file_fingerprint(path)      "<size> bytes, xxh3:<hex> of the whole file" for files up to
//                               fingerprint_full_limit, "... of 64 sampled blocks" above it
//                               (first and last MiB, 62 blocks of 64 KiB spread evenly), so that
//                               a multi-gigabyte activation shard is fingerprinted in milliseconds
//   path_fingerprint(path)      a file's fingerprint, or a folder's: those of its regular files by name
// A sampled fingerprint misses a change confined to bytes outside its blocks; a change of size, of
// a header, or of any row in a sampled block is caught.
#include "../config.hpp"
#include "detail/file_io.hpp"
#include "error.hpp"

#define XXH_INLINE_ALL  // header-only use: the functions are compiled here, under private names
#if defined(__AVX512F__) && !defined(XXH_VECTOR)
// GCC 12 reports its own AVX-512 intrinsics as -Wuninitialized once xxHash's AVX-512 loop is inlined
// (a false positive, the `__Y = __Y` idiom); the AVX2 loop already hashes faster than files are read.
#define XXH_VECTOR 2  // XXH_AVX2
#endif
#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace sparse_distill::io {

/// Files up to this size are hashed whole; larger ones are sampled (see the top of this header).
inline constexpr std::uint64_t fingerprint_full_limit = std::uint64_t(256) << 20;

/// XXH3-64 of `bytes` as "xxh3:" and sixteen hex digits.
inline std::string checksum_text(std::span<const std::byte> bytes) {
    const XXH64_hash_t hash = XXH3_64bits(bytes.data(), bytes.size());
    char text[32];
    std::snprintf(text, sizeof text, "xxh3:%016llx", static_cast<unsigned long long>(hash));
    return text;
}

/// The fingerprint of the regular file at `path`: size and content hash (see the top of this header).
/// Throws io_error naming the file when it is missing, not a regular file, or unreadable.
inline std::string file_fingerprint(const std::filesystem::path& path) {
    detail::file_reader reader(path);
    const std::uint64_t size = reader.size();
    XXH3_state_t* state = XXH3_createState();
    if (!state) throw io_error(path, "file", "cannot allocate a hash state");
    XXH3_64bits_reset(state);
    std::vector<std::byte> block;
    auto hash_range = [&](std::uint64_t offset, std::uint64_t length) {
        block.resize(static_cast<std::size_t>(length));
        reader.read(offset, block, "contents");
        XXH3_64bits_update(state, block.data(), block.size());
    };
    const bool whole = size <= fingerprint_full_limit;
    try {
        if (whole) {
            constexpr std::uint64_t chunk = std::uint64_t(8) << 20;
            for (std::uint64_t at = 0; at < size; at += chunk) hash_range(at, std::min(chunk, size - at));
        } else {
            constexpr std::uint64_t edge = std::uint64_t(1) << 20, piece = std::uint64_t(64) << 10;
            constexpr int inner = 62;
            hash_range(0, edge);
            const std::uint64_t span = size - 2 * edge - piece;  // > 0: size > 256 MiB
            for (int i = 0; i < inner; ++i) hash_range(edge + span * std::uint64_t(i + 1) / (inner + 1), piece);
            hash_range(size - edge, edge);
        }
    } catch (...) {
        XXH3_freeState(state);
        throw;
    }
    const XXH64_hash_t hash = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    char text[96];
    std::snprintf(text, sizeof text, "%llu bytes, xxh3:%016llx of %s", static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(hash), whole ? "the whole file" : "64 sampled blocks");
    return text;
}

/// The fingerprint of a file, or of a folder: "name: <file_fingerprint>" for each regular file in it
/// (not its subfolders), sorted by name and joined by "; ".
inline std::string path_fingerprint(const std::filesystem::path& path) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) return file_fingerprint(path);
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(path, error), end; !error && it != end; it.increment(error))
        if (std::error_code kind; it->is_regular_file(kind)) files.push_back(it->path());
    if (error) throw io_error(path, "folder", "cannot list: " + error.message());
    std::sort(files.begin(), files.end());
    std::string all;
    for (const auto& file : files) all += (all.empty() ? "" : "; ") + file.filename().string() + ": " + file_fingerprint(file);
    return all;
}

}  // namespace sparse_distill::io
