#pragma once
// What every plot shares: the layout of margins, title, legend, axes with ticks and labels, and a
// clipped layer in which each plot type draws its data in pixel coordinates.
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/report/detail/markup_escape.hpp"
#include "sparse_distill/report/detail/number_format.hpp"
#include "sparse_distill/report/detail/palette.hpp"
#include "sparse_distill/report/detail/scale.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sparse_distill::report::detail {

inline void add_attribute(std::string& out, std::string_view name, double value) {
    out += ' ';
    out += name;
    out += "=\"";
    out += format_coordinate(value);
    out += '"';
}

inline void add_attribute(std::string& out, std::string_view name, std::string_view text) {
    out += ' ';
    out += name;
    out += "=\"";
    append_escaped(out, text);
    out += '"';
}

// At most `limit` code points, the cut marked with an ellipsis.
inline std::string truncated(std::string_view text, std::size_t limit) {
    if (code_points(text) <= limit) return std::string(text);
    std::size_t kept = 0, end = 0;
    while (end < text.size()) {
        if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80 && kept++ == limit - 1) break;
        ++end;
    }
    return std::string(text.substr(0, end)) + "…";
}

enum class legend_mark { box, line, dot };

struct canvas_text {
    std::string_view id, title, x_label, y_label;
    int width = 640, height = 360;
};

struct canvas_options {
    legend_mark mark = legend_mark::box;
    double mark_opacity = 1;  // legend swatches match semi-transparent data marks
    bool grid_x = false;      // vertical grid lines, for continuous x axes
    bool has_data = true;     // false: no ticks or legend, a "no data" note in the plot area
};

class plot_canvas {
public:
    static constexpr double font_size = 11;
    // The data layer extends this far past the plot area so markers on its edge are not cut in half.
    static constexpr double clip_pad = 4;

    plot_canvas(const canvas_text& text, scale x, scale y, const std::vector<std::string>& legend_names,
                const canvas_options& options)
        : x_(std::move(x)), y_(std::move(y)), options_(options) {
        width_ = std::max(text.width, 160);
        height_ = std::max(text.height, 120);
        if (!options_.has_data) x_.ticks.clear(), y_.ticks.clear();
        drop_ticks_outside(x_), drop_ticks_outside(y_);

        double y_labels_width = 0;
        for (const auto& t : y_.ticks)
            y_labels_width = std::max(y_labels_width, estimated_text_width(t.label, font_size));
        left_ = 10 + (text.y_label.empty() ? 0 : 18) + y_labels_width + 9;
        double right = 14;
        for (const auto& t : x_.ticks)
            if (!t.label.empty() && x_.unit(t.value) > 0.95)
                right = std::max(right, estimated_text_width(t.label, font_size) / 2 + 4);
        plot_width_ = std::max(20.0, width_ - left_ - right);

        const double title_height = text.title.empty() ? 0 : 20;
        const auto legend_rows = options_.has_data && legend_names.size() > 1 ? lay_out_legend(legend_names) : 0;
        top_ = 10 + title_height + 16.0 * legend_rows + (legend_rows > 0 ? 4 : 0) + 6;
        const double x_labels_height = lay_out_x_labels();
        const double bottom = 5 + x_labels_height + 4 + (text.x_label.empty() ? 0 : 16) + 6;
        plot_height_ = std::max(20.0, height_ - top_ - bottom);

        write_head(text, title_height, legend_names);
        write_tail(text);
    }

    // Pixel coordinates inside the data layer. A value far outside a fixed axis range is clipped from
    // view anyway; the clamp only keeps its coordinate printable.
    double px(double x) const { return std::clamp(clip_pad + x_.unit(x) * plot_width_, -1e6, 1e6); }
    double py(double y) const { return std::clamp(clip_pad + (1 - y_.unit(y)) * plot_height_, -1e6, 1e6); }
    // The data layer's bottom edge, where bars start when zero is not on the y axis.
    double bottom_py() const { return clip_pad + plot_height_; }
    double plot_width() const { return plot_width_; }
    double plot_height() const { return plot_height_; }
    const scale& x_scale() const { return x_; }
    const scale& y_scale() const { return y_; }

    // The data layer's markup, appended to by the plot.
    std::string& layer() { return layer_; }

    std::string finish() const {
        std::string out = head_;
        out += "<svg class=\"sd-data\"";
        add_attribute(out, "x", left_ - clip_pad);
        add_attribute(out, "y", top_ - clip_pad);
        add_attribute(out, "width", plot_width_ + 2 * clip_pad);
        add_attribute(out, "height", plot_height_ + 2 * clip_pad);
        out += " overflow=\"hidden\">";
        out += layer_;
        out += "</svg>";
        out += tail_;
        out += "</svg>";
        return out;
    }

private:
    struct legend_item {
        double x;
        int row;
        std::size_t index;
    };
    struct x_label {
        double x;
        std::string text;
    };

    static void drop_ticks_outside(scale& s) {
        std::erase_if(s.ticks, [&](const tick& t) {
            const double u = s.unit(t.value);
            return !(u >= -1e-9 && u <= 1 + 1e-9);
        });
    }

    double swatch_width() const { return options_.mark == legend_mark::line ? 16 : 10; }

    // Legend items flow left to right above the plot area, wrapping into rows: above the data they
    // can never hide a bar or a point. Returns the number of rows.
    int lay_out_legend(const std::vector<std::string>& names) {
        int rows = 1;
        double x = left_;
        for (std::size_t i = 0; i < names.size(); ++i) {
            const double item_width = swatch_width() + 5 + estimated_text_width(names[i], font_size) + 14;
            if (x > left_ && x + item_width > left_ + plot_width_ + 10) x = left_, ++rows;
            legend_.push_back({x, rows - 1, i});
            x += item_width;
        }
        return rows;
    }

    // Horizontal labels when they fit between their ticks; otherwise rotated by 45° and thinned to
    // one every 14 px, as for many long category names. Returns the height the labels need.
    double lay_out_x_labels() {
        std::vector<x_label> labels;
        for (const auto& t : x_.ticks)
            if (!t.label.empty()) labels.push_back({left_ + x_.unit(t.value) * plot_width_, t.label});
        double widest = 0, spacing = plot_width_;
        for (std::size_t i = 0; i < labels.size(); ++i) {
            widest = std::max(widest, estimated_text_width(labels[i].text, font_size));
            if (i > 0) spacing = std::min(spacing, std::abs(labels[i].x - labels[i - 1].x));
        }
        rotate_x_labels_ = labels.size() > 1 && widest + 8 > spacing;
        if (!rotate_x_labels_) {
            x_labels_ = std::move(labels);
            return x_labels_.empty() ? 0 : 14;
        }
        const auto every = static_cast<std::size_t>(std::ceil(14 / std::max(spacing, 1e-3)));
        widest = 0;
        for (std::size_t i = 0; i < labels.size(); i += every) {
            labels[i].text = truncated(labels[i].text, 24);
            widest = std::max(widest, estimated_text_width(labels[i].text, font_size));
            x_labels_.push_back(std::move(labels[i]));
        }
        return widest * 0.71 + 12;
    }

    void write_head(const canvas_text& text, double title_height, const std::vector<std::string>& legend_names) {
        std::string& out = head_;
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\"";
        if (!text.id.empty()) add_attribute(out, "id", text.id);
        out += " class=\"sd-plot\"";
        add_attribute(out, "width", width_);
        add_attribute(out, "height", height_);
        out += " viewBox=\"0 0 " + format_coordinate(width_) + ' ' + format_coordinate(height_) + '"';
        out += " font-family=\"sans-serif\" font-size=\"11\" role=\"img\"><title>";
        append_escaped(out, text.title.empty() ? text.id : text.title);
        out += "</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>";
        if (title_height > 0) {
            out += "<text class=\"sd-title\"";
            add_attribute(out, "x", width_ / 2.0);
            add_attribute(out, "y", 10 + 14);
            out += " text-anchor=\"middle\" font-size=\"13\" font-weight=\"600\">";
            append_escaped(out, text.title);
            out += "</text>";
        }
        if (!legend_.empty()) {
            out += "<g class=\"sd-legend\">";
            const double first_row = 10 + title_height + 10;
            for (const auto& item : legend_)
                write_legend_item(item.x, first_row + 16.0 * item.row, item.index, legend_names[item.index]);
            out += "</g>";
        }
        std::string grid;
        for (const auto& t : y_.ticks)
            if (!t.label.empty())
                grid += "M" + format_coordinate(left_) + ',' + format_coordinate(ay(t.value)) + 'h' +
                    format_coordinate(plot_width_);
        if (options_.grid_x)
            for (const auto& t : x_.ticks)
                if (!t.label.empty())
                    grid += "M" + format_coordinate(ax(t.value)) + ',' + format_coordinate(top_) + 'v' +
                        format_coordinate(plot_height_);
        if (!grid.empty()) out += "<path class=\"sd-grid\" d=\"" + grid + "\" fill=\"none\" stroke=\"#e8e8e8\"/>";
    }

    void write_legend_item(double x, double y, std::size_t index, const std::string& name) {
        std::string& out = head_;
        const std::string colour(series_colour(index));
        const std::string opacity =
            options_.mark_opacity < 1 ? " fill-opacity=\"" + format_number(options_.mark_opacity, 2) + '"' : "";
        switch (options_.mark) {
            case legend_mark::box:
                out += "<rect";
                add_attribute(out, "x", x), add_attribute(out, "y", y - 5);
                out += " width=\"10\" height=\"10\" fill=\"" + colour + '"' + opacity + "/>";
                break;
            case legend_mark::line:
                out += "<path d=\"M" + format_coordinate(x) + ',' + format_coordinate(y) + "h16\" stroke=\"" + colour +
                    "\" stroke-width=\"2\"/><circle";
                add_attribute(out, "cx", x + 8), add_attribute(out, "cy", y);
                out += " r=\"3\" fill=\"" + colour + "\"/>";
                break;
            case legend_mark::dot:
                out += "<circle";
                add_attribute(out, "cx", x + 5), add_attribute(out, "cy", y);
                out += " r=\"4\" fill=\"" + colour + '"' + opacity + "/>";
                break;
        }
        out += "<text";
        add_attribute(out, "x", x + swatch_width() + 5);
        add_attribute(out, "y", y);
        out += " dy=\"0.35em\">";
        append_escaped(out, name);
        out += "</text>";
    }

    // Ticks, tick labels, axis labels and the axis lines, drawn after the data so bars never cover them.
    void write_tail(const canvas_text& text) {
        std::string& out = tail_;
        const double bottom = top_ + plot_height_;
        std::string marks;
        for (const auto& t : x_.ticks)
            marks += "M" + format_coordinate(ax(t.value)) + ',' + format_coordinate(bottom) +
                (t.label.empty() ? "v3" : "v5");
        for (const auto& t : y_.ticks)
            marks += "M" + format_coordinate(left_) + ',' + format_coordinate(ay(t.value)) +
                (t.label.empty() ? "h-3" : "h-5");
        if (!marks.empty()) out += "<path class=\"sd-ticks\" d=\"" + marks + "\" stroke=\"#333\"/>";

        if (!x_labels_.empty()) {
            out += rotate_x_labels_ ? "<g class=\"sd-x-ticks\" text-anchor=\"end\">"
                                    : "<g class=\"sd-x-ticks\" text-anchor=\"middle\">";
            for (const auto& label : x_labels_) {
                out += "<text";
                if (rotate_x_labels_)
                    out += " transform=\"translate(" + format_coordinate(label.x + 3) + ',' +
                        format_coordinate(bottom + 9) + ") rotate(-45)\" dy=\"0.35em\"";
                else add_attribute(out, "x", label.x), add_attribute(out, "y", bottom + 17);
                out += '>';
                append_escaped(out, label.text);
                out += "</text>";
            }
            out += "</g>";
        }
        bool any_y_label = false;
        for (const auto& t : y_.ticks) any_y_label = any_y_label || !t.label.empty();
        if (any_y_label) {
            out += "<g class=\"sd-y-ticks\" text-anchor=\"end\">";
            for (const auto& t : y_.ticks) {
                if (t.label.empty()) continue;
                out += "<text";
                add_attribute(out, "x", left_ - 8);
                add_attribute(out, "y", ay(t.value));
                out += " dy=\"0.35em\">";
                append_escaped(out, t.label);
                out += "</text>";
            }
            out += "</g>";
        }
        if (!text.x_label.empty()) {
            out += "<text class=\"sd-x-label\"";
            add_attribute(out, "x", left_ + plot_width_ / 2);
            add_attribute(out, "y", height_ - 8);
            out += " text-anchor=\"middle\" font-size=\"12\">";
            append_escaped(out, text.x_label);
            out += "</text>";
        }
        if (!text.y_label.empty()) {
            out += "<text class=\"sd-y-label\" transform=\"translate(" + format_coordinate(22) + ',' +
                format_coordinate(top_ + plot_height_ / 2) + ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">";
            append_escaped(out, text.y_label);
            out += "</text>";
        }
        out += "<path class=\"sd-axes\" d=\"M" + format_coordinate(left_) + ',' + format_coordinate(top_) + 'V' +
            format_coordinate(bottom) + 'H' + format_coordinate(left_ + plot_width_) +
            "\" fill=\"none\" stroke=\"#333\"/>";
        if (!options_.has_data) {
            out += "<text class=\"sd-no-data\"";
            add_attribute(out, "x", left_ + plot_width_ / 2);
            add_attribute(out, "y", top_ + plot_height_ / 2);
            out += " text-anchor=\"middle\" font-size=\"13\" fill=\"#777\">no data</text>";
        }
    }

    // Absolute coordinates, for the parts drawn outside the data layer.
    double ax(double x) const { return left_ + x_.unit(x) * plot_width_; }
    double ay(double y) const { return top_ + (1 - y_.unit(y)) * plot_height_; }

    scale x_, y_;
    canvas_options options_;
    double width_ = 0, height_ = 0, left_ = 0, top_ = 0, plot_width_ = 0, plot_height_ = 0;
    std::vector<legend_item> legend_;
    std::vector<x_label> x_labels_;
    bool rotate_x_labels_ = false;
    std::string head_, tail_, layer_;
};

}  // namespace sparse_distill::report::detail
