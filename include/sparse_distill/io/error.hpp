#pragma once
// The one exception type of the io module. Messages always read "<file>: <field>: <problem>" so a
// user holding only the message knows which file to open and which entry to look at.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sparse_distill::io {

/// Thrown by every reader and writer in sparse_distill::io; the message names the file, the field
/// and what was expected versus what was found.
struct io_error : std::runtime_error {
    using std::runtime_error::runtime_error;

    /// Builds the message "<file>: <field>: <problem>".
    io_error(const std::filesystem::path& file, std::string_view field, std::string_view problem)
        : std::runtime_error(file.string() + ": " + std::string(field) + ": " + std::string(problem)) {}
};

}  // namespace sparse_distill::io
