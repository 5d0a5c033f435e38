// SVG plots: counts land in the right histogram bins, ticks are round (powers of ten on log axes),
// values an axis cannot show are skipped, empty and degenerate inputs still give a valid plot, and
// every text is escaped so the output stays well-formed XML.
#include "sparse_distill/report.hpp"
#include "report/markup_check.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

namespace report = sparse_distill::report;
namespace detail = sparse_distill::report::detail;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace report_svg_plot_test {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_value = std::numeric_limits<double>::infinity();

report::plot_frame frame(const std::string& id, const std::string& title = "a plot") {
    report::plot_frame f;
    f.id = id;
    f.title = title;
    f.x.label = "x value";
    f.y.label = "y value";
    return f;
}

void check_well_formed(const std::string& svg) {
    const std::string problem = sd_test::markup_problem(svg);
    INFO(svg.substr(0, 600));
    CHECK_MESSAGE(problem.empty(), problem);
}

// The attributes of each data bar (a <rect> with data-bin or data-category), in document order.
std::vector<std::map<std::string, std::string>> bars(const std::string& svg) {
    static const std::regex bar(R"re(<rect\s([^>]*data-(bin|category)="[^>]*)>)re");
    static const std::regex attribute(R"re(([a-z-]+)="([^"]*)")re");
    std::vector<std::map<std::string, std::string>> out;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), bar); it != std::sregex_iterator(); ++it) {
        const std::string tag = (*it)[1];
        auto& attributes = out.emplace_back();
        for (auto a = std::sregex_iterator(tag.begin(), tag.end(), attribute); a != std::sregex_iterator(); ++a)
            attributes[(*a)[1]] = (*a)[2];
    }
    return out;
}

// data-bin -> data-count over every bar, summed over groups.
std::map<int, long long> counts_by_bin(const std::string& svg) {
    std::map<int, long long> out;
    for (auto& bar : bars(svg)) out[std::stoi(bar.at("data-bin"))] += std::stoll(bar.at("data-count"));
    return out;
}

std::vector<double> numbers(const std::vector<std::string>& texts) {
    std::vector<double> out;
    for (const auto& t : texts) out.push_back(std::stod(t));
    return out;
}


TEST_CASE("the root element carries the namespace, id, class and size, then a title") {
    auto f = frame("cosine-hist", "Cosine similarity");
    f.width = 500, f.height = 300;
    const std::string svg = report::histogram_svg(f, {{"all", {0.1, 0.5, 0.9}}});
    CHECK(
        svg.rfind(
            R"(<svg xmlns="http://www.w3.org/2000/svg" id="cosine-hist" class="sd-plot" width="500" height="300" viewBox="0 0 500 300")",
            0) == 0);
    CHECK(svg.find("<title>Cosine similarity</title>") < svg.find("<rect"));
    CHECK(svg.find(">x value</text>") != std::string::npos);
    CHECK(svg.find("class=\"sd-y-label\" transform=\"translate(") != std::string::npos);
    CHECK(svg.find("rotate(-90)") != std::string::npos);
    check_well_formed(svg);
}

TEST_CASE("histogram counts land in the right bins over a fixed range, values outside it, NaN and inf are skipped") {
    auto f = frame("h");
    f.x.min = 0, f.x.max = 1;
    // Bins of width 0.25, closed on the left; the range's right end belongs to the last bin.
    const std::vector<double> values = {0.1, 0.25, 0.3, 0.6, 0.99, 1.0, 1.5, -0.1, nan_value, inf_value, -inf_value};
    const std::string svg = report::histogram_svg(f, {{"all", values}}, 4);
    const auto counts = counts_by_bin(svg);
    CHECK(counts == std::map<int, long long>{{0, 1}, {1, 2}, {2, 1}, {3, 2}});

    // Bar heights are proportional to the counts.
    std::map<int, double> height_of;
    for (auto& bar : bars(svg)) height_of[std::stoi(bar.at("data-bin"))] = std::stod(bar.at("height"));
    CHECK(height_of[1] == doctest::Approx(2 * height_of[0]).epsilon(0.01));
    CHECK(height_of[3] == doctest::Approx(height_of[1]).epsilon(0.01));
    check_well_formed(svg);
}

TEST_CASE("histogram range follows the data when the axis leaves it free") {
    const std::string svg = report::histogram_svg(frame("h"), {{"all", {-2, -1, 0, 1, 2}}}, 2);
    // [-2, 0) and [0, 2]
    CHECK(counts_by_bin(svg) == std::map<int, long long>{{0, 2}, {1, 3}});
    const auto x_ticks = numbers(sd_test::texts_in_group(svg, "sd-x-ticks"));
    REQUIRE(!x_ticks.empty());
    CHECK(x_ticks.front() >= -2);
    CHECK(x_ticks.back() <= 2);
}

TEST_CASE("stacked histogram groups sit on top of each other, overlaid ones start at zero") {
    const std::vector<report::named_values> groups = {{"dense", {0.1, 0.1, 0.1}}, {"sparse", {0.1, 0.1, 0.9}}};
    const std::string stacked = report::histogram_svg(frame("s"), groups, 2, true);
    const std::string overlaid = report::histogram_svg(frame("o"), groups, 2, false);
    for (const auto* svg : {&stacked, &overlaid}) {
        CHECK(sd_test::count_of(*svg, "data-bin=") == 3);
        CHECK(sd_test::count_of(*svg, "class=\"sd-legend\"") == 1);
        check_well_formed(*svg);
    }
    CHECK(overlaid.find("fill-opacity=\"0.5\"") != std::string::npos);
    CHECK(stacked.find("fill-opacity=\"0.5\"") == std::string::npos);

    // Stacked: the y axis reaches the bin total (5), overlaid only the tallest single group (3).
    CHECK(numbers(sd_test::texts_in_group(stacked, "sd-y-ticks")).back() >= 5);
    CHECK(numbers(sd_test::texts_in_group(overlaid, "sd-y-ticks")).back() < 5);

    // Stacked: the second group's bar in bin 0 ends where the first group's begins.
    const auto stack = bars(stacked);
    REQUIRE(stack.size() == 3);
    REQUIRE(stack[0].at("data-bin") == "0");
    REQUIRE(stack[1].at("data-bin") == "0");
    CHECK(std::stod(stack[1].at("y")) + std::stod(stack[1].at("height")) ==
          doctest::Approx(std::stod(stack[0].at("y"))).epsilon(0.001));
    CHECK(std::stod(stack[1].at("height")) ==
          doctest::Approx(2.0 / 3 * std::stod(stack[0].at("height"))).epsilon(0.01));
}

TEST_CASE("histogram count axes have whole-number ticks") {
    const std::string svg = report::histogram_svg(frame("h"), {{"all", {1, 2, 2, 3}}}, 3);
    for (const double tick : numbers(sd_test::texts_in_group(svg, "sd-y-ticks"))) CHECK(tick == std::round(tick));
}

TEST_CASE("log axes put labelled ticks at powers of ten, evenly spaced") {
    auto f = frame("l1-sweep");
    f.x.log_scale = true;
    const std::string svg = report::line_svg(f, {{"loss", {1e-4, 3e-3, 1e-1}, {3, 2, 1}}});
    const auto labels = sd_test::texts_in_group(svg, "sd-x-ticks");
    CHECK(labels == std::vector<std::string>{"10⁻⁴", "10⁻³", "10⁻²", "10⁻¹"});
    // Label positions: equal steps per decade.
    const auto group_start = svg.find("<g class=\"sd-x-ticks\"");
    const auto xs =
        sd_test::attribute_values(svg.substr(group_start, svg.find("</g>", group_start) - group_start), "text", "x");
    REQUIRE(xs.size() == 4);
    const double step = std::stod(xs[1]) - std::stod(xs[0]);
    CHECK(step > 50);
    CHECK(std::stod(xs[3]) - std::stod(xs[2]) == doctest::Approx(step).epsilon(0.01));

    // Near 1 the same ticks read as plain decimals.
    f.x.min = 0.01, f.x.max = 100;
    const auto plain = sd_test::texts_in_group(report::line_svg(f, {{"loss", {0.05, 5}, {1, 2}}}), "sd-x-ticks");
    CHECK(plain == std::vector<std::string>{"0.01", "0.1", "1", "10", "100"});
    check_well_formed(svg);
}

TEST_CASE("tick helpers: round linear steps without floating-point noise, log ticks at decades") {
    const auto ticks = detail::linear_ticks(0, 1, 5);
    std::vector<std::string> labels;
    for (const auto& t : ticks) labels.push_back(t.label);
    CHECK(labels == std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"});

    CHECK(detail::nice_step(7, 6) == doctest::Approx(2));
    CHECK(detail::nice_step(0.0007, 6) == doctest::Approx(0.0002));

    std::vector<std::string> decades;
    for (const auto& t : detail::log_ticks(1e-7, 1))
        if (!t.label.empty()) decades.push_back(t.label);
    CHECK(decades == std::vector<std::string>{"10⁻⁷", "10⁻⁶", "10⁻⁵", "10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰"});

    // Many decades: every other (or coarser) one is labelled, at most about eight labels.
    std::size_t labelled = 0;
    for (const auto& t : detail::log_ticks(1e-20, 1)) labelled += !t.label.empty();
    CHECK(labelled >= 4);
    CHECK(labelled <= 9);

    CHECK(detail::round_out_125(0.2048, true) == doctest::Approx(0.5));
    CHECK(detail::round_out_125(0.2048, false) == doctest::Approx(0.2));
    CHECK(detail::round_out_125(7e-5, false) == doctest::Approx(5e-5));
    CHECK(detail::round_out_125(1e-3, false) == doctest::Approx(1e-3));
    CHECK(detail::round_out_125(1e-3, true) == doctest::Approx(1e-3));
    CHECK(detail::round_out_125(6, true) == doctest::Approx(10));

    CHECK(detail::format_number(0.000012345) == "1.234e-5");
    CHECK(detail::format_number(1234567) == "1.235e6");
    CHECK(detail::format_number(0.5) == "0.5");
    CHECK(detail::format_coordinate(12.04) == "12");
    CHECK(detail::format_coordinate(-0.01) == "0");
    CHECK(detail::format_power_of_ten(-3, true) == "0.001");
    CHECK(detail::format_power_of_ten(-3, false) == "10⁻³");
    CHECK(detail::format_power_of_ten(12, false) == "10¹²");
}

TEST_CASE("NaN and inf points are skipped, so are non-positive values on a log axis") {
    const report::series cloud{"c", {1, 2, nan_value, 4, inf_value, 6}, {1, 2, 3, nan_value, 5, 6}};
    const std::string scatter = report::scatter_svg(frame("sc"), {cloud});
    CHECK(sd_test::count_of(scatter, "<circle") == 3);
    CHECK(scatter.find("nan") == std::string::npos);
    CHECK(scatter.find("inf") == std::string::npos);
    check_well_formed(scatter);

    auto f = frame("log");
    f.x.log_scale = true;
    const std::string line = report::line_svg(f, {{"l", {-1, 0, 0.1, 1, 10}, {1, 2, 3, 4, 5}}});
    CHECK(sd_test::count_of(line, "<circle") == 3);
    check_well_formed(line);

    const std::string histogram =
        report::histogram_svg(frame("h"), {{"g", {nan_value, 1, inf_value, 2, -inf_value, 3}}}, 3);
    long long total = 0;
    for (const auto& [bin, count] : counts_by_bin(histogram)) total += count;
    CHECK(total == 3);
}

TEST_CASE("a skipped point breaks the line rather than bridging it") {
    const std::string svg = report::line_svg(frame("l"), {{"l", {1, 2, 3, 4, 5}, {1, 2, nan_value, 4, 5}}});
    const auto paths = sd_test::attribute_values(svg, "path", "d");
    bool found = false;
    for (const auto& d : paths)
        if (d.find('L') != std::string::npos) {
            found = true;
            CHECK(sd_test::count_of(d, "M") == 2);
        }
    CHECK(found);
}

TEST_CASE("empty input gives a valid plot with a 'no data' note") {
    const std::vector<std::string> plots = {
        report::histogram_svg(frame("a"), {}),
        report::histogram_svg(frame("b"), {{"only nan", {nan_value, nan_value}}, {"empty", {}}}),
        report::line_svg(frame("c"), {}),
        report::line_svg(frame("d"), {{"mismatched", {1, 2, 3}, {}}}),
        report::scatter_svg(frame("e"), {}, true),
        report::bar_svg(frame("f"), {}, {}),
        report::bar_svg(frame("g"), {"a", "b"}, {{"g", {nan_value}}}),
    };
    for (const auto& svg : plots) {
        CHECK(svg.find(">no data</text>") != std::string::npos);
        CHECK(svg.find("class=\"sd-legend\"") == std::string::npos);
        check_well_formed(svg);
    }
}

TEST_CASE("equal values are padded into a range") {
    const std::string histogram = report::histogram_svg(frame("h"), {{"g", {5, 5, 5}}}, 10);
    long long total = 0;
    for (const auto& [bin, count] : counts_by_bin(histogram)) total += count;
    CHECK(total == 3);
    const auto x_ticks = numbers(sd_test::texts_in_group(histogram, "sd-x-ticks"));
    REQUIRE(x_ticks.size() >= 2);
    CHECK(x_ticks.front() < 5);
    CHECK(x_ticks.back() > 5);
    check_well_formed(histogram);

    auto f = frame("p");
    f.x.log_scale = f.y.log_scale = true;
    const std::string point = report::scatter_svg(f, {{"one", {3}, {3}}}, true);
    CHECK(sd_test::count_of(point, "<circle") == 1);
    CHECK(sd_test::texts_in_group(point, "sd-x-ticks").size() >= 2);
    check_well_formed(point);
}

TEST_CASE("all text is escaped") {
    const std::string nasty = "a<b & \"c\" 'd'>";
    auto f = frame("id\"x", nasty);
    f.x.label = nasty, f.y.label = nasty;
    const std::vector<std::string> plots = {
        report::histogram_svg(f, {{nasty, {1, 2}}, {"<g>", {3}}}),
        report::line_svg(f, {{nasty, {1, 2}, {1, 2}}, {"&", {1}, {1}}}),
        report::scatter_svg(f, {{nasty, {1}, {2}}, {"x\x01y", {2}, {1}}}),
        report::bar_svg(f, {nasty, "</svg>"}, {{nasty, {1, 2}}, {"q", {2, 1}}}),
    };
    for (const auto& svg : plots) {
        CHECK(svg.find("<title>a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;</title>") != std::string::npos);
        CHECK(svg.find("id=\"id&quot;x\"") != std::string::npos);
        CHECK(svg.find("a<b") == std::string::npos);
        CHECK(svg.find('\x01') == std::string::npos);
        check_well_formed(svg);
    }
}

TEST_CASE("a legend appears for two or more series, coloured from the fixed palette by index") {
    const std::string one = report::line_svg(frame("a"), {{"only", {1, 2}, {1, 2}}});
    const std::string two = report::line_svg(frame("b"), {{"first", {1, 2}, {1, 2}}, {"second", {1, 2}, {2, 1}}});
    CHECK(one.find("sd-legend") == std::string::npos);
    CHECK(sd_test::texts_in_group(two, "sd-legend") == std::vector<std::string>{"first", "second"});
    CHECK(one.find("stroke=\"#0072B2\"") != std::string::npos);
    CHECK(two.find("stroke=\"#E69F00\"") != std::string::npos);
    CHECK(detail::series_colour(8) == detail::series_colour(0));
}

TEST_CASE("a big scatter stays compact, titles only the first few hundred points, and draws y = x when asked") {
    std::mt19937 random(7);
    std::normal_distribution<double> normal;
    report::series a{"a"}, b{"b"};
    for (int i = 0; i < 10000; ++i) {
        const double x = normal(random);
        a.x.push_back(x), a.y.push_back(x + 0.2 * normal(random));
        b.x.push_back(normal(random)), b.y.push_back(normal(random));
    }
    const std::string svg = report::scatter_svg(frame("big"), {a, b}, true);
    CHECK(sd_test::count_of(svg, "<circle") == 20000 + 2);  // + the two legend dots
    CHECK(sd_test::count_of(svg, "<title>") <= 301);
    CHECK(svg.size() < 1'200'000);
    CHECK(svg.find("class=\"sd-diagonal\"") != std::string::npos);
    CHECK(report::scatter_svg(frame("no-diag"), {a}).find("sd-diagonal") == std::string::npos);
    check_well_formed(svg);
}

TEST_CASE("bar charts: one bar per category and group, heights proportional, labels rotated when crowded") {
    const std::string svg = report::bar_svg(frame("bars"), {"small", "medium", "large"},
                                            {{"run 1", {1, 2, 4}}, {"run 2", {2, nan_value, 8}}});
    CHECK(sd_test::attribute_values(svg, "rect", "data-value") == std::vector<std::string>{"1", "2", "4", "2", "8"});
    CHECK(sd_test::attribute_values(svg, "rect", "data-category") == std::vector<std::string>{"0", "1", "2", "0", "2"});
    CHECK(sd_test::texts_in_group(svg, "sd-x-ticks") == std::vector<std::string>{"small", "medium", "large"});
    const auto drawn = bars(svg);
    REQUIRE(drawn.size() == 5);
    CHECK(std::stod(drawn[2].at("height")) == doctest::Approx(4 * std::stod(drawn[0].at("height"))).epsilon(0.01));
    CHECK(svg.find("rotate(-45)") == std::string::npos);
    check_well_formed(svg);

    std::vector<std::string> categories;
    report::named_values sizes{"clusters"};
    for (int c = 0; c < 60; ++c)
        categories.push_back("cluster number " + std::to_string(c)), sizes.values.push_back(c % 7 + 1);
    const std::string crowded = report::bar_svg(frame("crowded"), categories, {sizes});
    CHECK(crowded.find("rotate(-45)") != std::string::npos);
    CHECK(sd_test::texts_in_group(crowded, "sd-x-ticks").size() < 60);
    check_well_formed(crowded);

    const std::string negative = report::bar_svg(frame("neg"), {"a", "b"}, {{"g", {-3, 2}}});
    CHECK(negative.find("class=\"sd-zero\"") != std::string::npos);
    CHECK(numbers(sd_test::texts_in_group(negative, "sd-y-ticks")).front() <= -3);
}

TEST_CASE("the markup checker itself rejects broken markup") {
    CHECK(sd_test::markup_problem("<svg><g></svg>") != "");
    CHECK(sd_test::markup_problem("<svg>a & b</svg>") != "");
    CHECK(sd_test::markup_problem("<svg x=\"<\"/>") != "");
    CHECK(sd_test::markup_problem("<svg/><svg/>") != "");
    CHECK(sd_test::markup_problem("<svg><g a=\"1\"/>&amp;</svg>") == "");
}

}  // namespace report_svg_plot_test
