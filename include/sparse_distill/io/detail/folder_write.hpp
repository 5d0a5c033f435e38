#pragma once
// Writing a folder of files (a model: weights + cfg.json) so that readers never see a half-written
// one: everything is written into a sibling temporary folder first, then moved into place by rename.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/error.hpp"

#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace sparse_distill::io::detail {

// Where `folder` will be written: the folder itself (the path as given, without a trailing '/').
inline std::filesystem::path folder_target(const std::filesystem::path& folder) {
    return folder.has_filename() ? folder : folder.parent_path();
}

// Checks, before any long work, that write_folder_atomically(folder, ...) can succeed: `folder` is
// not a file, its parent exists or can be created, and a folder can be made (and is then removed)
// beside it. Errors name `folder` as given, with the system's reason.
inline void check_folder_writable(const std::filesystem::path& folder) {
    namespace fs = std::filesystem;
    const fs::path target = folder_target(folder);
    std::error_code error;
    if (fs::exists(target, error) && !fs::is_directory(target, error))
        throw io_error(target, "folder", "exists and is not a folder");
    const fs::path parent = target.parent_path();
    if (!parent.empty() && !fs::exists(parent, error)) {
        fs::create_directories(parent, error);
        if (error) throw io_error(target, "folder", "cannot create its parent folder " + parent.string() + ": " + error.message());
    } else if (!parent.empty() && !fs::is_directory(parent, error)) {
        throw io_error(target, "folder", "its parent " + parent.string() + " is not a folder");
    }
    std::random_device random;
    const fs::path probe = parent / ("." + target.filename().string() + ".probe-" + std::to_string(random()));
    fs::create_directory(probe, error);
    if (error) throw io_error(target, "folder", "cannot write in " + (parent.empty() ? std::string(".") : parent.string()) + ": " + error.message());
    fs::remove(probe, error);
}

// `fill(temporary)` writes the files into an empty temporary folder next to `folder`. A missing
// `folder` then appears at once by one rename. An existing `folder` keeps its other files: each new
// file replaces its namesake by rename, in the order `file_order` names them (weights before cfg.json,
// so a cfg.json never describes weights that are not there yet).
inline void write_folder_atomically(const std::filesystem::path& folder, const std::vector<std::string>& file_order,
                                    const std::function<void(const std::filesystem::path&)>& fill) {
    namespace fs = std::filesystem;
    const fs::path target = folder_target(folder);
    std::error_code error;
    const bool exists = fs::exists(target, error);
    if (exists && !fs::is_directory(target, error))
        throw io_error(target, "folder", "exists and is not a folder");
    const fs::path parent = target.parent_path();
    if (!parent.empty() && !fs::exists(parent, error)) {
        fs::create_directories(parent, error);
        if (error) throw io_error(parent, "folder", "cannot create: " + error.message());
    }

    std::random_device random;
    const fs::path temporary = parent / ("." + target.filename().string() + ".tmp-" + std::to_string(random()));
    fs::create_directory(temporary, error);
    if (error) throw io_error(target, "folder", "cannot create the temporary folder " + temporary.string() + ": " + error.message());
    const auto discard = [&] {
        std::error_code ignored;
        fs::remove_all(temporary, ignored);
    };
    try {
        fill(temporary);
    } catch (...) {
        discard();
        throw;
    }

    if (!exists) {
        fs::rename(temporary, target, error);
        if (error) {
            discard();
            throw io_error(target, "folder", "cannot rename " + temporary.string() + " into place: " + error.message());
        }
        return;
    }
    for (const std::string& name : file_order) {
        fs::rename(temporary / name, target / name, error);
        if (error) {
            discard();
            throw io_error(target / name, "file", "cannot rename the new file into place: " + error.message());
        }
    }
    discard();
}

}  // namespace sparse_distill::io::detail
