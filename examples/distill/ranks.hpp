#pragma once
// The ranks of an mpirun launch as the distill program sees them. Built with MPI (SD_WITH_MPI) and
// started by mpirun, `distill train` trains data-parallel over the job's ranks; otherwise there is one.
// What keeps a launch from hanging when ranks disagree:
//   - every rank's arguments are compared before they are parsed (check_same_arguments);
//   - a rank whose setup fails (a missing shard, a bad option) reports it in one exchange that the
//     ranks whose setup succeeded join at setup_done(), so all of them stop, with rank 0 printing
//     every rank's message, and none waits in a collective for a rank that has gone;
//   - after setup, an error on any rank ends the whole job (MPI_Abort) once that rank has printed it.
// Only rank 0 writes files and progress.
#include <sparse_distill/comm/single.hpp>
#ifdef SD_WITH_MPI
#include <sparse_distill/comm/mpi.hpp>
#endif

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace distill {

#ifdef SD_WITH_MPI
using rank_comm = sparse_distill::comm::mpi;
#else
using rank_comm = sparse_distill::comm::single;
#endif

/// Thrown on a rank whose setup succeeded when another rank's failed; rank 0 has printed the messages.
struct other_rank_failed {
    int exit_status;
};

class launch {
public:
    explicit launch(rank_comm comm = {}) : comm_(std::move(comm)) {}

    rank_comm& comm() { return comm_; }
    int rank() const { return comm_.rank(); }
    int size() const { return comm_.size(); }
    bool several() const { return comm_.size() > 1; }
    /// Whether this rank writes files and progress.
    bool writes() const { return comm_.rank() == 0; }

    /// "" when every rank got the same arguments, else what differs (the same text on every rank).
    std::string check_same_arguments(int argc, char** argv) {
        if (!several()) return "";
        std::string joined;
        for (int i = 1; i < argc; ++i) joined += std::string(argv[i]) + '\n';
        const std::vector<std::string> all = comm_.gather_text(joined);
        for (int r = 1; r < size(); ++r) {
            if (all[static_cast<std::size_t>(r)] == all[0]) continue;
            const std::vector<std::string> mine = split(all[0]), theirs = split(all[static_cast<std::size_t>(r)]);
            std::size_t i = 0;
            while (i < mine.size() && i < theirs.size() && mine[i] == theirs[i]) ++i;
            const auto argument = [i](const std::vector<std::string>& args) {
                return i < args.size() ? "'" + args[i] + "'" : std::string("nothing");
            };
            return "the ranks were launched with different options (every rank needs the same): argument " + std::to_string(i + 1) +
                   " is " + argument(mine) + " on rank 0 but " + argument(theirs) + " on rank " + std::to_string(r);
        }
        return "";
    }

    /// Called by a subcommand when every file is open and every check has passed, just before training:
    /// throws other_rank_failed when another rank's setup failed.
    void setup_done() {
        if (!several() || agreed_) return;
        const int status = exchange("");
        if (status != 0) throw other_rank_failed{status};
    }

    /// main's error path for `text` (already prefixed "error: " or "invalid settings: "): prints it and
    /// returns the exit status, or ends the job when the ranks are past setup.
    int fail(int status, const std::string& text) {
        if (!several()) {
            std::fprintf(stderr, "distill: %s\n", text.c_str());
            return status;
        }
        if (!agreed_) return exchange(std::to_string(status) + "\n" + text);
        std::fprintf(stderr, "distill: rank %d: %s\n", rank(), text.c_str());
        comm_.abort(status);
    }

private:
    static std::vector<std::string> split(const std::string& joined) {
        std::vector<std::string> parts;
        std::size_t start = 0;
        for (std::size_t end; (end = joined.find('\n', start)) != std::string::npos; start = end + 1)
            parts.push_back(joined.substr(start, end - start));
        return parts;
    }

    // Every rank's setup outcome ("" or "status\nmessage"): rank 0 prints the failures (a message shared by
    // every rank once); returns the largest status, 0 when all succeeded.
    int exchange(const std::string& outcome) {
        agreed_ = true;
        const std::vector<std::string> all = comm_.gather_text(outcome);
        int status = 0;
        std::vector<std::string> printed;
        for (int r = 0; r < size(); ++r) {
            const std::string& one = all[static_cast<std::size_t>(r)];
            if (one.empty()) continue;
            const std::size_t newline = one.find('\n');
            status = std::max(status, std::stoi(one.substr(0, newline)));
            const std::string text = one.substr(newline + 1);
            if (writes() && std::find(printed.begin(), printed.end(), text) == printed.end()) {
                const bool everywhere = std::count(all.begin(), all.end(), one) == size();
                if (everywhere) std::fprintf(stderr, "distill: %s\n", text.c_str());
                else std::fprintf(stderr, "distill: rank %d: %s\n", r, text.c_str());
                printed.push_back(text);
            }
        }
        return status;
    }

    rank_comm comm_;
    bool agreed_ = false;  ///< the setup exchange has happened
};

}  // namespace distill
