#pragma once
// Reading a tokenizer.json without trusting it: every value is reached through a field that knows its
// path in the file ("pre_tokenizer.pretokenizers[1].type"), so a missing key or a value of the wrong
// type becomes an io_error "<file>: <path>: expected …, found …" instead of a crash or a bare
// nlohmann exception.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/error.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

namespace sparse_distill::lm::detail {

class json_field {
public:
    /// The whole document; its path is "file" in messages.
    json_field(const std::filesystem::path& file, const nlohmann::json& value) : file_(&file), value_(&value) {}

    const std::string& path() const { return path_; }
    const nlohmann::json& json() const { return *value_; }
    /// Absent, or JSON null: tokenizer.json writes null for a step it does not use.
    bool missing() const { return value_->is_null(); }

    /// The value under `key` (missing when absent). Throws unless this is an object or missing.
    json_field operator[](std::string_view key) const {
        if (missing()) return child(null_value(), key);
        require_object();
        const auto found = value_->find(key);
        return child(found == value_->end() ? null_value() : *found, key);
    }
    /// Element `i` of an array (i < size()).
    json_field operator[](std::size_t i) const {
        return json_field(*file_, (*value_)[i], path_ + "[" + std::to_string(i) + "]");
    }
    /// The number of elements of an array; throws unless this is one.
    std::size_t size() const {
        if (!value_->is_array()) fail("expected an array, found " + found());
        return value_->size();
    }
    void require_object() const {
        if (!value_->is_object()) fail("expected an object, found " + found());
    }

    std::string string() const {
        if (!value_->is_string()) fail("expected a string, found " + found());
        return value_->get<std::string>();
    }
    bool boolean() const {
        if (!value_->is_boolean()) fail("expected true or false, found " + found());
        return value_->get<bool>();
    }
    bool boolean_or(bool fallback) const { return missing() ? fallback : boolean(); }
    /// An integer in [0, end).
    std::int64_t index_below(std::int64_t end) const {
        const bool in_range = (value_->is_number_unsigned() && value_->get<std::uint64_t>() < static_cast<std::uint64_t>(end)) ||
                              (value_->is_number_integer() && value_->get<std::int64_t>() >= 0 && value_->get<std::int64_t>() < end);
        if (!in_range) fail("expected an integer in [0, " + std::to_string(end) + "), found " + found());
        return value_->get<std::int64_t>();
    }
    /// The string under "type", which every step object of tokenizer.json has.
    std::string type() const { return (*this)["type"].string(); }

    /// The value as a message shows it: its JSON, cut short when long, or "nothing" when absent.
    std::string found() const {
        if (missing()) return value_ == &null_value() ? "nothing (the key is missing)" : "null";
        std::string text = value_->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        constexpr std::size_t longest = 80;
        if (text.size() > longest) text = text.substr(0, longest) + "…";
        return text;
    }

    /// Throws io_error naming the file and this field's path.
    [[noreturn]] void fail(std::string_view problem) const { throw io::io_error(*file_, path_.empty() ? "file" : path_, problem); }

private:
    json_field(const std::filesystem::path& file, const nlohmann::json& value, std::string path)
        : file_(&file), value_(&value), path_(std::move(path)) {}
    json_field child(const nlohmann::json& value, std::string_view key) const {
        return json_field(*file_, value, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
    }
    // Stands for every absent key; told apart from an explicit null by its address.
    static const nlohmann::json& null_value() {
        static const nlohmann::json null;
        return null;
    }

    const std::filesystem::path* file_;
    const nlohmann::json* value_;
    std::string path_;
};

}  // namespace sparse_distill::lm::detail
