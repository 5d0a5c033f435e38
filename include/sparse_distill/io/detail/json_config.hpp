#pragma once
// A small JSON config file (a model's cfg.json) read with every field checked: the file may come from
// any tool, so a missing key or a value of the wrong type is an io_error naming the file and the key.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/io/error.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace sparse_distill::io::detail {

class json_config {
public:
    // Config files are a few kilobytes; a larger one is not a config and is not read into memory.
    static constexpr std::uint64_t max_bytes = 1 << 20;

    explicit json_config(const std::filesystem::path& path) : path_(path) {
        file_reader reader(path);
        if (reader.size() > max_bytes)
            throw io_error(path, "file",
                           "expected a JSON config of at most " + std::to_string(max_bytes) + " bytes, found " +
                               std::to_string(reader.size()));
        std::string text(reader.size(), '\0');
        reader.read(0, std::as_writable_bytes(std::span(text)), "file");
        try {
            json_ = nlohmann::json::parse(text);
        } catch (const nlohmann::json::parse_error& error) {
            throw io_error(path, "file", std::string("invalid JSON: ") + error.what());
        }
        if (!json_.is_object()) throw io_error(path, "file", "expected a JSON object, found " + json_.dump());
    }

    const std::filesystem::path& path() const { return path_; }
    /// The whole object, for a reader that takes it field by field itself.
    const nlohmann::json& json() const { return json_; }
    bool has(const std::string& key) const { return json_.contains(key) && !json_.at(key).is_null(); }

    std::string string(const std::string& key) const {
        const auto& value = at(key);
        if (!value.is_string()) throw io_error(path_, key, "expected a string, found " + value.dump());
        return value.get<std::string>();
    }
    std::string string_or(const std::string& key, const std::string& fallback) const {
        return has(key) ? string(key) : fallback;
    }

    bool boolean(const std::string& key) const {
        const auto& value = at(key);
        if (!value.is_boolean()) throw io_error(path_, key, "expected true or false, found " + value.dump());
        return value.get<bool>();
    }
    bool boolean_or(const std::string& key, bool fallback) const { return has(key) ? boolean(key) : fallback; }

    // A non-negative integer that fits std::int64_t.
    std::int64_t count(const std::string& key) const {
        const auto& value = at(key);
        if (value.is_number_unsigned() &&
            value.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return static_cast<std::int64_t>(value.get<std::uint64_t>());
        if (value.is_number_integer() && value.get<std::int64_t>() >= 0) return value.get<std::int64_t>();
        throw io_error(path_, key, "expected a non-negative integer, found " + value.dump());
    }
    std::int64_t count_or(const std::string& key, std::int64_t fallback) const { return has(key) ? count(key) : fallback; }

    // A finite number.
    double number(const std::string& key) const {
        const auto& value = at(key);
        if (!value.is_number() || !std::isfinite(value.get<double>()))
            throw io_error(path_, key, "expected a finite number, found " + value.dump());
        return value.get<double>();
    }
    double number_or(const std::string& key, double fallback) const { return has(key) ? number(key) : fallback; }

    // The string value of `key` inside the object `parent` ("metadata.sae_lens_version"), if both exist.
    std::string nested_string_or(const std::string& parent, const std::string& key, const std::string& fallback) const {
        if (!has(parent)) return fallback;
        const auto& object = json_.at(parent);
        if (!object.is_object()) throw io_error(path_, parent, "expected an object, found " + object.dump());
        if (!object.contains(key) || object.at(key).is_null()) return fallback;
        if (!object.at(key).is_string())
            throw io_error(path_, parent + "." + key, "expected a string, found " + object.at(key).dump());
        return object.at(key).get<std::string>();
    }

private:
    const nlohmann::json& at(const std::string& key) const {
        if (!json_.contains(key)) throw io_error(path_, key, "missing");
        return json_.at(key);
    }

    std::filesystem::path path_;
    nlohmann::json json_;
};

}  // namespace sparse_distill::io::detail
