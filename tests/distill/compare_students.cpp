// compare_students OURS.safetensors REFERENCE.safetensors TOLERANCE [metrics.jsonl expected.json]
//
// Checks that two safetensors files hold the same tensor names and shapes, and that every tensor
// agrees to ‖ours − ref‖ / ‖ref‖ < TOLERANCE (each printed). With a metrics.jsonl written by
// `distill` and a reference expected.json, also checks step, lr, loss, mse, l1 and l0 of every
// logged step to the same relative tolerance (and auxk, total_variance, threshold_window where the
// reference logs them as auxk_loss, total_variance, n_in_window). Exit status 0 when all agree, 1 otherwise.
#include <sparse_distill/io/safetensors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace io = sparse_distill::io;

namespace {

bool compare_tensors(const io::safetensors_file& ours, const io::safetensors_file& ref, double tolerance) {
    bool ok = ours.tensors.size() == ref.tensors.size();
    if (!ok) std::printf("tensor count: ours %zu, reference %zu\n", ours.tensors.size(), ref.tensors.size());
    for (const auto& [name, expected] : ref.tensors) {
        const auto found = ours.tensors.find(name);
        if (found == ours.tensors.end()) {
            std::printf("%s: missing from ours\n", name.c_str());
            ok = false;
            continue;
        }
        if (found->second.shape != expected.shape) {
            std::printf("%s: shape differs\n", name.c_str());
            ok = false;
            continue;
        }
        const auto a = io::to_values<double>(found->second);
        const auto b = io::to_values<double>(expected);
        double difference = 0, norm = 0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            difference += (a[i] - b[i]) * (a[i] - b[i]);
            norm += b[i] * b[i];
        }
        const double relative = std::sqrt(difference) / (norm > 0 ? std::sqrt(norm) : 1.0);
        const bool good = relative < tolerance;
        std::printf("%s: relative difference %.3e %s\n", name.c_str(), relative, good ? "ok" : "TOO LARGE");
        ok = ok && good;
    }
    return ok;
}

bool compare_log(const std::string& jsonl, const std::string& expected_json, double tolerance) {
    std::ifstream expected_file(expected_json);
    const auto expected = nlohmann::json::parse(expected_file).at("log");
    std::ifstream lines(jsonl);
    std::vector<nlohmann::json> logged;
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) logged.push_back(nlohmann::json::parse(line));
    bool ok = logged.size() == expected.size();
    if (!ok) std::printf("%s: %zu logged steps, reference has %zu\n", jsonl.c_str(), logged.size(), expected.size());
    for (std::size_t i = 0; i < std::min(logged.size(), expected.size()); ++i) {
        // The reference's key and ours: a key the reference does not log is not compared.
        for (const auto& [key, our_key] : {std::pair{"step", "step"}, {"lr", "lr"}, {"loss", "loss"}, {"mse", "mse"}, {"l1", "l1"},
                                           {"l0", "l0"}, {"auxk_loss", "auxk"}, {"total_variance", "total_variance"},
                                           {"n_in_window", "threshold_window"}}) {
            if (!expected[i].contains(key)) continue;
            if (!logged[i].contains(our_key)) {
                std::printf("step %zu: %s is not in %s\n", i + 1, our_key, jsonl.c_str());
                ok = false;
                continue;
            }
            const double ours = logged[i].at(our_key).get<double>(), ref = expected[i].at(key).get<double>();
            const double relative = std::abs(ours - ref) / (ref != 0 ? std::abs(ref) : 1.0);
            if (!(relative < tolerance)) {
                std::printf("step %zu %s: ours %.17g, reference %.17g\n", i + 1, key, ours, ref);
                ok = false;
            }
        }
    }
    if (ok) std::printf("%s: %zu steps of every logged value agree\n", jsonl.c_str(), logged.size());
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 && argc != 6) {
        std::fprintf(stderr, "usage: compare_students OURS REFERENCE TOLERANCE [metrics.jsonl expected.json]\n");
        return 2;
    }
    try {
        const double tolerance = std::strtod(argv[3], nullptr);
        bool ok = compare_tensors(io::read_safetensors(argv[1]), io::read_safetensors(argv[2]), tolerance);
        if (argc == 6) ok = compare_log(argv[4], argv[5], tolerance) && ok;
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "compare_students: %s\n", e.what());
        return 1;
    }
}
