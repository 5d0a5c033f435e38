// Checkpoint integrity (issue 18): a flipped byte in the parameters, the Adam moments or the metadata is
// refused by its checksum; a data position or token count that disagrees with the step is refused even
// in a correctly sealed file; a finished run resumed again trains nothing; an unwritable checkpoint
// directory fails before the first step.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "support/temp_files.hpp"
#include "support/thrown_message.hpp"

#include <string>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace train_checkpoint_integrity_test {

constexpr sd::index_t dim = 8, rows_per_batch = 16;

sd::student_config student_config() {
    sd::student_config c;
    c.d_in = c.d_out = dim;
    c.d_sae = 32;
    return c;
}

sd::train_settings settings(std::int64_t steps, const std::filesystem::path& dir) {
    sd::train_settings s = sd::train_settings::for_steps(steps, rows_per_batch);
    s.loss.l1_coeff = 1e-3;
    s.schedule = {3e-3, 2, 0, 0.1};
    s.checkpoint.directory = dir;
    s.checkpoint.identity = {{"seed", "11"}};
    s.callback_every = 1;
    return s;
}

// Trains `steps` steps with checkpoints in `dir`; returns the checkpoint file.
std::filesystem::path trained_checkpoint(const std::filesystem::path& dir, std::int64_t steps) {
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(dim, 24, sd::activation::gelu, 5));
    sd::student_mlp<float> student(student_config(), 3);
    sd::data::gaussian_source<float> source(dim, 9);
    sd::trainer<float> trainer(student, teacher, settings(steps, dir));
    trainer.run(source);
    return sd::checkpoint_file(dir);
}

// The file's bytes with one bit of the byte at `offset` flipped.
void flip_bit(const std::filesystem::path& file, std::size_t offset) {
    std::string bytes = sd_test::read_file(file);
    REQUIRE(offset < bytes.size());
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x10);
    sd_test::write_file(file, bytes);
}

// Where a tensor's bytes start in a safetensors file: 8 + header length + its data offset.
std::size_t data_offset(const std::filesystem::path& file, const std::string& tensor) {
    const std::string bytes = sd_test::read_file(file);
    std::uint64_t header = 0;
    for (int i = 7; i >= 0; --i) header = header * 256 + static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    const nlohmann::json json = nlohmann::json::parse(bytes.substr(8, header));
    return 8 + header + json.at(tensor).at("data_offsets").at(0).get<std::size_t>();
}



TEST_CASE("one flipped bit in the parameters, an Adam moment or the metadata is refused by its checksum") {
    for (const std::string tensor : {"parameters", "adam.first_moment", "adam.second_moment"}) {
        CAPTURE(tensor);
        sd_test::temp_dir dir("sd_integrity");
        const auto file = trained_checkpoint(dir.path, 4);
        REQUIRE_NOTHROW(sd::read_checkpoint<float>(file));
        flip_bit(file, data_offset(file, tensor) + 5);
        const std::string message = sd_test::thrown_message([&] { sd::read_checkpoint<float>(file); });
        CHECK(message.find(file.string() + ": tensor '" + tensor + "': checksum mismatch") == 0);
        CHECK(message.find("cannot be resumed from") != std::string::npos);
    }
    // An edited metadata value of the same length (the step 4 → 5) keeps the file parseable.
    sd_test::temp_dir dir("sd_integrity_meta");
    const auto file = trained_checkpoint(dir.path, 4);
    std::string bytes = sd_test::read_file(file);
    const auto at = bytes.find("\"step\":\"4\"");
    REQUIRE(at != std::string::npos);
    bytes[at + 8] = '5';
    sd_test::write_file(file, bytes);
    CHECK(sd_test::thrown_message([&] { sd::read_checkpoint<float>(file); }).find(file.string() + ": __metadata__: checksum mismatch") == 0);
}

TEST_CASE("a sealed checkpoint whose data position or token count disagrees with its step is refused") {
    sd_test::temp_dir dir("sd_integrity_position");
    const auto file = trained_checkpoint(dir.path, 4);
    const sd::checkpoint_data<float> good = sd::read_checkpoint<float>(file);
    CHECK(good.source_rows_at_start == 0);
    CHECK(good.source_position == nlohmann::json{{"position", 4 * rows_per_batch}});

    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(dim, 24, sd::activation::gelu, 5));
    auto load = [&](const sd::checkpoint_data<float>& data) {
        const auto edited = dir / "edited.safetensors";
        sd::write_checkpoint(edited, data);  // a correct checksum: only the cross-check can catch it
        sd::student_mlp<float> student(student_config(), 3);
        sd::data::gaussian_source<float> source(dim, 9);
        sd::trainer<float> trainer(student, teacher, settings(4, dir.path));
        return sd_test::thrown_message([&] { trainer.load_checkpoint(edited, source); });
    };
    // The same state loads.
    CHECK(load(good) == "<nothing thrown>");
    for (const std::uint64_t position : {std::uint64_t(0), std::uint64_t(4 * rows_per_batch + 1), ~std::uint64_t(0) / 2}) {
        CAPTURE(position);
        sd::checkpoint_data<float> moved = good;
        moved.source_position = {{"position", position}};
        CHECK(load(moved).find("source_position: the source stands at row " + std::to_string(position) +
                               ", but starting at row 0 and trained on 64 tokens (step 4) it should stand at row 64") !=
              std::string::npos);
    }
    sd::checkpoint_data<float> more_tokens = good;
    more_tokens.tokens_seen += 1;
    CHECK(load(more_tokens).find("__metadata__ 'tokens_seen': expected step 4 × batch 16 tokens, found 65") != std::string::npos);
    sd::checkpoint_data<float> no_start = good;
    no_start.source_rows_at_start = -1;
    CHECK(load(no_start).find("__metadata__ 'source_rows_at_start': missing") != std::string::npos);
}

TEST_CASE("a finished run resumed again trains nothing and says so") {
    sd_test::temp_dir dir("sd_integrity_finished");
    const auto file = trained_checkpoint(dir.path, 3);
    const std::string before = sd_test::read_file(file);
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(dim, 24, sd::activation::gelu, 5));
    sd::student_mlp<float> student(student_config(), 3);
    sd::data::gaussian_source<float> source(dim, 9);
    sd::train_settings s = settings(3, dir.path);
    s.checkpoint.resume = true;
    sd::trainer<float> trainer(student, teacher, s);
    struct count_steps {
        int calls = 0;
        void on_step(const sd::step_report<float, sd::backend::cpu>&) { ++calls; }
    } counter;
    const sd::train_summary summary = trainer.run(source, counter);
    CHECK(summary.already_finished);
    CHECK(summary.steps == 3);
    CHECK(counter.calls == 0);
    CHECK(sd_test::read_file(file) == before);  // the checkpoint is not rewritten
    // A run stopped with steps left is not "already finished" when resumed.
    sd_test::temp_dir stopped_dir("sd_integrity_stopped");
    {
        sd::student_mlp<float> first(student_config(), 3);
        sd::trainer<float> stopped(first, teacher, settings(5, stopped_dir.path));
        struct stop_at_2 {
            int calls = 0;
            void on_step(const sd::step_report<float, sd::backend::cpu>&) { ++calls; }
            bool should_stop() const { return calls >= 2; }
        } stop;
        sd::data::gaussian_source<float> first_source(dim, 9);
        CHECK(stopped.run(first_source, stop).steps == 2);
    }
    sd::student_mlp<float> other(student_config(), 3);
    sd::train_settings rest = settings(5, stopped_dir.path);
    rest.checkpoint.resume = true;
    sd::trainer<float> resumed(other, teacher, rest);
    sd::data::gaussian_source<float> source2(dim, 9);
    const sd::train_summary finished = resumed.run(source2);
    CHECK_FALSE(finished.already_finished);
    CHECK(finished.steps == 5);
}

TEST_CASE("an unwritable checkpoint directory fails before the first step, naming the directory given") {
    sd_test::temp_dir dir("sd_integrity_unwritable");
    sd_test::write_file(dir / "a_file", "in the way");
    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(dim, 24, sd::activation::gelu, 5));
    sd::student_mlp<float> student(student_config(), 3);
    const std::vector<float> initial(student.parameters(), student.parameters() + student.parameter_count());
    sd::data::gaussian_source<float> source(dim, 9);
    const auto target = dir / "a_file" / "checkpoints";
    sd::trainer<float> trainer(student, teacher, settings(50, target));
    const std::string message = sd_test::thrown_message([&] { trainer.run(source); });
    CHECK(message.find(target.string() + ": checkpoint directory: cannot create") == 0);
    CHECK(trainer.steps_done() == 0);
    CHECK(std::equal(initial.begin(), initial.end(), student.parameters()));
}

}  // namespace train_checkpoint_integrity_test
