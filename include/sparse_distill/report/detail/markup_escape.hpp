#pragma once
// Escaping text for XML and HTML: the one place that decides which characters are unsafe, so SVG
// plots and HTML pages agree.
#include "../../detail/internal_header_check.hpp"
#include <string>
#include <string_view>

namespace sparse_distill::report::detail {

// Appends `text` with & < > " ' replaced by entities. C0 control characters other than tab, line
// feed and carriage return are dropped: XML 1.0 forbids them even as character references, and one
// stray byte from a feature name must not make a whole SVG unparsable.
inline void append_escaped(std::string& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
                out += c;
        }
    }
}

inline std::string escaped(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_escaped(out, text);
    return out;
}

}  // namespace sparse_distill::report::detail
