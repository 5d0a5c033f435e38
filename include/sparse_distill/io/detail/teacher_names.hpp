#pragma once
// Where a transformer's MLP weights live in a checkpoint's tensor names: "<root><layer>.mlp.<tensor>",
// with the roots each naming scheme uses with and without the wrapper module's prefix
// ("transformer.h.0…" from GPT2LMHeadModel, "h.0…" from GPT2Model), and which layers a file holds.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/error.hpp"

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sparse_distill::io::detail {

// The layer number in "<root><digits>.mlp.<anchor>", or nothing when `name` has another form.
inline std::optional<int> mlp_layer_of(std::string_view name, std::string_view root, std::string_view anchor) {
    if (name.substr(0, root.size()) != root) return std::nullopt;
    std::size_t at = root.size();
    int layer = 0;
    std::size_t digits = 0;
    // Nine digits cannot overflow an int; no real model has a billion layers.
    while (at < name.size() && name[at] >= '0' && name[at] <= '9' && digits < 9) {
        layer = layer * 10 + (name[at] - '0');
        ++at;
        ++digits;
    }
    if (digits == 0 || (digits > 1 && name[root.size()] == '0')) return std::nullopt;
    const std::string_view rest = name.substr(at);
    if (rest.size() != 5 + anchor.size() || rest.substr(0, 5) != ".mlp." || rest.substr(5) != anchor)
        return std::nullopt;
    return layer;
}

struct mlp_layers {
    std::string root;      // e.g. "transformer.h."
    std::set<int> layers;  // layer numbers holding "<root>L.mlp.<anchor>"
};

// The first of `roots` under which `names` hold "<root>L.mlp.<anchor>" tensors, with their layers.
template <class Names>
std::optional<mlp_layers> find_mlp_layers(const Names& names, const std::vector<std::string>& roots,
                                          std::string_view anchor) {
    for (const auto& root : roots) {
        mlp_layers found{root, {}};
        for (const auto& entry : names)
            if (const auto layer = mlp_layer_of(entry.first, root, anchor)) found.layers.insert(*layer);
        if (!found.layers.empty()) return found;
    }
    return std::nullopt;
}

inline std::string layer_list(const std::set<int>& layers) {
    std::string text;
    for (const int layer : layers) text += (text.empty() ? "" : ", ") + std::to_string(layer);
    return text;
}

// "<root><layer>.mlp." after checking that the layer exists; the error lists the layers there are.
inline std::string mlp_prefix(const mlp_layers& found, int layer, std::string_view anchor,
                              const std::filesystem::path& file) {
    if (layer < 0) throw io_error(file, "layer", "expected a non-negative layer index, found " + std::to_string(layer));
    if (!found.layers.count(layer))
        throw io_error(file, "layer",
                       "layer " + std::to_string(layer) + " not found; the file has MLP layers " +
                           layer_list(found.layers) + " ('" + found.root + "L.mlp." + std::string(anchor) + "')");
    return found.root + std::to_string(layer) + ".mlp.";
}

}  // namespace sparse_distill::io::detail
