#pragma once
// One table of names per enum. Its to_string, its parse_* function, its JSON conversion and the CLI's
// choice lists all read the table, so each name is written once.
#include "internal_header_check.hpp"
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sparse_distill::detail {

template <class Enum>
struct enum_name {
    Enum value;
    std::string_view name;
};

/// The names of an enum. A value's first entry is its name, the one written and listed; later
/// entries for the same value are aliases that parsing accepts too (e.g. "gelu_new" for gelu_tanh).
template <class Enum, std::size_t N>
struct enum_table {
    std::string_view what;  ///< what messages call a value, e.g. "activation"
    std::array<enum_name<Enum>, N> entries;

    constexpr std::string_view name(Enum value) const {
        for (const auto& e : entries)
            if (e.value == value) return e.name;
        return "?";
    }

    /// The names without the aliases, in table order: what a CLI option offers.
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : entries)
            if (name(e.value) == e.name) out.emplace_back(e.name);
        return out;
    }

    /// "a, b or c".
    std::string listed() const {
        const std::vector<std::string> all = names();
        std::string text;
        for (std::size_t i = 0; i < all.size(); ++i)
            text += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + all[i];
        return text;
    }

    /// The value `text` names (a name or an alias); throws std::invalid_argument listing the names.
    Enum parse(std::string_view text) const {
        for (const auto& e : entries)
            if (e.name == text) return e.value;
        throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(text) + "': expected " + listed());
    }

    /// The value a JSON string names; throws std::invalid_argument for another JSON type or name.
    template <class Json>
    Enum from_json(const Json& j) const {
        if (!j.is_string())
            throw std::invalid_argument("expected a string naming the " + std::string(what) + " (" + listed() + "), found " + j.dump());
        return parse(j.template get_ref<const typename Json::string_t&>());
    }
};

/// make_enum_table<activation>("activation", {{activation::relu, "relu"}, ...}): the size is counted.
template <class Enum, std::size_t N>
constexpr enum_table<Enum, N> make_enum_table(std::string_view what, const enum_name<Enum> (&entries)[N]) {
    enum_table<Enum, N> table{what, {}};
    for (std::size_t i = 0; i < N; ++i) table.entries[i] = entries[i];
    return table;
}

}  // namespace sparse_distill::detail

/// Defines to_json and from_json of `Enum` for nlohmann::json (found by argument-dependent lookup)
/// from its table, in the enum's namespace. Like NLOHMANN_JSON_SERIALIZE_ENUM, except that the names
/// are the table's, shared with to_string and parse, and that an unknown name throws
/// std::invalid_argument instead of reading as the first value.
#define SD_JSON_ENUM(Enum, table)                                                                    \
    template <class Json>                                                                            \
    void to_json(Json& j, Enum value) {                                                              \
        j = std::string(table.name(value));                                                          \
    }                                                                                                \
    template <class Json>                                                                            \
    void from_json(const Json& j, Enum& value) {                                                     \
        value = table.from_json(j);                                                                  \
    }
