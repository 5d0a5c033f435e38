// HTML reports: escaping, the page skeleton (doctype, charset, inline style, no scripts or external
// resources), figures and tables in order, heading anchors, and atomic writing with errors that
// name the file.
#include "sparse_distill/report.hpp"
#include "report/markup_check.hpp"
#include "support/temp_files.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace report = sparse_distill::report;
namespace io = sparse_distill::io;
namespace fs = std::filesystem;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace report_html_document_test {

struct temp_dir : sd_test::temp_dir {
    temp_dir() : sd_test::temp_dir("sd_test_report") {}
};

report::plot_frame frame(const std::string& id) {
    report::plot_frame f;
    f.id = id;
    f.title = "plot " + id;
    return f;
}

report::html_document sample_document() {
    report::html_document doc("Sparse <distillation> & friends");
    doc.heading("Results");
    doc.paragraph("Cosine similarity < 0.5 & \"dead\" features.");
    doc.figure(report::histogram_svg(frame("first"), {{"a", {1, 2, 3}}}), "First <figure> & caption");
    doc.heading("Results", 3);
    doc.figure(report::line_svg(frame("second"), {{"b", {1, 2}, {3, 4}}}), "Second figure");
    doc.table({"feature", "density"}, {{"f<1>", "0.25"}, {"f2", "-1e-3"}, {"f3", "n/a"}}, "Table & caption");
    doc.raw_html("<p class=\"raw\"><em>as is</em></p>");
    return doc;
}


TEST_CASE("escape_html replaces the five special characters") {
    CHECK(report::escape_html("<&>\"'") == "&lt;&amp;&gt;&quot;&#39;");
    CHECK(report::escape_html("plain text, ünïcode") == "plain text, ünïcode");
    CHECK(report::escape_html("") == "");
}

TEST_CASE("the page has a doctype, a charset, an inline stylesheet and no scripts or external resources") {
    const std::string page = sample_document().str();
    CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(page.find("<meta charset=\"utf-8\">") != std::string::npos);
    CHECK(page.find("<style>") != std::string::npos);
    CHECK(page.find("max-width") != std::string::npos);
    CHECK(page.find("<title>Sparse &lt;distillation&gt; &amp; friends</title>") != std::string::npos);
    CHECK(page.find("<h1>Sparse &lt;distillation&gt; &amp; friends</h1>") != std::string::npos);
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("<link") == std::string::npos);
    CHECK(page.find("src=") == std::string::npos);
    CHECK(page.find("Content-Security-Policy") != std::string::npos);
    const std::string problem = sd_test::markup_problem(page, true);
    CHECK_MESSAGE(problem.empty(), problem);
}

TEST_CASE("figures hold their SVG as is and an escaped caption, in the order added") {
    const std::string page = sample_document().str();
    const std::string first = report::histogram_svg(frame("first"), {{"a", {1, 2, 3}}});
    const std::string second = report::line_svg(frame("second"), {{"b", {1, 2}, {3, 4}}});
    const auto at_first = page.find(first), at_second = page.find(second);
    REQUIRE(at_first != std::string::npos);
    REQUIRE(at_second != std::string::npos);
    CHECK(at_first < at_second);
    CHECK(page.find("<figcaption>First &lt;figure&gt; &amp; caption</figcaption>") != std::string::npos);
    CHECK(page.find("<figcaption>Second figure</figcaption>") > at_second);
    CHECK(page.find("<figure>") < at_first);

    report::html_document bare("t");
    bare.figure("<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "");
    CHECK(bare.str().find("<figcaption>") == std::string::npos);
}

TEST_CASE("headings get unique anchors, paragraphs are escaped, raw HTML is not") {
    const std::string page = sample_document().str();
    CHECK(page.find("<h2 id=\"sec-results\">Results</h2>") != std::string::npos);
    CHECK(page.find("<h3 id=\"sec-results-2\">Results</h3>") != std::string::npos);
    CHECK(page.find("<p>Cosine similarity &lt; 0.5 &amp; &quot;dead&quot; features.</p>") != std::string::npos);
    CHECK(page.find("<p class=\"raw\"><em>as is</em></p>") != std::string::npos);

    report::html_document doc("t");
    doc.heading("3. Über <weird> & headings!", 9);
    doc.heading("", 0);
    const std::string clamped = doc.str();
    CHECK(clamped.find("<h6 id=\"sec-3-Über-weird-headings\">3. Über &lt;weird&gt; &amp; headings!</h6>") !=
          std::string::npos);
    CHECK(clamped.find("<h1 id=\"sec-section\"></h1>") != std::string::npos);
}

TEST_CASE("tables: header cells, escaped body cells, numbers right-aligned, caption") {
    const std::string page = sample_document().str();
    CHECK(page.find("<caption>Table &amp; caption</caption>") != std::string::npos);
    CHECK(page.find("<thead><tr><th>feature</th><th>density</th></tr></thead>") != std::string::npos);
    CHECK(page.find("<tr><td>f&lt;1&gt;</td><td class=\"num\">0.25</td></tr>") != std::string::npos);
    CHECK(page.find("<td class=\"num\">-1e-3</td>") != std::string::npos);
    CHECK(page.find("<td>n/a</td>") != std::string::npos);
}

TEST_CASE("write() replaces the file atomically and leaves no temporary behind") {
    temp_dir dir;
    const fs::path path = dir / "report.html";
    sd_test::write_file(path, "old report");
    const auto doc = sample_document();
    doc.write(path);
    CHECK(sd_test::read_file(path) == doc.str());
    std::vector<fs::path> entries;
    for (const auto& entry : fs::directory_iterator(dir.path)) entries.push_back(entry.path().filename());
    CHECK(entries == std::vector<fs::path>{"report.html"});
}

TEST_CASE("a failed write names the file and leaves the old one intact") {
    temp_dir dir;
    const fs::path missing = dir / "no such directory" / "report.html";
    const auto doc = sample_document();
    std::string message = "<no exception>";
    try {
        doc.write(missing);
    } catch (const std::runtime_error& error) {
        message = error.what();
    }
    CHECK_MESSAGE(message.find(missing.string()) != std::string::npos, message);
    CHECK_THROWS_AS(doc.write(missing), io::io_error);

    // The temporary cannot be created (a directory sits in its place): the old report survives.
    const fs::path path = dir / "kept.html";
    sd_test::write_file(path, "old report");
    fs::create_directory(dir / "kept.html.tmp");
    CHECK_THROWS_AS(doc.write(path), io::io_error);
    CHECK(sd_test::read_file(path) == "old report");
}

TEST_CASE("highlighted tokens: one escaped span per token, opacity from the activation, focus outlined") {
    const std::string html = sparse_distill::report::highlighted_tokens_html({"a<", " b", "\n"}, {2.0, 0.5, -1.0}, 2.0, 0);
    CHECK(html.find("a&lt;") != std::string::npos);
    CHECK(html.find("rgba(230,97,0,1.000);outline") != std::string::npos);
    CHECK(html.find("rgba(230,97,0,0.250)") != std::string::npos);
    CHECK(html.find("rgba(230,97,0,0.000)") != std::string::npos);  // negative: no highlight
    CHECK(html.find("\u21b5") != std::string::npos);
    CHECK_THROWS(sparse_distill::report::highlighted_tokens_html({"a"}, {}, 1.0));
}

TEST_CASE("highlighted tokens: half a UTF-8 character in a byte token stays valid UTF-8") {
    const std::string html = sparse_distill::report::highlighted_tokens_html({"\xC3", "\xA9", "é"}, {1.0, 1.0, 1.0}, 1.0);
    CHECK(html.find("\u27e8xC3\u27e9") != std::string::npos);
    CHECK(html.find("\u27e8xA9\u27e9") != std::string::npos);
    CHECK(html.find("é") != std::string::npos);
    CHECK(html.find('\xC3' + std::string("<")) == std::string::npos);
}

}  // namespace report_html_document_test
