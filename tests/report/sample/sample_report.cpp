// Writes a sample report that uses every plot type, with synthetic data shaped like the post's
// figures, for the headless-Chromium check (tests/report/check_in_chromium.cmake) and for a person
// to look at. Usage: sd_report_sample [output.html]
#include "sparse_distill/report.hpp"

#include <cmath>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

namespace report = sparse_distill::report;

namespace {

report::plot_frame frame(std::string id, std::string title, std::string x_label, std::string y_label) {
    report::plot_frame f;
    f.id = std::move(id);
    f.title = std::move(title);
    f.x.label = std::move(x_label);
    f.y.label = std::move(y_label);
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string output = argc > 1 ? argv[1] : "sample_report.html";
    std::mt19937_64 random(2024);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform;

    // Cosine similarity of each feature's decoder direction to its nearest teacher direction, by type.
    report::named_values dense{"dense features"}, sparse{"sparse features"}, ultralow{"ultralow-density"};
    for (int i = 0; i < 3000; ++i) sparse.values.push_back(std::tanh(0.9 + 0.35 * normal(random)));
    for (int i = 0; i < 600; ++i) dense.values.push_back(0.35 + 0.15 * normal(random));
    for (int i = 0; i < 400; ++i) ultralow.values.push_back(0.1 * normal(random));
    ultralow.values.push_back(std::nan(""));  // skipped, as the real analysis may produce

    // Activation frequency: a bulk around 10^-3 and a dense cluster near 10^-0.5.
    report::named_values log_frequency{"all features"};
    for (int i = 0; i < 8000; ++i) log_frequency.values.push_back(-3 + 0.6 * normal(random));
    for (int i = 0; i < 500; ++i) log_frequency.values.push_back(-0.5 + 0.15 * normal(random));

    // A sweep over the L1 coefficient.
    report::series mse{"normalised MSE"}, dead{"dead fraction"};
    for (double l1 = 1e-4; l1 <= 0.31; l1 *= 2) {
        mse.x.push_back(l1), mse.y.push_back(0.02 + 0.5 * l1 / (l1 + 0.05));
        dead.x.push_back(l1), dead.y.push_back(0.6 * l1 / (l1 + 0.1));
    }
    dead.y[3] = std::nan("");  // a failed run leaves a gap

    // Decoder versus encoder cosine, and a dense log-log cloud.
    report::series matched{"matched"}, random_pairs{"random pairs"};
    for (int i = 0; i < 2500; ++i) {
        const double c = std::tanh(1 + 0.5 * normal(random));
        matched.x.push_back(c), matched.y.push_back(std::clamp(c + 0.08 * normal(random), -1.0, 1.0));
        random_pairs.x.push_back(0.12 * normal(random)), random_pairs.y.push_back(0.12 * normal(random));
    }
    report::series frequencies{"features"};
    for (int i = 0; i < 20000; ++i) {
        const double f = std::pow(10.0, -4 + 3.5 * uniform(random));
        frequencies.x.push_back(f), frequencies.y.push_back(f * std::pow(10.0, 0.25 * normal(random)));
    }

    // Cluster sizes.
    std::vector<std::string> clusters;
    report::named_values sizes{"features"};
    for (int c = 0; c < 40; ++c) {
        clusters.push_back("cluster " + std::to_string(c));
        sizes.values.push_back(std::round(400 * std::exp(-0.12 * c) + 5 * uniform(random)));
    }

    report::html_document doc("Sample report: sparse_distill plots");
    doc.paragraph(
        "Synthetic data exercising every plot type of sparse_distill::report. Nothing on this "
        "page loads anything or runs any script.");

    doc.heading("Histograms");
    auto cosine =
        frame("cosine-by-type", "Cosine similarity to the teacher, by feature type", "cosine similarity", "features");
    cosine.x.min = -0.5, cosine.x.max = 1;
    doc.figure(report::histogram_svg(cosine, {sparse, dense, ultralow}, 60),
               "Stacked histogram of three feature types.");
    cosine.id = "cosine-overlaid";
    cosine.title = "Same data, overlaid";
    doc.figure(report::histogram_svg(cosine, {sparse, dense, ultralow}, 60, false), "Overlaid, semi-transparent.");
    doc.figure(
        report::histogram_svg(frame("log-frequency", "Activation frequency", "log10 activation frequency", "features"),
                              {log_frequency}),
        "Histogram of log10 activation frequency.");

    doc.heading("Sweeps and scatter plots");
    auto sweep =
        frame("l1-sweep", "Reconstruction and dead features vs L1 coefficient", "L1 coefficient λ", "fraction");
    sweep.x.log_scale = true;
    doc.figure(report::line_svg(sweep, {mse, dead}), "Lines on a log x axis; the missing run breaks the line.");
    auto cosines = frame("decoder-vs-encoder", "Decoder vs encoder cosine", "decoder cosine", "encoder cosine");
    cosines.width = cosines.height = 480;
    doc.figure(report::scatter_svg(cosines, {matched, random_pairs}, true), "Scatter with the y = x reference line.");
    auto loglog =
        frame("frequency-loglog", "20 000 points on log-log axes", "frequency (teacher)", "frequency (student)");
    loglog.x.log_scale = loglog.y.log_scale = true;
    doc.figure(report::scatter_svg(loglog, {frequencies}, true), "Dense log-log scatter.");

    doc.heading("Bar charts and tables");
    doc.figure(report::bar_svg(frame("cluster-sizes", "Cluster sizes", "cluster", "features"), clusters, {sizes}),
               "Many categories: labels rotate and thin out.");
    doc.figure(report::bar_svg(frame("runs-compared", "Alive features by run", "layer", "features"),
                               {"layer 0", "layer 1", "layer 2", "layer 3"},
                               {{"λ = 1e-3", {4000, 3800, 3500, 3100}},
                                {"λ = 3e-3", {3000, 2600, 2500, 2000}},
                                {"λ = 1e-2", {1500, 1200, 900, 700}}}),
               "Grouped bars.");
    doc.figure(report::line_svg(frame("empty-plot", "A plot without data", "x", "y"), {}),
               "Empty input: a \"no data\" note.");
    doc.table({"run", "λ", "normalised MSE", "dead features"},
              {{"a <baseline>", "1e-3", "0.031", "12"}, {"b", "3e-3", "0.058", "140"}, {"c", "1e-2", "0.120", "1021"}},
              "Summary of runs & settings");

    try {
        doc.write(output);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "sd_report_sample: %s\n", error.what());
        return 1;
    }
    std::printf("wrote %s\n", output.c_str());
    return 0;
}
