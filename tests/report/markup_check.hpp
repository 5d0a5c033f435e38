#pragma once
// Small checks on generated markup for the report tests: a tag-balance checker (enough of XML to
// catch an unclosed element, a stray '<' or a bare '&'), and helpers that pull attribute values and
// element texts out of an SVG string.
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sd_test {

// True when an entity or character reference (&amp; &#39; &#x3C;) starts at `at`.
inline bool entity_at(std::string_view markup, std::size_t at) {
    static const std::regex entity(R"(&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);)");
    const auto end = markup.find(';', at);
    if (end == std::string_view::npos || end - at > 12) return false;
    return std::regex_match(markup.begin() + static_cast<std::ptrdiff_t>(at),
                            markup.begin() + static_cast<std::ptrdiff_t>(end + 1), entity);
}

// Empty when `markup` is one balanced element tree; otherwise what is wrong and where. In HTML mode
// the void elements (<meta>, <br>, ...) need no closing tag and <style> holds raw text.
inline std::string markup_problem(std::string_view markup, bool html = false) {
    static const std::set<std::string, std::less<>> void_elements = {"meta", "br", "hr", "img", "link", "input", "wbr"};
    std::vector<std::string> open;
    int roots = 0;
    std::size_t i = 0;
    const auto where = [&](std::size_t at) {
        return " at offset " + std::to_string(at) + ": ..." + std::string(markup.substr(at, 40));
    };
    while (i < markup.size()) {
        const char c = markup[i];
        if (c == '&' && !entity_at(markup, i)) return "bare '&'" + where(i);
        if (c != '<') {
            ++i;
            continue;
        }
        if (markup.substr(i, 4) == "<!--") {
            const auto end = markup.find("-->", i);
            if (end == std::string_view::npos) return "unterminated comment" + where(i);
            i = end + 3;
            continue;
        }
        if (markup.substr(i, 2) == "<!" || markup.substr(i, 2) == "<?") {
            const auto end = markup.find('>', i);
            if (end == std::string_view::npos) return "unterminated declaration" + where(i);
            i = end + 1;
            continue;
        }
        // A tag: find its end, stepping over quoted attribute values, which must not hold '<'.
        std::size_t end = i + 1;
        char quote = 0;
        for (; end < markup.size(); ++end) {
            const char d = markup[end];
            if (quote) {
                if (d == quote) quote = 0;
                else if (d == '<') return "'<' inside an attribute value" + where(end);
            } else if (d == '"' || d == '\'') {
                quote = d;
            } else if (d == '>') {
                break;
            } else if (d == '<') {
                return "'<' inside a tag" + where(i);
            }
        }
        if (end >= markup.size()) return "unterminated tag" + where(i);
        const std::string_view tag = markup.substr(i + 1, end - i - 1);
        const bool closing = !tag.empty() && tag.front() == '/';
        const bool self_closing = !tag.empty() && tag.back() == '/';
        const std::string_view rest = closing ? tag.substr(1) : tag;
        const std::string name(rest.substr(0, rest.find_first_of(" \t\n/")));
        if (name.empty()) return "tag without a name" + where(i);
        for (std::size_t k = i; k < end; ++k)
            if (markup[k] == '&' && !entity_at(markup, k)) return "bare '&' in a tag" + where(i);
        i = end + 1;
        if (closing) {
            if (open.empty() || open.back() != name)
                return "</" + name + "> closes " + (open.empty() ? std::string("nothing") : "<" + open.back() + ">") +
                    where(i);
            open.pop_back();
        } else if (!self_closing && !(html && void_elements.count(name))) {
            if (open.empty()) ++roots;
            open.push_back(name);
            if (html && name == "style") {
                const auto close = markup.find("</style>", i);
                if (close == std::string_view::npos) return "unterminated <style>" + where(i);
                i = close;
            }
        } else if (open.empty()) {
            ++roots;
        }
    }
    if (!open.empty()) return "<" + open.back() + "> never closed";
    if (roots != 1) return std::to_string(roots) + " root elements instead of one";
    return "";
}

// Every value of `attribute` on elements named `element`, in document order.
inline std::vector<std::string> attribute_values(const std::string& markup, const std::string& element,
                                                 const std::string& attribute) {
    const std::regex pattern("<" + element + "\\s[^>]*?\\b" + attribute + "=\"([^\"]*)\"");
    std::vector<std::string> values;
    for (auto it = std::sregex_iterator(markup.begin(), markup.end(), pattern); it != std::sregex_iterator(); ++it)
        values.push_back((*it)[1]);
    return values;
}

// The texts of the <text> elements inside the first <g class="`group_class`">.
inline std::vector<std::string> texts_in_group(const std::string& markup, const std::string& group_class) {
    const auto start = markup.find("<g class=\"" + group_class + "\"");
    if (start == std::string::npos) return {};
    const auto end = markup.find("</g>", start);
    const std::string group = markup.substr(start, end - start);
    static const std::regex text(R"(<text[^>]*>([^<]*)</text>)");
    std::vector<std::string> texts;
    for (auto it = std::sregex_iterator(group.begin(), group.end(), text); it != std::sregex_iterator(); ++it)
        texts.push_back((*it)[1]);
    return texts;
}

inline std::size_t count_of(std::string_view text, std::string_view needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) ++count;
    return count;
}

}  // namespace sd_test
