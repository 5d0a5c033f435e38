// distill: trains sparse students of a teacher MLP on planted-feature data, an SAE baseline on the
// teacher's outputs, runs every analysis of the research post and writes a report.
//
//   distill [options] [run]            ReLU student, its GELU twin and an SAE; report.html
//   distill [options] sweep --l1-values 0.03,0.1,0.3,1     Fig 5 across λ
//   distill [options] lm --checkpoint M.bin --tokenizer T.bin --text X.txt [--layers all]   a llama2.c model
//   distill [options] lm --model HF_DIR (--text X.txt | --token-ids ids.npy) [--save DIR --save-format F]   a Hugging Face one
//   distill [options] train --teacher T.safetensors --inputs X.npy... [--steps N] [--save DIR]   files in, student out
//   distill [options] replicate [--quick] [--seeds 5] [--lm-checkpoint M.bin --lm-tokenizer T.bin --lm-text X.txt]
//                                      the replication study: every claim over seeds, verdicts, replication.html
//   distill tokenize --tokenizer tokenizer.json [--decode] < text_or_ids                  ids on one line, or text back
//
// One file per subcommand (run_command.hpp, sweep_command.hpp, lm_command.hpp, train_command.hpp,
// tokenize_command.hpp, replicate_command.hpp), each
// with its own options; the options every subcommand reads are registered here, on the main command.
// Exit status: 0 on success, 1 when a file cannot be read or written, 2 for bad options.
// Built with MPI and started by mpirun, `train` and `lm` run data-parallel over the ranks (ranks.hpp).
#include "common_options.hpp"
#include "lm_command.hpp"
#include "planted_options.hpp"
#include "ranks.hpp"
#include "replicate_command.hpp"
#include "run_command.hpp"
#include "sweep_command.hpp"
#include "tokenize_command.hpp"
#include "train_command.hpp"

#include <cstdio>
#include <exception>
#include <new>
#include <optional>

int main(int argc, char** argv) {
    using namespace distill;
#ifdef SD_WITH_MPI
    // MPI only under an MPI launcher: run directly, the program is one process and never touches MPI.
    std::optional<sd::comm::mpi_session> mpi;
    launch ranks;
    if (sd::comm::launched_by_mpi()) {
        mpi.emplace(argc, argv);
        ranks = launch(sd::comm::mpi(MPI_COMM_WORLD));
    }
#else
    launch ranks;
#endif
    if (const std::string differ = ranks.check_same_arguments(argc, argv); !differ.empty()) {
        if (ranks.writes()) std::fprintf(stderr, "distill: invalid settings: %s\n", differ.c_str());
        return 2;
    }
    CLI::App app{"distill: distil a teacher MLP into a wide sparse student (and an SAE baseline) on planted-feature "
                 "data, run the analyses of the sparse MLP distillation post, and write report.html.",
                 "distill"};
    app.option_defaults()->always_capture_default();
    shared_options shared;
    shared.app = &app;
    for (int i = 1; i < argc; ++i) shared.arguments.emplace_back(argv[i]);
    planted_options planted;
    add_common_options(app, shared.common);
    add_planted_options(app, planted);
    add_student_options(app, shared.student);

    sweep_options sweep;
    lm_options lm;
    train_options train;
    tokenize_options tokenize;
    replicate_options replicate;
    CLI::App* run_command = add_run_command(app);
    CLI::App* sweep_command = add_sweep_command(app, sweep);
    CLI::App* lm_command = add_lm_command(app, lm);
    CLI::App* train_command = add_train_command(app, train);
    CLI::App* tokenize_command = add_tokenize_command(app, tokenize);
    CLI::App* replicate_command = add_replicate_command(app, replicate);
    app.require_subcommand(0, 1);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Every rank parsed the same arguments: one prints.
        if (!ranks.writes()) return e.get_exit_code() == 0 ? 0 : 2;
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        if (tokenize_command->parsed() && !ranks.several()) return run_tokenize(tokenize);
        if (shared.common.threads > 0) sd::set_num_threads(shared.common.threads);  // bounded by the option's check
        check_backend_built(shared.common.backend);
        // `train --steps N` sets the length itself: no note about --tokens then.
        check_student_options(shared, sweep_command->parsed() && !sweep.k_values.empty(), ranks.writes(),
                              train_command->parsed() && train.steps > 0);
        if (train_command->parsed()) return run_train(shared, planted, train, ranks);
        if (lm_command->parsed()) return run_lm(shared, lm, ranks);
        if (ranks.several())
            throw bad_settings("only `distill train` and `distill lm` run on several ranks (" + std::to_string(ranks.size()) +
                               " were launched)");
        if (sweep_command->parsed()) return run_sweep(shared, planted, sweep);
        if (replicate_command->parsed()) return run_replicate(shared, planted, replicate);
        (void)run_command;  // `run` and no subcommand are the same job
        return run_planted(shared, planted);
    } catch (const other_rank_failed& e) {
        return e.exit_status;
    } catch (const std::bad_alloc&) {
        return ranks.fail(1, "error: out of memory: the run needs more memory than this machine could give it "
                             "(lower --d-sae, --batch or --tokens)");
    } catch (const bad_settings& e) {
        return ranks.fail(2, std::string("invalid settings: ") + e.what());
    } catch (const std::exception& e) {
        return ranks.fail(1, std::string("error: ") + e.what());
    }
}
