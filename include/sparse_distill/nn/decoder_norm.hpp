#pragma once
// The constraint put on decoder rows (one row per feature) after every optimizer step.
#include "../config.hpp"
#include "../detail/enum_names.hpp"

#include <string>
#include <string_view>

namespace sparse_distill {

/// `cap`: row /= max(1, ‖row‖) (the post's choice); `unit`: row /= ‖row‖; `none`: unconstrained.
enum class decoder_norm { none, cap, unit };

inline constexpr auto decoder_norm_names = detail::make_enum_table<decoder_norm>(
    "decoder norm", {{decoder_norm::none, "none"}, {decoder_norm::cap, "cap"}, {decoder_norm::unit, "unit"}});

constexpr std::string_view to_string(decoder_norm n) { return decoder_norm_names.name(n); }
inline decoder_norm parse_decoder_norm(std::string_view name) { return decoder_norm_names.parse(name); }
SD_JSON_ENUM(decoder_norm, decoder_norm_names)

}  // namespace sparse_distill
