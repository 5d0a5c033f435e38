#pragma once
// The constraint put on decoder rows (one row per feature) after every optimizer step.
#include <stdexcept>
#include <string>
#include <string_view>

namespace sparse_distill {

/// `cap`: row /= max(1, ‖row‖) (the post's choice); `unit`: row /= ‖row‖; `none`: unconstrained.
enum class decoder_norm { none, cap, unit };

inline std::string_view to_string(decoder_norm n) {
    switch (n) {
        case decoder_norm::none: return "none";
        case decoder_norm::cap: return "cap";
        case decoder_norm::unit: return "unit";
    }
    return "?";
}

inline decoder_norm parse_decoder_norm(std::string_view name) {
    if (name == "none") return decoder_norm::none;
    if (name == "cap") return decoder_norm::cap;
    if (name == "unit") return decoder_norm::unit;
    throw std::invalid_argument("unknown decoder norm '" + std::string(name) + "': expected none, cap or unit");
}

}  // namespace sparse_distill
