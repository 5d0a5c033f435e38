#pragma once
// Text with each token's activation shown as its background (the post's Fig 6 style): a reader sees
// at a glance where in a context a feature fires. Pure HTML and inline style, no scripts.
#include "html_document.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace sparse_distill::report {

namespace detail {
/// `text` with every byte that is not part of a well-formed UTF-8 sequence written as ⟨xNN⟩: a
/// byte-level token can hold half a character, and the page must stay valid UTF-8.
inline std::string printable_utf8(const std::string& text) {
    std::string out;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = byte(i);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool ok = n > 0 && i + n <= text.size() && !(n == 2 && c < 0xC2);
        for (std::size_t k = 1; ok && k < n; ++k) ok = (byte(i + k) & 0xC0) == 0x80;
        if (ok) {
            out.append(text, i, n);
            i += n;
        } else {
            char buf[16];
            std::snprintf(buf, sizeof buf, "\u27e8x%02X\u27e9", c);
            out += buf;
            ++i;
        }
    }
    return out;
}
}  // namespace detail

/// One <span> per token: background opacity ∝ max(activation, 0) / scale, the activation in a
/// tooltip, `focus` (the token the example is about; −1 for none) outlined. Newlines become ↵, and
/// bytes that are not valid UTF-8 (half a character in a byte token) ⟨xNN⟩.
inline std::string highlighted_tokens_html(const std::vector<std::string>& pieces, const std::vector<double>& activations,
                                           double scale, long focus = -1) {
    if (pieces.size() != activations.size())
        throw std::invalid_argument("highlighted_tokens_html: " + std::to_string(pieces.size()) + " tokens but " +
                                    std::to_string(activations.size()) + " activations");
    std::string out = "<span class=\"sd-tokens\" style=\"font-family:monospace;white-space:pre-wrap\">";
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        const double a = activations[i];
        const double alpha = scale > 0 && std::isfinite(a) ? std::clamp(a / scale, 0.0, 1.0) : 0.0;
        std::string text = detail::printable_utf8(pieces[i]);
        for (std::size_t p = 0; (p = text.find('\n', p)) != std::string::npos; p += 3) text.replace(p, 1, "\u21b5");
        char style[160];
        std::snprintf(style, sizeof style, "background:rgba(230,97,0,%.3f)%s", alpha,
                      long(i) == focus ? ";outline:1px solid #000" : "");
        char value[32];
        std::snprintf(value, sizeof value, "%.3g", a);
        out += std::string("<span style=\"") + style + "\" title=\"" + value + "\">" + escape_html(text) + "</span>";
    }
    return out + "</span>";
}

}  // namespace sparse_distill::report
