#pragma once
// Reading a settings struct from a JSON object field by field, for its from_json: the key is the
// field's name, an absent key keeps the field's default, and a value of the wrong type, an unknown
// enum name or a key that no field reads throws std::invalid_argument naming the key's path and what
// was expected, e.g. `train_settings.loss.l1_coeff: expected a number, found "0.1"`.
// Templated on the JSON type, as nlohmann's own macros are, so the headers of the settings need not
// include nlohmann/json.hpp.
#include "internal_header_check.hpp"
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sparse_distill::detail {

/// A field that could not be read; `path` runs from the outermost struct's key down, so a nested
/// struct's error names the whole path.
struct json_field_error : std::invalid_argument {
    json_field_error(const std::string& type, std::string path_, std::string problem_)
        : std::invalid_argument(type + "." + path_ + ": " + problem_), path(std::move(path_)), problem(std::move(problem_)) {}
    std::string path, problem;
};

template <class Json>
class json_fields {
public:
    /// `type`: the struct's name, which messages start with. Throws unless `j` is an object.
    json_fields(const Json& j, std::string type) : json_(j), type_(std::move(type)) {
        if (!j.is_object()) throw std::invalid_argument(type_ + ": expected a JSON object, found " + j.dump());
    }

    /// Reads `key` into `field` when the object has it.
    template <class T>
    json_fields& operator()(const char* key, T& field) {
        keys_.emplace_back(key);
        const auto found = json_.find(key);
        if (found == json_.end()) return *this;
        try {
            field = value<T>(*found);
        } catch (const json_field_error& nested) {
            throw json_field_error(type_, key + ("." + nested.path), nested.problem);
        } catch (const std::invalid_argument& e) {
            throw json_field_error(type_, key, e.what());
        } catch (const typename Json::exception& e) {
            throw json_field_error(type_, key, e.what());
        }
        return *this;
    }

    /// Throws for a key that no field read: a misspelt key, or one from another version.
    void refuse_other_keys() const {
        for (const auto& item : json_.items()) {
            bool known = false;
            for (const auto& k : keys_) known = known || k == item.key();
            if (known) continue;
            std::string listed;
            for (const auto& k : keys_) listed += (listed.empty() ? "" : ", ") + k;
            throw json_field_error(type_, item.key(), "not a key of " + type_ + " (those are " + listed + ")");
        }
    }

private:
    template <class T>
    static T value(const Json& v) {
        if constexpr (std::is_same_v<T, bool>) {
            if (!v.is_boolean()) throw std::invalid_argument("expected true or false, found " + v.dump());
            return v.template get<bool>();
        } else if constexpr (std::is_integral_v<T>) {
            if (!v.is_number_integer()) throw std::invalid_argument("expected an integer, found " + v.dump());
            const bool fits = v.is_number_unsigned() ? std::in_range<T>(v.template get<std::uint64_t>())
                                                     : std::in_range<T>(v.template get<std::int64_t>());
            if (!fits) throw std::invalid_argument("expected an integer of this field's range, found " + v.dump());
            return v.template get<T>();
        } else if constexpr (std::is_floating_point_v<T>) {
            if (!v.is_number()) throw std::invalid_argument("expected a number, found " + v.dump());
            return v.template get<T>();
        } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) {
            if (!v.is_string()) throw std::invalid_argument("expected a string, found " + v.dump());
            return T(v.template get<std::string>());
        } else {
            return v.template get<T>();  // enums and nested structs: their own from_json
        }
    }

    const Json& json_;
    std::string type_;
    std::vector<std::string> keys_;
};

}  // namespace sparse_distill::detail
