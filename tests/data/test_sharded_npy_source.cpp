// sharded_npy_source: file order across shards, shuffled epochs that are permutations, targets and
// token ids aligned with their inputs, position save/restore, end of data, bad shards named, NaN
// rows named, and training through the trainer.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "support/temp_files.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>
#include "support/thrown_message.hpp"

namespace sd = sparse_distill;
namespace io = sparse_distill::io;
namespace fs = std::filesystem;

static_assert(sd::source_of_inputs<sd::data::sharded_npy_source<float>, float>);
static_assert(!sd::source_with_targets<sd::data::sharded_npy_source<float>, float>);
static_assert(sd::source_with_targets<sd::data::sharded_npy_source<double, true>, double>);
static_assert(!sd::source_of_inputs<sd::data::sharded_npy_source<double, true>, double>);
static_assert(sd::resumable_source<sd::data::sharded_npy_source<float>>);
static_assert(sd::source_describing_rows<sd::data::sharded_npy_source<double, true>>);

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace data_sharded_npy_source_test {

// Global row g of the data: inputs x(g, c) = g + c/8, targets y(g, c) = −2g − c/4, token 1000 + g.
// Every value is exact in f2, f4 and f8, so any dtype mix reads back exactly.
constexpr int d = 3, d_out = 2;
const std::vector<std::int64_t> shard_rows{7, 0, 11, 5};  // 23 rows; shard 1 is empty
constexpr std::uint64_t total_rows = 23;

double input_value(std::int64_t g, int c) { return static_cast<double>(g) + c / 8.0; }
double target_value(std::int64_t g, int c) { return -2.0 * static_cast<double>(g) - c / 4.0; }

struct shard_set {
    sd_test::temp_dir dir{"sd_test_shards"};
    sd::data::npy_shards files;

    shard_set() {
        const io::dtype input_types[] = {io::dtype::f32, io::dtype::f64, io::dtype::f16, io::dtype::f64};
        const io::dtype token_types[] = {io::dtype::i64, io::dtype::i32, io::dtype::i64, io::dtype::i32};
        std::int64_t first = 0;
        for (std::size_t s = 0; s < shard_rows.size(); ++s) {
            const std::int64_t rows = shard_rows[s];
            std::vector<double> x, y, t;
            for (std::int64_t g = first; g < first + rows; ++g) {
                for (int c = 0; c < d; ++c) x.push_back(input_value(g, c));
                for (int c = 0; c < d_out; ++c) y.push_back(target_value(g, c));
                t.push_back(static_cast<double>(1000 + g));
            }
            const std::string n = std::to_string(s);
            files.inputs.push_back(dir / ("acts_" + n + ".npy"));
            files.targets.push_back(dir / ("targets_" + n + ".npy"));
            files.tokens.push_back(dir / ("tokens_" + n + ".npy"));
            io::write_npy(files.inputs.back(), io::from_values<double>({rows, d}, input_types[s], x));
            io::write_npy(files.targets.back(), io::from_values<double>({rows, d_out}, io::dtype::f64, y));
            io::write_npy(files.tokens.back(), io::from_values<double>({rows}, token_types[s], t));
            first += rows;
        }
    }

    sd::data::npy_shards inputs_only() const { return {files.inputs, {}, {}}; }
};

// The global row a batch row holds, checking that every value of the row belongs to that row.
std::int64_t row_id(const sd::matrix<double>& x, sd::index_t r) {
    const auto g = static_cast<std::int64_t>(std::lround(x(r, 0)));
    for (int c = 0; c < d; ++c) REQUIRE(x(r, c) == input_value(g, c));
    return g;
}

std::vector<std::int64_t> ids_of(const sd::matrix<double>& x) {
    std::vector<std::int64_t> ids;
    for (sd::index_t r = 0; r < x.rows(); ++r) ids.push_back(row_id(x, r));
    return ids;
}

std::vector<std::int64_t> iota_ids(std::int64_t n) {
    std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
    std::iota(ids.begin(), ids.end(), 0);
    return ids;
}


TEST_CASE("sharded_npy_source without shuffle hands out rows in file order across shards, then wraps") {
    shard_set shards;
    sd::data::sharded_npy_source<double> source(shards.inputs_only(), {});
    CHECK(source.dim() == d);
    CHECK(source.rows_per_epoch() == total_rows);
    CHECK(source.shard_count() == 4);
    sd::matrix<double> x(4, d);
    std::vector<std::int64_t> seen;
    for (int batch = 0; batch < 8; ++batch) {
        REQUIRE(source.next_batch(x));
        const auto ids = ids_of(x);
        seen.insert(seen.end(), ids.begin(), ids.end());
        if (batch == 1) {
            // Rows 4..7: row 7 is the first row of shard 2 (shard 1 is empty).
            CHECK(source.describe_row(3) == shards.files.inputs[2].string() + " row 0");
            CHECK(source.describe_row(0) == shards.files.inputs[0].string() + " row 4");
            CHECK(source.position() == 8);
            const nlohmann::json saved = source.save_position();
            CHECK(saved.at("epoch") == 0);
            CHECK(saved.at("shard") == 2);
            CHECK(saved.at("row") == 1);
        }
        if (batch == 5) {
            CHECK(source.position() == 24);
            CHECK(source.save_position() == nlohmann::json{{"rows", 24}, {"epoch", 1}, {"shard", 0}, {"row", 1}, {"seed", 0},
                                                           {"shuffle_buffer", 0}, {"rows_per_epoch", 23}});
        }
    }
    std::vector<std::int64_t> expected = iota_ids(23);
    for (std::int64_t g = 0; g < 9; ++g) expected.push_back(g);
    CHECK(seen == expected);
    CHECK(source.last_tokens().empty());
    CHECK(source.describe_row(4) == "batch row 4");
}

TEST_CASE("sharded_npy_source shuffled: each epoch is a permutation of all rows, fixed by the seed") {
    shard_set shards;
    for (const sd::index_t buffer : {1, 6, 23, 100}) {
        CAPTURE(buffer);
        sd::data::sharded_npy_settings settings;
        settings.shuffle_buffer = buffer;
        settings.seed = 42;
        sd::data::sharded_npy_source<double> source(shards.inputs_only(), settings);
        sd::data::sharded_npy_source<double> same(shards.inputs_only(), settings);
        settings.seed = 43;
        sd::data::sharded_npy_source<double> other_seed(shards.inputs_only(), settings);
        sd::matrix<double> x(23, d), x_same(23, d), x_other(23, d);
        std::vector<std::vector<std::int64_t>> epochs;
        bool seed_changes_order = false;
        for (int epoch = 0; epoch < 3; ++epoch) {
            REQUIRE(source.next_batch(x));
            REQUIRE(same.next_batch(x_same));
            REQUIRE(other_seed.next_batch(x_other));
            CHECK(x == x_same);  // bit for bit
            seed_changes_order |= x != x_other;
            auto ids = ids_of(x);
            epochs.push_back(ids);
            std::sort(ids.begin(), ids.end());
            CHECK(ids == iota_ids(23));
            CHECK(source.position() == static_cast<std::uint64_t>(23 * (epoch + 1)));
            // The end of an epoch is saved as the start of the next.
            CHECK(source.save_position().at("epoch") == epoch + 1);
            CHECK(source.save_position().at("shard") == 0);
            CHECK(source.save_position().at("row") == 0);
        }
        if (buffer == 1) {
            CHECK(epochs[0] == iota_ids(23));  // blocks of one row: file order
        } else {
            CHECK(epochs[0] != iota_ids(23));
            CHECK(epochs[0] != epochs[1]);
            CHECK(epochs[1] != epochs[2]);
            CHECK(seed_changes_order);
        }
        if (buffer == 6) {
            // A buffer of 6 only mixes rows within windows of 6 consecutive rows.
            for (std::size_t k = 0; k < 23; ++k) CHECK(std::abs(epochs[0][k] - static_cast<std::int64_t>(k)) < 6);
        }
    }
}

TEST_CASE("sharded_npy_source with targets keeps targets and token ids with their inputs") {
    shard_set shards;
    sd::data::sharded_npy_settings settings;
    settings.shuffle_buffer = 8;
    settings.seed = 7;
    sd::data::sharded_npy_source<double, true> source(shards.files, settings);
    CHECK(source.target_dim() == d_out);
    sd::matrix<double> x(5, d), y(5, d_out);
    std::vector<std::int64_t> first_epoch;
    for (int batch = 0; batch < 12; ++batch) {  // 60 rows: two epochs and a bit
        REQUIRE(source.next_batch(x, y));
        REQUIRE(source.last_tokens().size() == 5);
        for (sd::index_t r = 0; r < 5; ++r) {
            const std::int64_t g = row_id(x, r);
            for (int c = 0; c < d_out; ++c) CHECK(y(r, c) == target_value(g, c));
            CHECK(source.last_tokens()[static_cast<std::size_t>(r)] == 1000 + g);
            if (first_epoch.size() < 23) first_epoch.push_back(g);
        }
    }
    std::sort(first_epoch.begin(), first_epoch.end());
    CHECK(first_epoch == iota_ids(23));
    sd::matrix<double> wrong(5, d_out + 1);
    CHECK(sd_test::thrown_message([&] { source.next_batch(x, wrong); }).find("target batch is [5, 3], expected [5, 2]") != std::string::npos);
}

TEST_CASE("sharded_npy_source position saved and restored continues bit-identically") {
    shard_set shards;
    sd::data::sharded_npy_settings settings;
    settings.shuffle_buffer = 6;
    settings.seed = 11;
    // Batches of 3 against blocks of 6 and 23 rows an epoch: the saved positions fall mid-block,
    // on block and shard boundaries, and in later epochs.
    for (const int before : {0, 1, 2, 3, 5, 7, 8, 15, 16, 23}) {
        CAPTURE(before);
        sd::data::sharded_npy_source<double, true> original(shards.files, settings);
        sd::matrix<double> x(3, d), y(3, d_out);
        for (int k = 0; k < before; ++k) REQUIRE(original.next_batch(x, y));
        const std::uint64_t saved = original.position();
        CHECK(saved == static_cast<std::uint64_t>(3 * before));
        // Through JSON text, as a checkpoint stores it.
        const auto saved_json = nlohmann::json::parse(original.save_position().dump());

        // A fresh source, and one that has read elsewhere first, both go back to the saved position.
        sd::data::sharded_npy_source<double, true> fresh(shards.files, settings);
        sd::data::sharded_npy_source<double, true> moved(shards.files, settings);
        for (int k = 0; k < 4; ++k) REQUIRE(moved.next_batch(x, y));
        fresh.seek(saved);
        moved.restore_position(saved_json);
        CHECK(fresh.position() == saved);
        CHECK(moved.save_position() == saved_json);
        sd::matrix<double> x2(3, d), y2(3, d_out), x3(3, d), y3(3, d_out);
        for (int k = 0; k < 12; ++k) {
            REQUIRE(original.next_batch(x, y));
            REQUIRE(fresh.next_batch(x2, y2));
            REQUIRE(moved.next_batch(x3, y3));
            CHECK(x == x2);
            CHECK(y == y2);
            CHECK(x == x3);
            CHECK(std::equal(original.last_tokens().begin(), original.last_tokens().end(), fresh.last_tokens().begin()));
            CHECK(original.describe_row(2) == fresh.describe_row(2));
        }
        CHECK(original.position() == fresh.position());
    }
    // A position saved under other settings or other shards is refused, naming what differs.
    sd::data::sharded_npy_source<double, true> source(shards.files, settings);
    nlohmann::json saved = source.save_position();
    saved["seed"] = 12;
    CHECK(sd_test::thrown_message([&] { source.restore_position(saved); }) == "sharded_npy_source: the saved position has seed 12, this source has 11");
    saved = source.save_position();
    saved["shuffle_buffer"] = 0;
    CHECK(sd_test::thrown_message([&] { source.restore_position(saved); }).find("has shuffle_buffer 0, this source has 6") != std::string::npos);
    saved = source.save_position();
    saved["rows_per_epoch"] = 24;
    CHECK(sd_test::thrown_message([&] { source.restore_position(saved); }).find("has rows_per_epoch 24, this source has 23") != std::string::npos);
    saved = source.save_position();
    saved.erase("rows");
    CHECK(sd_test::thrown_message([&] { source.restore_position(saved); }).find("no integer 'rows'") != std::string::npos);
    saved["rows"] = -3;
    CHECK(sd_test::thrown_message([&] { source.restore_position(saved); }).find("negative 'rows'") != std::string::npos);
    CHECK(sd_test::thrown_message([&] { source.restore_position(nlohmann::json(5)); }).find("no integer 'seed'") != std::string::npos);
}

TEST_CASE("sharded_npy_source without wrap stops at the end of the data, leaving the batch untouched") {
    shard_set shards;
    sd::data::sharded_npy_settings settings;
    settings.wrap = false;
    settings.shuffle_buffer = 5;
    sd::data::sharded_npy_source<double> source(shards.inputs_only(), settings);
    sd::matrix<double> x(10, d);
    std::vector<std::int64_t> seen;
    for (int k = 0; k < 2; ++k) {
        REQUIRE(source.next_batch(x));
        const auto ids = ids_of(x);
        seen.insert(seen.end(), ids.begin(), ids.end());
    }
    const sd::matrix<double> before = x;
    CHECK_FALSE(source.next_batch(x));  // 3 rows left, 10 asked
    CHECK(x == before);
    CHECK(source.position() == 20);
    CHECK_THROWS_AS(source.seek(24), std::out_of_range);
    source.seek(23);
    CHECK(source.save_position().at("shard") == 4);  // without wrap the end stays the end
    source.seek(20);
    sd::matrix<double> last(3, d);
    REQUIRE(source.next_batch(last));
    const auto ids = ids_of(last);
    seen.insert(seen.end(), ids.begin(), ids.end());
    std::sort(seen.begin(), seen.end());
    CHECK(seen == iota_ids(23));
    sd::matrix<double> one(1, d);
    CHECK_FALSE(source.next_batch(one));
    source.seek(23);  // the end stays the end after a restore
    CHECK_FALSE(source.next_batch(one));
    source.seek(22);
    CHECK(source.next_batch(one));
}

TEST_CASE("sharded_npy_source rejects mismatched shards, naming the shard") {
    shard_set shards;
    const auto& dir = shards.dir;
    auto write = [&](const std::string& name, std::vector<std::int64_t> shape, io::dtype type) {
        std::int64_t n = 1;
        for (const auto e : shape) n *= e;
        io::write_npy(dir / name, io::from_values<double>(std::move(shape), type, std::vector<double>(static_cast<std::size_t>(n), 1.0)));
        return dir / name;
    };
    auto inputs_with = [&](std::size_t s, const fs::path& path) {
        auto files = shards.inputs_only();
        files.inputs[s] = path;
        return files;
    };
    auto open_inputs = [&](const sd::data::npy_shards& files) { sd::data::sharded_npy_source<double> s(files, {}); };
    auto open_pairs = [&](const sd::data::npy_shards& files) { sd::data::sharded_npy_source<double, true> s(files, {}); };

    const auto wide = write("wide.npy", {11, 4}, io::dtype::f32);
    CHECK(sd_test::thrown_message([&] { open_inputs(inputs_with(2, wide)); }) ==
          wide.string() + ": shape: expected d = 3 columns like shard 0 (" + shards.files.inputs[0].string() +
              "), found [11, 4]");
    const auto integers = write("ints.npy", {11, 3}, io::dtype::i64);
    CHECK(sd_test::thrown_message([&] { open_inputs(inputs_with(2, integers)); }) ==
          integers.string() + ": descr: expected a floating-point input dtype (f2, f4 or f8), found i64");
    const auto flat = write("flat.npy", {11}, io::dtype::f32);
    CHECK(sd_test::thrown_message([&] { open_inputs(inputs_with(3, flat)); }) ==
          flat.string() + ": shape: expected a 2-D [rows, d] input array, found [11]");
    const auto no_columns = write("nocols.npy", {11, 0}, io::dtype::f32);
    CHECK(sd_test::thrown_message([&] { open_inputs(inputs_with(0, no_columns)); }).find(no_columns.string() + ": shape: expected at least one column") == 0);
    const auto truncated = dir / "truncated.npy";
    sd_test::write_file(truncated, sd_test::read_file(shards.files.inputs[3]).substr(0, 140));
    CHECK(sd_test::thrown_message([&] { open_inputs(inputs_with(3, truncated)); }).find(truncated.string() + ": data: expected 120 bytes") == 0);
    CHECK(sd_test::thrown_message([&] { open_inputs(inputs_with(1, dir / "gone.npy")); }) == (dir / "gone.npy").string() + ": file: does not exist");

    auto files = shards.files;
    files.targets[2] = write("short_targets.npy", {10, 2}, io::dtype::f64);
    CHECK(sd_test::thrown_message([&] { open_pairs(files); }) ==
          files.targets[2].string() + ": shape: expected 11 rows like its input shard " + shards.files.inputs[2].string() +
              ", found [10, 2]");
    files = shards.files;
    files.targets[3] = write("wide_targets.npy", {5, 3}, io::dtype::f64);
    CHECK(sd_test::thrown_message([&] { open_pairs(files); }).find(files.targets[3].string() + ": shape: expected d_out = 2 columns like shard 0") == 0);
    files = shards.files;
    files.tokens[0] = write("float_tokens.npy", {7}, io::dtype::f32);
    CHECK(sd_test::thrown_message([&] { open_pairs(files); }) ==
          files.tokens[0].string() + ": descr: expected integer token ids (i4 or i8), found f32");
    files = shards.files;
    files.tokens[0] = write("wide_tokens.npy", {7, 2}, io::dtype::i64);
    CHECK(sd_test::thrown_message([&] { open_pairs(files); }) ==
          files.tokens[0].string() + ": shape: expected token ids [rows] or [rows, 1], found [7, 2]");

    files = shards.files;
    files.targets.pop_back();
    CHECK(sd_test::thrown_message([&] { open_pairs(files); }) == "sharded_npy_source: 4 input shards but 3 target shards");
    CHECK(sd_test::thrown_message([&] { open_inputs(shards.files); }).find("target shards given to the inputs-only source") != std::string::npos);
    CHECK(sd_test::thrown_message([&] { open_pairs(shards.inputs_only()); }).find("needs target shards") != std::string::npos);
    CHECK(sd_test::thrown_message([&] { open_inputs({}); }) == "sharded_npy_source: no input shards");
    CHECK(sd_test::thrown_message([&] { open_inputs({{shards.files.inputs[1]}, {}, {}}); }) == shards.files.inputs[1].string() + ": shape: holds no rows; training needs at least one");

    sd::data::sharded_npy_source<double> source(shards.inputs_only(), {});
    sd::matrix<double> narrow(4, d - 1);
    CHECK(sd_test::thrown_message([&] { source.next_batch(narrow); }).find("batch has 2 columns, the shards have d = 3") != std::string::npos);
}

TEST_CASE("sharded_npy_source check_finite names the file and row of a NaN or an infinity") {
    shard_set shards;
    std::vector<double> x;
    for (std::int64_t g = 7; g < 18; ++g)
        for (int c = 0; c < d; ++c) x.push_back(input_value(g, c));
    x[4 * d + 1] = std::numeric_limits<double>::quiet_NaN();  // shard 2, row 4, column 1
    io::write_npy(shards.files.inputs[2], io::from_values<double>({11, d}, io::dtype::f64, x));

    sd::data::sharded_npy_settings settings;
    sd::matrix<double> batch(23, d);
    {
        sd::data::sharded_npy_source<double> unchecked(shards.inputs_only(), settings);
        REQUIRE(unchecked.next_batch(batch));
        CHECK(std::isnan(batch(11, 1)));
    }
    settings.check_finite = true;
    settings.shuffle_buffer = 4;
    sd::data::sharded_npy_source<double> checked(shards.inputs_only(), settings);
    CHECK(sd_test::thrown_message([&] { checked.next_batch(batch); }) ==
          shards.files.inputs[2].string() + ": row 4: column 1 is NaN; expected finite values");

    std::vector<double> y(5 * d_out, 0.5);
    y[3 * d_out] = -std::numeric_limits<double>::infinity();
    io::write_npy(shards.files.targets[3], io::from_values<double>({5, d_out}, io::dtype::f64, y));
    shards.files.inputs[2] = shards.files.inputs[0];  // a clean shard of 7 rows: 19 rows in all
    shards.files.targets[2] = shards.files.targets[0];
    shards.files.tokens[2] = shards.files.tokens[0];
    sd::data::sharded_npy_source<double, true> pairs(shards.files, settings);
    sd::matrix<double> bx(19, d), by(19, d_out);
    CHECK(sd_test::thrown_message([&] { pairs.next_batch(bx, by); }) ==
          shards.files.targets[3].string() + ": row 3: column 0 is infinite; expected finite values");
}

TEST_CASE("sharded_npy_source trains like the same rows in memory") {
    // Without shuffling the shards are the rows of one matrix in order: training on them must give
    // the very same student as a cycling matrix_source over that matrix.
    shard_set shards;
    sd::matrix<double> all(23, d);
    for (std::int64_t g = 0; g < 23; ++g)
        for (int c = 0; c < d; ++c) all(g, c) = input_value(g, c) / 10.0;
    // Rewrite the inputs scaled down so the small teacher stays in a sensible range.
    std::int64_t first = 0;
    for (std::size_t s = 0; s < shard_rows.size(); ++s) {
        io::write_npy(shards.files.inputs[s], io::from_matrix<double>(all.middleRows(first, shard_rows[s])));
        first += shard_rows[s];
    }
    sd::teacher_mlp<double> teacher(sd::random_mlp_weights<double>(d, 8, sd::activation::gelu, 5));
    sd::student_config config;
    config.d_in = config.d_out = d;
    config.d_sae = 12;
    sd::train_settings settings;
    settings.batch_size = 5;
    settings.tokens = 9 * 5;  // 45 rows: the data wraps once
    settings.schedule = {1e-2, 2, 0, 0.1};

    sd::student_mlp<double> from_shards(config, 3), from_memory(config, 3);
    sd::data::sharded_npy_source<double> shard_source(shards.inputs_only(), {});
    sd::data::matrix_source<double> memory_source(all, /*cycle=*/true);
    const auto a = sd::trainer<double>(from_shards, teacher, settings).run(shard_source);
    const auto b = sd::trainer<double>(from_memory, teacher, settings).run(memory_source);
    CHECK(a.steps == 9);
    CHECK(b.steps == 9);
    CHECK(from_shards.weights().w_enc == from_memory.weights().w_enc);
    CHECK(from_shards.weights().w_dec == from_memory.weights().w_dec);
    CHECK(shard_source.position() == 45);
    CHECK(shard_source.save_position().at("shard") == 3);  // row 45 − 23 = 22 is row 4 of shard 3
    CHECK(shard_source.save_position().at("row") == 4);

    // With targets it supplies its own and needs no teacher.
    sd::student_mlp<double> sae(config, 4);
    sd::data::sharded_npy_source<double, true> pairs(
        {shards.files.inputs, shards.files.inputs, {}}, sd::data::sharded_npy_settings{4, 1, true, true});
    CHECK(sd::trainer<double>(sae, settings).run(pairs).steps == 9);
}

TEST_CASE("sharded_npy_source takes its shard list from a file pattern") {
    shard_set shards;
    const auto inputs = io::expand_file_pattern((shards.dir / "acts_*.npy").string());
    CHECK(inputs == shards.files.inputs);
    sd::data::sharded_npy_source<float> source({inputs, {}, {}}, {});
    CHECK(source.rows_per_epoch() == total_rows);
    sd::matrix<float> x(2, d);
    REQUIRE(source.next_batch(x));
    CHECK(x(1, 2) == static_cast<float>(input_value(1, 2)));
}

TEST_CASE("sharded_npy_source cut into rank slices: the ranks' rows make up the unsliced batches, each rank reading only its own") {
    shard_set shards;
    for (const int ranks : {2, 3}) {
        for (const sd::index_t buffer : {0, 6}) {
            for (const bool wrap : {true, false}) {
                CAPTURE(ranks);
                CAPTURE(buffer);
                CAPTURE(wrap);
                constexpr sd::index_t batch = 5;
                sd::data::sharded_npy_settings settings;
                settings.shuffle_buffer = buffer;
                settings.seed = 7;
                settings.wrap = wrap;
                sd::data::sharded_npy_source<double, true> whole({shards.files.inputs, shards.files.targets, shards.files.tokens},
                                                                 settings);
                std::vector<sd::data::sharded_npy_source<double, true>> parts;
                for (int r = 0; r < ranks; ++r) {
                    settings.rank_slice = sd::comm::rank_rows::of(batch, r, ranks);
                    parts.emplace_back(sd::data::npy_shards{shards.files.inputs, shards.files.targets, shards.files.tokens}, settings);
                    CHECK(parts.back().rank_slice() == settings.rank_slice);
                }
                // Seek mid-stream once, as a resumed run does: the slices are counted from there.
                const int batches = wrap ? 12 : 4;
                for (int b = 0; b < batches; ++b) {
                    if (b == 2) {
                        whole.seek(11);
                        for (auto& part : parts) part.seek(11);
                    }
                    sd::matrix<double> x(batch, d), y(batch, d_out);
                    const bool more = whole.next_batch(x, y);
                    std::vector<std::int64_t> joined, tokens;
                    for (auto& part : parts) {
                        const sd::index_t rows = part.rank_slice().rows();
                        sd::matrix<double> px(rows, d), py(rows, d_out);
                        REQUIRE(part.next_batch(px, py) == more);
                        if (!more) continue;
                        for (sd::index_t r = 0; r < rows; ++r) {
                            joined.push_back(row_id(px, r));
                            CHECK(py(r, 1) == target_value(joined.back(), 1));
                            tokens.push_back(part.last_tokens()[static_cast<std::size_t>(r)]);
                        }
                        CHECK(part.position() == whole.position());
                    }
                    if (!more) break;
                    CHECK(joined == ids_of(x));
                    for (std::size_t r = 0; r < tokens.size(); ++r) CHECK(tokens[r] == 1000 + joined[r]);
                }
                // Without a shuffle buffer a block is read once, so the ranks together read each row handed out once.
                if (buffer == 0 && !wrap) {
                    std::uint64_t read = 0;
                    for (const auto& part : parts) read += part.rows_read();
                    CHECK(read <= whole.rows_read());
                    for (const auto& part : parts) CHECK(part.rows_read() < whole.rows_read());
                }
            }
        }
    }
    sd::data::sharded_npy_settings settings;
    settings.rank_slice = sd::comm::rank_rows{4, 3, 2};
    CHECK_THROWS_WITH_AS(sd::data::sharded_npy_source<double>(shards.inputs_only(), settings),
                         doctest::Contains("is not a part of the batch"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(sd::comm::rank_rows::of(2, 0, 3), doctest::Contains("cannot be split over 3 ranks"), std::invalid_argument);
}

}  // namespace data_sharded_npy_source_test
