#pragma once
// Bytes already in memory behind the same bounds-checked read(offset, out, field) as file_reader,
// so a parser written against that interface runs unchanged on a file or on a buffer (a fuzzer's).
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace sparse_distill::io::detail {

class memory_reader {
public:
    // `bytes` is borrowed; `name` stands for the file in error messages.
    memory_reader(std::span<const std::byte> bytes, const std::filesystem::path& name) : bytes_(bytes), name_(name) {}

    std::uint64_t size() const { return bytes_.size(); }

    // Fills `out` from byte `offset`; `field` names what is being read in the error message.
    void read(std::uint64_t offset, std::span<std::byte> out, std::string_view field) const {
        if (offset > bytes_.size() || out.size() > bytes_.size() - offset)
            throw io_error(name_, field,
                           "expected " + std::to_string(out.size()) + " bytes at offset " + std::to_string(offset) +
                               ", but the file has only " + std::to_string(bytes_.size()) + " bytes");
        if (!out.empty()) std::memcpy(out.data(), bytes_.data() + offset, out.size());
    }

private:
    std::span<const std::byte> bytes_;
    std::filesystem::path name_;
};

}  // namespace sparse_distill::io::detail
