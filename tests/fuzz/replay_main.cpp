// Runs a fuzz target over files without libFuzzer, so any compiler (and the sanitized test build)
// replays the seed corpus and the saved crash reproducers. A file named valid_* must be accepted and
// invalid_* rejected; any other file (a reproducer) must merely not crash.
#include "fuzz/fuzz_support.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

std::vector<std::filesystem::path> input_files(int argc, char** argv) {
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg = argv[i];
        if (std::filesystem::is_directory(arg)) {
            for (const auto& entry : std::filesystem::directory_iterator(arg))
                if (entry.is_regular_file() && entry.path().filename().string().front() != '.') files.push_back(entry.path());
        } else {
            files.push_back(arg);
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " FILE_OR_DIRECTORY...\n";
        return 2;
    }
    const auto files = input_files(argc, argv);
    int failures = 0, accepted = 0;
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (!in.eof() && !in) {
            std::cerr << file.string() << ": cannot read\n";
            ++failures;
            continue;
        }
        // Printed first so that an abort inside the parser leaves the culprit as the last line.
        std::cout << file.filename().string() << std::flush;
        bool accepts = false;
        try {
            accepts = sd_fuzz::accepts(bytes);
        } catch (const std::exception& error) {
            std::cout << ": FAIL, escaped exception: " << error.what() << "\n";
            ++failures;
            continue;
        }
        accepted += accepts;
        const auto name = file.filename().string();
        const bool want_valid = name.starts_with("valid_"), want_invalid = name.starts_with("invalid_");
        if ((want_valid && !accepts) || (want_invalid && accepts)) {
            std::cout << ": FAIL, " << (accepts ? "accepted" : "rejected") << " but named " << (want_valid ? "valid_" : "invalid_") << "\n";
            ++failures;
        } else {
            std::cout << ": " << (accepts ? "accepted" : "rejected") << "\n";
        }
    }
    std::cout << files.size() << " inputs, " << accepted << " accepted, " << failures << " failures\n";
    if (files.empty()) {
        std::cerr << "no inputs found: the corpus is missing\n";
        return 1;
    }
    return failures == 0 ? 0 : 1;
}
