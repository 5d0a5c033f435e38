#pragma once
// Plots rendered as standalone SVG text: histograms, line charts, scatter plots and grouped bar
// charts, with no dependency beyond the standard library, ready to inline into an HTML report.
#include "../config.hpp"
#include "sparse_distill/report/detail/markup_escape.hpp"
#include "sparse_distill/report/detail/number_format.hpp"
#include "sparse_distill/report/detail/palette.hpp"
#include "sparse_distill/report/detail/plot_canvas.hpp"
#include "sparse_distill/report/detail/scale.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sparse_distill::report {

// Every member has an initialiser so that partial aggregate initialisation, as in
// plot_frame{"id", "title"}, compiles quietly under -Wextra.

/// One axis of a plot. `log_scale` makes it base 10 with ticks at powers of ten; `min` and `max` fix
/// its ends (otherwise they follow the data, rounded out to a tick, or on a log axis to 1, 2 or 5 × 10^k).
struct axis {
    std::string label{};
    bool log_scale = false;
    std::optional<double> min{}, max{};
};

/// What every plot has: an `id` (the SVG element's id attribute, unique within a page), a title,
/// two axes and a size in pixels (at least 160 × 120).
struct plot_frame {
    std::string id{};
    std::string title{};
    axis x{}, y{};
    int width = 640;
    int height = 360;
};

/// A named list of values: one group of a histogram or one group of bars.
struct named_values {
    std::string name{};
    std::vector<double> values{};
};

/// A named list of points (x[i], y[i]); points past the shorter of the two vectors are ignored.
struct series {
    std::string name{};
    std::vector<double> x{}, y{};
};

namespace detail {

inline std::vector<std::string> names_of(const auto& items) {
    std::vector<std::string> names;
    for (const auto& item : items) names.push_back(item.name);
    return names;
}

inline std::string colour_of(std::size_t index) { return std::string(series_colour(index)); }

// The pixel row where a bar or histogram column of height `value` ends: values the y axis cannot
// show (zero or below on a log axis) end at the bottom edge.
inline double bar_end_py(const plot_canvas& canvas, double value) {
    const auto& y = canvas.y_scale();
    if (!y.accepts(value) || y.unit(value) < 0) return canvas.bottom_py();
    return canvas.py(value);
}

inline void append_rect(std::string& out, double x, double y0, double width, double y1) {
    out += "<rect";
    add_attribute(out, "x", x);
    add_attribute(out, "y", std::min(y0, y1));
    add_attribute(out, "width", width);
    add_attribute(out, "height", std::abs(y1 - y0));
}

// Scales for x/y point data, taking only the points both axes can show.
inline std::pair<scale, scale> point_scales(const plot_frame& frame, const std::vector<series>& all, bool& has_data) {
    scale x_probe, y_probe;
    x_probe.log = frame.x.log_scale, y_probe.log = frame.y.log_scale;
    value_range xs, ys;
    for (const auto& s : all)
        for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
            if (x_probe.accepts(s.x[i]) && y_probe.accepts(s.y[i])) xs.include(s.x[i]), ys.include(s.y[i]);
    has_data = !xs.empty();
    return {make_scale(frame.x.log_scale, frame.x.min, frame.x.max, xs),
            make_scale(frame.y.log_scale, frame.y.min, frame.y.max, ys)};
}

inline canvas_text text_of(const plot_frame& frame) {
    return {frame.id, frame.title, frame.x.label, frame.y.label, frame.width, frame.height};
}

}  // namespace detail

/// Histogram of each group's values over one common range: the x axis's `min`/`max` where set,
/// otherwise the data's (values outside a fixed range are left out), cut into `bins` equal bins
/// (equal in log10 on a log x axis). Groups are stacked, or overlaid semi-transparent when
/// `stacked` is false; the y axis counts values. Each bar carries `data-bin` and `data-count`.
/// NaN, ±inf and, on a log axis, values ≤ 0 are skipped.
inline std::string histogram_svg(const plot_frame& frame, const std::vector<named_values>& groups, int bins = 40,
                                 bool stacked = true) {
    bins = std::max(bins, 1);
    detail::scale probe;
    probe.log = frame.x.log_scale;
    detail::value_range data;
    for (const auto& group : groups)
        for (const double v : group.values)
            if (probe.accepts(v)) data.include(v);
    // The domain is exactly the binned range, so bin b spans units [b/bins, (b+1)/bins].
    auto x = detail::make_scale(frame.x.log_scale, frame.x.min, frame.x.max, data, {.round_out = false});

    const auto bin_count = static_cast<std::size_t>(bins);
    std::vector<std::vector<long long>> counts(groups.size(), std::vector<long long>(bin_count, 0));
    std::vector<long long> totals(bin_count, 0);
    long long tallest = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        for (const double v : groups[g].values) {
            if (!x.accepts(v)) continue;
            const double u = x.unit(v);
            if (!(u >= 0 && u <= 1)) continue;
            const auto b = std::min(bin_count - 1, static_cast<std::size_t>(u * static_cast<double>(bin_count)));
            ++counts[g][b], ++totals[b];
        }
        for (std::size_t b = 0; b < bin_count; ++b) tallest = std::max(tallest, stacked ? totals[b] : counts[g][b]);
    }
    const bool has_data = tallest > 0;
    auto y = detail::make_scale(frame.y.log_scale, frame.y.min, frame.y.max,
                                detail::value_range{frame.y.log_scale ? 1.0 : 0.0, static_cast<double>(tallest)},
                                {.include_zero = true, .min_step = 1});

    detail::plot_canvas canvas(
        detail::text_of(frame), std::move(x), std::move(y), detail::names_of(groups),
        {.mark = detail::legend_mark::box, .mark_opacity = stacked ? 1.0 : 0.5, .has_data = has_data});
    if (!has_data) return canvas.finish();
    const double bin_width = canvas.plot_width() / static_cast<double>(bins);
    const auto& scale_x = canvas.x_scale();
    std::vector<long long> below(bin_count, 0);  // stacked: the height already filled in each bin
    std::string& out = canvas.layer();
    for (std::size_t g = 0; g < groups.size(); ++g) {
        out += "<g class=\"sd-series\" fill=\"" + detail::colour_of(g) + '"';
        if (!stacked) out += " fill-opacity=\"0.5\"";
        // Thin white edges keep neighbouring bins and stacked groups apart while bars are wide enough.
        if (bin_width >= 4) out += " stroke=\"#fff\" stroke-width=\"0.5\"";
        out += '>';
        for (std::size_t b = 0; b < bin_count; ++b) {
            const long long count = counts[g][b];
            if (count == 0) continue;
            const long long base = stacked ? below[b] : 0;
            const double left = detail::plot_canvas::clip_pad + static_cast<double>(b) * bin_width;
            detail::append_rect(out, left, detail::bar_end_py(canvas, static_cast<double>(base)), bin_width,
                                detail::bar_end_py(canvas, static_cast<double>(base + count)));
            out += " data-bin=\"" + std::to_string(b) + "\" data-count=\"" + std::to_string(count) + "\"><title>";
            const double lo = scale_x.value_at(static_cast<double>(b) / bins),
                         hi = scale_x.value_at(static_cast<double>(b + 1) / bins);
            detail::append_escaped(out,
                                   groups[g].name + (groups[g].name.empty() ? "" : ": ") + "[" +
                                       detail::format_number(lo, 3) + ", " + detail::format_number(hi, 3) + ") " +
                                       std::to_string(count));
            out += "</title></rect>";
            if (stacked) below[b] += count;
        }
        out += "</g>";
    }
    return canvas.finish();
}

/// One line per series through its points in the order given, with a marker on each point (for
/// series of at most 200 points; longer ones are drawn as lines alone). A point either axis cannot
/// show (NaN, ±inf, ≤ 0 on a log axis) is skipped and breaks the line there.
inline std::string line_svg(const plot_frame& frame, const std::vector<series>& lines) {
    bool has_data = false;
    auto [x, y] = detail::point_scales(frame, lines, has_data);
    detail::plot_canvas canvas(detail::text_of(frame), std::move(x), std::move(y), detail::names_of(lines),
                               {.mark = detail::legend_mark::line, .grid_x = true, .has_data = has_data});
    if (!has_data) return canvas.finish();
    const auto& sx = canvas.x_scale();
    const auto& sy = canvas.y_scale();
    std::string& out = canvas.layer();
    for (std::size_t s = 0; s < lines.size(); ++s) {
        const auto& line = lines[s];
        const std::string colour = detail::colour_of(s);
        std::string path, markers;
        std::size_t shown = 0;
        bool pen_down = false;
        for (std::size_t i = 0; i < std::min(line.x.size(), line.y.size()); ++i) {
            if (!sx.accepts(line.x[i]) || !sy.accepts(line.y[i])) {
                pen_down = false;
                continue;
            }
            const double cx = canvas.px(line.x[i]), cy = canvas.py(line.y[i]);
            path += (pen_down ? 'L' : 'M') + detail::format_coordinate(cx) + ',' + detail::format_coordinate(cy);
            pen_down = true;
            ++shown;
            markers += "<circle";
            detail::add_attribute(markers, "cx", cx);
            detail::add_attribute(markers, "cy", cy);
            markers += " r=\"3\"><title>";
            detail::append_escaped(markers,
                                   line.name + (line.name.empty() ? "" : ": ") + "x = " +
                                       detail::format_number(line.x[i]) + ", y = " + detail::format_number(line.y[i]));
            markers += "</title></circle>";
        }
        if (shown == 0) continue;
        out += "<g class=\"sd-series\">";
        out += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + colour +
            "\" stroke-width=\"2\" stroke-linejoin=\"round\"/>";
        if (shown <= 200) out += "<g fill=\"" + colour + "\">" + markers + "</g>";
        out += "</g>";
    }
    return canvas.finish();
}

/// One small dot per point, one colour per series; the first 300 points carry a tooltip with their
/// values, the rest none, so 20 000 points stay around a megabyte. With `diagonal`, a dashed y = x
/// reference line is drawn over the range both axes share. Points either axis cannot show are skipped.
inline std::string scatter_svg(const plot_frame& frame, const std::vector<series>& points, bool diagonal = false) {
    bool has_data = false;
    auto [x, y] = detail::point_scales(frame, points, has_data);
    std::size_t total = 0;
    for (const auto& s : points) total += std::min(s.x.size(), s.y.size());
    // Dense clouds get smaller, more transparent dots so overlap shows as darker regions.
    const double radius = total <= 1000 ? 2.5 : total <= 5000 ? 1.8 : 1.3;
    const double opacity = total <= 1000 ? 0.85 : 0.5;
    detail::plot_canvas canvas(
        detail::text_of(frame), std::move(x), std::move(y), detail::names_of(points),
        {.mark = detail::legend_mark::dot, .mark_opacity = opacity, .grid_x = true, .has_data = has_data});
    if (!has_data) return canvas.finish();
    const auto& sx = canvas.x_scale();
    const auto& sy = canvas.y_scale();
    std::string& out = canvas.layer();
    const std::string r = detail::format_coordinate(radius);
    std::size_t titled = 0;
    for (std::size_t s = 0; s < points.size(); ++s) {
        const auto& cloud = points[s];
        out += "<g class=\"sd-series\" fill=\"" + detail::colour_of(s) + "\" fill-opacity=\"" +
            detail::format_number(opacity, 2) + "\">";
        for (std::size_t i = 0; i < std::min(cloud.x.size(), cloud.y.size()); ++i) {
            if (!sx.accepts(cloud.x[i]) || !sy.accepts(cloud.y[i])) continue;
            out += "<circle";
            detail::add_attribute(out, "cx", canvas.px(cloud.x[i]));
            detail::add_attribute(out, "cy", canvas.py(cloud.y[i]));
            out += " r=\"" + r + '"';
            if (titled < 300) {
                ++titled;
                out += "><title>";
                detail::append_escaped(out,
                                       cloud.name + (cloud.name.empty() ? "" : ": ") +
                                           "x = " + detail::format_number(cloud.x[i]) +
                                           ", y = " + detail::format_number(cloud.y[i]));
                out += "</title></circle>";
            } else {
                out += "/>";
            }
        }
        out += "</g>";
    }
    if (diagonal) {
        const double lo = std::max(sx.value_at(0), sy.value_at(0)), hi = std::min(sx.value_at(1), sy.value_at(1));
        if (lo < hi) {
            // y = x is straight unless exactly one axis is logarithmic; then it is traced in steps.
            const int steps = sx.log == sy.log ? 1 : 64;
            std::string path;
            for (int k = 0; k <= steps; ++k) {
                const double t = static_cast<double>(k) / steps;
                const double v = sx.log ? std::pow(10.0, std::log10(lo) + t * (std::log10(hi) - std::log10(lo)))
                                        : lo + t * (hi - lo);
                path += (k == 0 ? 'M' : 'L') + detail::format_coordinate(canvas.px(v)) + ',' +
                    detail::format_coordinate(canvas.py(v));
            }
            out += "<path class=\"sd-diagonal\" d=\"" + path +
                "\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"5 4\"/>";
        }
    }
    return canvas.finish();
}

/// Grouped bar chart: one band per category along x, and within it one bar per group, of height
/// groups[g].values[c] (a missing or non-finite value leaves a gap). Bars start at zero, or at the
/// axis bottom on a log y axis; the x axis is categorical, so `frame.x.log_scale`, `min` and `max`
/// are ignored. Each bar carries `data-category` and `data-value`.
inline std::string bar_svg(const plot_frame& frame, const std::vector<std::string>& categories,
                           const std::vector<named_values>& groups) {
    const std::size_t category_count = categories.size();
    detail::scale x;
    x.hi = std::max<double>(1, static_cast<double>(category_count));
    for (std::size_t c = 0; c < category_count; ++c) x.ticks.push_back({static_cast<double>(c) + 0.5, categories[c]});
    detail::scale probe;
    probe.log = frame.y.log_scale;
    detail::value_range data;
    for (const auto& group : groups)
        for (std::size_t c = 0; c < std::min(category_count, group.values.size()); ++c)
            if (probe.accepts(group.values[c])) data.include(group.values[c]);
    const bool has_data = !data.empty();
    auto y = detail::make_scale(frame.y.log_scale, frame.y.min, frame.y.max, data, {.include_zero = true});
    detail::plot_canvas canvas(detail::text_of(frame), std::move(x), std::move(y), detail::names_of(groups),
                               {.mark = detail::legend_mark::box, .has_data = has_data});
    if (!has_data) return canvas.finish();
    const auto& sy = canvas.y_scale();
    const double band = canvas.plot_width() / static_cast<double>(category_count);
    // A tenth of the band is left free on each side so neighbouring categories stay apart.
    const double bar_width = band * 0.8 / static_cast<double>(std::max<std::size_t>(groups.size(), 1));
    const double zero_py = detail::bar_end_py(canvas, 0);
    std::string& out = canvas.layer();
    for (std::size_t g = 0; g < groups.size(); ++g) {
        out += "<g class=\"sd-series\" fill=\"" + detail::colour_of(g) + "\">";
        for (std::size_t c = 0; c < std::min(category_count, groups[g].values.size()); ++c) {
            const double value = groups[g].values[c];
            if (!sy.accepts(value)) continue;
            const double left = detail::plot_canvas::clip_pad + band * (static_cast<double>(c) + 0.1) +
                bar_width * static_cast<double>(g);
            detail::append_rect(out, left, zero_py, bar_width, detail::bar_end_py(canvas, value));
            out += " data-category=\"" + std::to_string(c) + "\" data-value=\"" + detail::format_number(value, 6) +
                "\"><title>";
            detail::append_escaped(out,
                                   categories[c] + (groups[g].name.empty() ? "" : " — " + groups[g].name) + ": " +
                                       detail::format_number(value, 6));
            out += "</title></rect>";
        }
        out += "</g>";
    }
    if (!sy.log && sy.lo < 0 && sy.hi > 0)
        out += "<path class=\"sd-zero\" d=\"M" + detail::format_coordinate(detail::plot_canvas::clip_pad) + ',' +
            detail::format_coordinate(zero_py) + 'h' + detail::format_coordinate(canvas.plot_width()) +
            "\" stroke=\"#333\"/>";
    return canvas.finish();
}

}  // namespace sparse_distill::report
