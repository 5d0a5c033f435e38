#pragma once
// Series colours: the Okabe–Ito palette, distinguishable under the common colour-vision
// deficiencies. Yellow comes last because it is faint on a white page.
#include "../../detail/internal_header_check.hpp"
#include <array>
#include <cstddef>
#include <string_view>

namespace sparse_distill::report::detail {

inline constexpr std::array<std::string_view, 8> okabe_ito = {
    "#0072B2",  // blue
    "#E69F00",  // orange
    "#009E73",  // bluish green
    "#D55E00",  // vermillion
    "#CC79A7",  // reddish purple
    "#56B4E9",  // sky blue
    "#000000",  // black
    "#F0E442",  // yellow
};

// The colour of the series at `index`; the palette repeats after eight series.
inline std::string_view series_colour(std::size_t index) { return okabe_ito[index % okabe_ito.size()]; }

}  // namespace sparse_distill::report::detail
