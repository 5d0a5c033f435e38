#pragma once
// A self-contained HTML report: headings, paragraphs, inline-SVG figures and tables in one file with
// its own stylesheet, no scripts and no external resources, so it opens anywhere, offline.
#include "../config.hpp"
#include "sparse_distill/io/detail/file_io.hpp"
#include "sparse_distill/report/detail/markup_escape.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparse_distill::report {

/// `text` with & < > " ' replaced by character references, safe both as element text and inside a
/// quoted attribute. Control characters other than tab and line breaks are dropped.
inline std::string escape_html(std::string_view text) { return detail::escaped(text); }

namespace detail {

// The stylesheet of every report: one readable column, light theme, plots scaled to fit.
inline constexpr std::string_view report_style = R"css(
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1d1d1f;
       font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px 24px 64px; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.6em 0 0.5em; }
h1 { font-size: 2em; margin-top: 0.4em; }
h2 { font-size: 1.5em; border-bottom: 1px solid #e4e4e4; padding-bottom: 0.2em; }
p { margin: 0.6em 0; }
a { color: #0b63b5; }
code { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 0.9em; background: #f3f3f3; padding: 0 0.25em; }
figure { margin: 1.5em 0; }
figure svg.sd-plot { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 0.9em; color: #555; margin-top: 0.4em; }
.sd-table { overflow-x: auto; margin: 1.2em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
caption { caption-side: top; text-align: left; color: #555; padding-bottom: 0.4em; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #bbb; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
)css";

// Cells that read as one number are right-aligned so digits line up down a column.
inline bool looks_numeric(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    if (!text.empty() && text.back() == '%') text.remove_suffix(1);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    double value = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
    return !text.empty() && result.ec == std::errc{} && result.ptr == text.data() + text.size();
}

// "3. Results & Discussion" -> "3-results-discussion": ASCII letters (lower-cased) and digits and
// all non-ASCII characters kept, so "Über" does not lose its first letter; every other run of
// characters becomes one hyphen.
inline std::string slug(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || static_cast<unsigned char>(c) >= 0x80) out += c;
        else if (c >= 'A' && c <= 'Z') out += static_cast<char>(c - 'A' + 'a');
        else if (!out.empty() && out.back() != '-') out += '-';
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out.empty() ? "section" : out;
}

}  // namespace detail

/// Builds a report page part by part. Text given to heading, paragraph, figure captions and tables
/// is escaped; raw_html and figure SVG are inserted as they are. The page carries a Content
/// Security Policy that forbids scripts and every network or file load, so a report stays
/// self-contained even if raw HTML tries otherwise (a browser then logs the violation).
class html_document {
public:
    /// `title` is the page's <title> and its top-level <h1>.
    explicit html_document(std::string title) : title_(std::move(title)) {}

    /// <h`level`> (clamped to 1..6) with an id "sec-<slug of text>", made unique with a number
    /// suffix, so sections can be linked as report.html#sec-results. The prefix keeps heading ids
    /// apart from plot ids.
    void heading(const std::string& text, int level = 2) {
        level = std::clamp(level, 1, 6);
        std::string id = "sec-" + detail::slug(text);
        for (int n = 2; !used_ids_.insert(id).second; ++n) id = "sec-" + detail::slug(text) + "-" + std::to_string(n);
        const std::string tag = "h" + std::to_string(level);
        body_ += "<" + tag + " id=\"" + id + "\">" + escape_html(text) + "</" + tag + ">\n";
    }

    void paragraph(const std::string& text) { body_ += "<p>" + escape_html(text) + "</p>\n"; }

    /// Inserted as is: the caller is responsible for well-formed, script-free markup.
    void raw_html(std::string html) {
        body_ += html;
        body_ += '\n';
    }

    /// <figure> holding `svg` (as is) and, unless empty, a <figcaption> with the escaped caption.
    void figure(const std::string& svg, const std::string& caption) {
        body_ += "<figure>\n" + svg + '\n';
        if (!caption.empty()) body_ += "<figcaption>" + escape_html(caption) + "</figcaption>\n";
        body_ += "</figure>\n";
    }

    /// A table with one header row; cells are escaped, and cells holding one number are right-aligned.
    void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
               const std::string& caption = "") {
        std::string& out = body_;
        out += "<div class=\"sd-table\"><table>\n";
        if (!caption.empty()) out += "<caption>" + escape_html(caption) + "</caption>\n";
        if (!header.empty()) {
            out += "<thead><tr>";
            for (const auto& cell : header) out += "<th>" + escape_html(cell) + "</th>";
            out += "</tr></thead>\n";
        }
        out += "<tbody>\n";
        for (const auto& row : rows) {
            out += "<tr>";
            for (const auto& cell : row)
                out += (detail::looks_numeric(cell) ? "<td class=\"num\">" : "<td>") + escape_html(cell) + "</td>";
            out += "</tr>\n";
        }
        out += "</tbody>\n</table></div>\n";
    }

    /// The whole page: doctype, UTF-8 charset, inline stylesheet, title heading and the parts in order.
    std::string str() const {
        std::string page =
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">\n<title>" +
            escape_html(title_) + "</title>\n<style>";
        page += detail::report_style;
        page += "</style>\n</head>\n<body>\n<main>\n<h1>" + escape_html(title_) + "</h1>\n";
        page += body_;
        page += "</main>\n</body>\n</html>\n";
        return page;
    }

    /// Writes the page to `path` through a temporary file renamed into place, so a reader never sees
    /// half a report. Throws io::io_error naming the file when it cannot be written.
    void write(const std::filesystem::path& path) const {
        const std::string page = str();
        const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(page.data()), page.size());
        io::detail::write_atomically(path, std::span(&bytes, 1));
    }

private:
    std::string title_;
    std::string body_;
    std::set<std::string> used_ids_;
};

}  // namespace sparse_distill::report
