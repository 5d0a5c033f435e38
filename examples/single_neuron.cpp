// The single-neuron toy of the post's Appendix A (Figures 9 and 10). Trains a one-neuron ReLU student
// on a one-neuron ReLU teacher (x ~ N(0, I_d), teacher reads e₀ and writes e₁), once per decoder
// constraint, records the encoder/decoder cosine to the teacher at every step, writes them to a CSV and
// prints a summary.
//
//   single_neuron [--d 1000] [--steps 10000] [--lr 0.01] [--batch 8] [--seed 0]
//                 [--cap on|off|both] [--unit on|off] [--init linear_default|kaiming_uniform|tied_transpose]
//                 [--csv single_neuron.csv] [--window 1000]
#include <sparse_distill/experiments/single_neuron.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace sd = sparse_distill;
namespace sde = sparse_distill::experiments;

namespace {

void print_usage() {
    std::cout << "single_neuron: the post's Appendix A toy (one ReLU neuron distilled into one ReLU neuron)\n"
                 "  --d N          input dimension (1000)\n"
                 "  --steps N      Adam steps (10000)\n"
                 "  --lr X         constant learning rate (0.01)\n"
                 "  --batch N      tokens per step (8)\n"
                 "  --seed N       seed for the student's init and the data (0)\n"
                 "  --cap on|off|both   run with the decoder norm capped at 1, without, or both (both)\n"
                 "  --unit on|off  also run with decoder rows held at norm exactly 1 (on)\n"
                 "  --init NAME    student init: linear_default (torch nn.Linear, default), kaiming_uniform, tied_transpose\n"
                 "  --window N     steps averaged for the 'mean over last N' summary (1000)\n"
                 "  --csv PATH     where to write step-by-step cosines (single_neuron.csv)\n";
}

struct options {
    sde::single_neuron_settings settings;
    std::string cap = "both";
    bool unit = true;
    std::string csv = "single_neuron.csv";
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            print_usage();
            std::exit(0);
        }
        if (i + 1 >= argc) throw std::invalid_argument("missing value after " + flag);
        const std::string value = argv[++i];
        auto number = [&](const std::string& v) {
            std::size_t used = 0;
            double x = 0;
            try {
                x = std::stod(v, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != v.size()) throw std::invalid_argument(flag + ": '" + v + "' is not a number");
            return x;
        };
        auto positive_integer = [&](const std::string& v) {
            const double x = number(v);
            if (x < 1 || x != static_cast<double>(static_cast<long long>(x)))
                throw std::invalid_argument(flag + ": expected a positive integer, got '" + v + "'");
            return static_cast<long long>(x);
        };
        if (flag == "--d") o.settings.d = positive_integer(value);
        else if (flag == "--steps") o.settings.steps = positive_integer(value);
        else if (flag == "--lr") o.settings.lr = number(value);
        else if (flag == "--batch") o.settings.batch = positive_integer(value);
        else if (flag == "--seed") o.settings.seed = static_cast<std::uint64_t>(number(value));
        else if (flag == "--window") o.settings.summary_window = positive_integer(value);
        else if (flag == "--init") o.settings.init = sd::parse_student_init(value);
        else if (flag == "--csv") o.csv = value;
        else if (flag == "--unit") {
            if (value != "on" && value != "off") throw std::invalid_argument("--unit: expected on or off, got '" + value + "'");
            o.unit = value == "on";
        }
        else if (flag == "--cap") {
            if (value != "on" && value != "off" && value != "both")
                throw std::invalid_argument("--cap: expected on, off or both, got '" + value + "'");
            o.cap = value;
        } else throw std::invalid_argument("unknown option " + flag + " (see --help)");
    }
    if (o.settings.d < 2) throw std::invalid_argument("--d: the toy needs at least 2 dimensions (e₀ and e₁)");
    if (!(o.settings.lr > 0)) throw std::invalid_argument("--lr: expected a positive learning rate");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    try {
        o = parse(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "single_neuron: " << e.what() << "\n";
        return 2;
    }
    std::vector<sd::decoder_norm> runs;
    if (o.cap != "off") runs.push_back(sd::decoder_norm::cap);
    if (o.cap != "on") runs.push_back(sd::decoder_norm::none);
    if (o.unit) runs.push_back(sd::decoder_norm::unit);

    std::printf("single-neuron toy: d=%lld, batch %lld, Adam lr %g (constant), %lld steps, init %s, seed %llu\n",
                static_cast<long long>(o.settings.d), static_cast<long long>(o.settings.batch), o.settings.lr,
                static_cast<long long>(o.settings.steps), std::string(sd::to_string(o.settings.init)).c_str(),
                static_cast<unsigned long long>(o.settings.seed));
    std::vector<sde::single_neuron_trace> traces;
    for (const sd::decoder_norm constraint : runs) {
        sde::single_neuron_settings s = o.settings;
        s.constraint = constraint;
        const auto start = std::chrono::steady_clock::now();
        traces.push_back(sde::run_single_neuron<float>(s));
        std::fprintf(stderr, "  decoder constraint %-4s done in %.2f s\n", std::string(sd::to_string(constraint)).c_str(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }

    const std::string tmp = o.csv + ".tmp";
    {
        std::ofstream csv(tmp);
        if (!csv) {
            std::cerr << "single_neuron: cannot write " << tmp << "\n";
            return 1;
        }
        csv << "step,decoder_constraint,encoder_cosine,decoder_cosine,decoder_norm,loss\n";
        for (std::size_t r = 0; r < runs.size(); ++r) {
            const auto& t = traces[r];
            for (std::size_t i = 0; i < t.encoder_cosine.size(); ++i)
                csv << i + 1 << ',' << sd::to_string(runs[r]) << ',' << t.encoder_cosine[i] << ',' << t.decoder_cosine[i]
                    << ',' << t.decoder_norm[i] << ',' << t.loss[i] << '\n';
        }
        if (!csv.flush()) {
            std::cerr << "single_neuron: writing " << tmp << " failed\n";
            return 1;
        }
    }
    if (std::rename(tmp.c_str(), o.csv.c_str()) != 0) {
        std::cerr << "single_neuron: cannot rename " << tmp << " to " << o.csv << "\n";
        return 1;
    }

    const long long w = static_cast<long long>(o.settings.summary_window);
    std::printf("\n%-10s %14s %16s %14s %16s %12s\n", "decoder", "encoder cos", "encoder cos", "decoder cos",
                "decoder cos", "decoder");
    std::printf("%-10s %14s %16s %14s %16s %12s\n", "constraint", "final", ("mean last " + std::to_string(w)).c_str(),
                "final", ("mean last " + std::to_string(w)).c_str(), "norm final");
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const auto& t = traces[r];
        std::printf("%-10s %14.4f %16.4f %14.4f %16.4f %12.4f\n", std::string(sd::to_string(runs[r])).c_str(),
                    t.final_encoder(), t.tail_mean(t.encoder_cosine, w), t.final_decoder(),
                    t.tail_mean(t.decoder_cosine, w), t.decoder_norm.back());
    }
    std::printf("\nwrote %s (%zu rows)\n", o.csv.c_str(), runs.size() * static_cast<std::size_t>(o.settings.steps));
    return 0;
}
