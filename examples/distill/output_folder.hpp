#pragma once
// The one place every subcommand's output goes through: the folder itself, metrics.jsonl (one line per
// reported training step of every model, open for the folder's lifetime), metrics.json, the CSVs and
// report.html (each written atomically), progress on stderr and the closing lines on stdout.
#include <sparse_distill.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>

namespace distill {

namespace sd = sparse_distill;

class output_folder {
public:
    /// Creates `dir` (and its parents). `continue_log`: append to an existing metrics.jsonl (a resumed
    /// run continues the log of the run it continues) instead of starting it afresh.
    output_folder(std::filesystem::path dir, bool quiet, bool continue_log = false)
        : dir_(std::move(dir)), quiet_(quiet) {
        std::error_code error;
        std::filesystem::create_directories(dir_, error);
        if (error) throw sd::io::io_error(dir_, "output folder", "cannot create: " + error.message());
        errno = 0;
        log_ = std::fopen((dir_ / "metrics.jsonl").c_str(), continue_log ? "a" : "w");
        if (!log_)
            throw sd::io::io_error(dir_ / "metrics.jsonl", "file", std::string("cannot open for writing: ") + std::strerror(errno));
    }
    /// A folder that writes nothing and prints nothing: what the ranks other than 0 of an mpirun launch
    /// use (their metrics log goes to /dev/null).
    static output_folder silent() { return output_folder(); }

    ~output_folder() {
        if (log_) std::fclose(log_);
    }
    output_folder(const output_folder&) = delete;
    output_folder& operator=(const output_folder&) = delete;

    const std::filesystem::path& path() const { return dir_; }
    std::filesystem::path operator/(const std::string& name) const { return dir_ / name; }

    /// One model's training callbacks: its progress line on stderr (silent when quiet) and its lines,
    /// tagged with `model`, in metrics.jsonl. A tuple: pass it to an experiment's make_callbacks, or
    /// std::apply it to trainer::run.
    std::tuple<sd::progress_bar, sd::jsonl_log> callbacks(const std::string& model, std::int64_t steps) const {
        return {sd::progress_bar(model, steps, quiet_ ? nullptr : stderr), sd::jsonl_log(log_, model, (dir_ / "metrics.jsonl").string())};
    }

    /// A stage of the work on stderr (unless quiet).
    void progress(const std::string& stage) const {
        if (!quiet_) std::fprintf(stderr, "%s\n", stage.c_str());
    }

    void write_text(const std::string& name, std::string_view text) const {
        if (writes_) sd::io::write_text_file(dir_ / name, text);
    }
    void write_metrics(const nlohmann::json& metrics) const { write_text("metrics.json", metrics.dump(2) + "\n"); }
    /// The page (report.html unless named), and its path as the last line on stdout.
    void write_report(const sd::report::html_document& report, const std::string& name = "report.html") const {
        if (!writes_) return;
        report.write(dir_ / name);
        std::printf("\nreport: %s\n", std::filesystem::absolute(dir_ / name).c_str());
    }

private:
    output_folder() : quiet_(true), writes_(false), log_(std::fopen("/dev/null", "w")) {
        if (!log_) throw sd::io::io_error("/dev/null", "file", "cannot open for writing");
    }

    std::filesystem::path dir_;
    bool quiet_;
    bool writes_ = true;
    std::FILE* log_ = nullptr;
};

}  // namespace distill
