// llama2.c v0 checkpoints: a tiny model written byte by byte reads back exactly (shared and
// separate classifier), hostile files give io_error naming the file and the field, and the
// project's stories260K reads with the configuration its model card states.
#include "lm_test_files.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

namespace lm = sparse_distill::lm;
namespace io = sparse_distill::io;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace lm_checkpoint_test {

struct temp_dir : sd_test::temp_dir {
    temp_dir() : sd_test::temp_dir("sd_test_lm_checkpoint") {}
};

// Writes `bytes`, reads them as a checkpoint and expects an io_error whose message contains the
// file name and every one of `parts`.
void check_rejected(const std::string& bytes, std::initializer_list<std::string> parts) {
    temp_dir dir;
    const auto path = dir / "model.bin";
    sd_test::write_file(path, bytes);
    std::string message = "<no io_error thrown>";
    try {
        (void)lm::read_llama2c_checkpoint(path);
    } catch (const io::io_error& error) {
        message = error.what();
    }
    INFO(message);
    CHECK(message.find(path.string()) != std::string::npos);
    for (const auto& part : parts) CHECK(message.find(part) != std::string::npos);
}

std::string with_header_value(std::string bytes, int index, std::int32_t value) {
    const std::string replacement = sd_test::le_bytes(static_cast<std::uint32_t>(value), 4);
    bytes.replace(static_cast<std::size_t>(4 * index), 4, replacement);
    return bytes;
}

void check_equal(const lm::llama_weights& a, const lm::llama_weights& b) {
    CHECK(a.config.describe() == b.config.describe());
    CHECK(a.token_embedding == b.token_embedding);
    CHECK(a.rms_final == b.rms_final);
    CHECK(a.classifier == b.classifier);
    REQUIRE(a.layers.size() == b.layers.size());
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
        const auto &x = a.layers[l], &y = b.layers[l];
        CHECK(x.rms_att == y.rms_att);
        CHECK(x.rms_ffn == y.rms_ffn);
        CHECK(x.wq == y.wq);
        CHECK(x.wk == y.wk);
        CHECK(x.wv == y.wv);
        CHECK(x.wo == y.wo);
        CHECK(x.w1 == y.w1);
        CHECK(x.w2 == y.w2);
        CHECK(x.w3 == y.w3);
    }
}


TEST_CASE("read_llama2c_checkpoint reads back a tiny model, shared and separate classifier") {
    for (const bool shared : {true, false}) {
        CAPTURE(shared);
        const auto weights = sd_test::random_weights(sd_test::tiny_config(shared));
        temp_dir dir;
        sd_test::write_file(dir / "tiny.bin", sd_test::checkpoint_bytes(weights));
        const auto read = lm::read_llama2c_checkpoint(dir / "tiny.bin");
        check_equal(read, weights);
        CHECK(read.config.shared_classifier == shared);
        CHECK(read.config.head_size() == 4);
        CHECK(read.config.kv_dim() == 8);
        CHECK(&read.output_classifier() == (shared ? &read.token_embedding : &read.classifier));
    }
}

TEST_CASE("read_llama2c_checkpoint rejects hostile headers with the field named") {
    const std::string good = sd_test::checkpoint_bytes(sd_test::random_weights(sd_test::tiny_config()));
    check_rejected(good.substr(0, 10), {"header", "28 bytes", "10"});
    check_rejected(with_header_value(good, 0, -16), {"dim", "positive", "-16"});
    check_rejected(with_header_value(good, 1, 0), {"hidden_dim", "positive"});
    check_rejected(with_header_value(good, 2, -1), {"n_layers", "positive"});
    check_rejected(with_header_value(good, 5, 0), {"vocab_size", "positive"});
    check_rejected(with_header_value(good, 5, std::numeric_limits<std::int32_t>::min()), {"vocab_size"});
    check_rejected(with_header_value(good, 6, -3), {"seq_len", "positive"});
    check_rejected(with_header_value(good, 3, 5), {"n_heads", "divisor of dim = 16", "5"});
    check_rejected(with_header_value(good, 4, 3), {"n_kv_heads", "divisor of n_heads = 4", "3"});
    // dim 16 over 8 heads gives head size 2 (fine); over 16 heads head size 1, which RoPE cannot pair.
    check_rejected(with_header_value(with_header_value(good, 3, 16), 4, 16), {"n_heads", "even", "= 1"});
    // Sizes whose byte count overflows 64 bits must be an error, not a wrapped size.
    std::string huge = sd_test::header_bytes(1 << 30, 1 << 30, 1 << 30, 1 << 29, 1 << 29, 7, 12);
    check_rejected(huge, {"header", "overflow"});
}

TEST_CASE("read_llama2c_checkpoint rejects files whose size disagrees with the header") {
    const std::string good = sd_test::checkpoint_bytes(sd_test::random_weights(sd_test::tiny_config()));
    // Cut inside the last array, inside the first one, and just after the header.
    check_rejected(good.substr(0, good.size() - 4), {"freq_cis_imag", "truncated", std::to_string(good.size())});
    check_rejected(good.substr(0, 28 + 100), {"token_embedding", "truncated"});
    check_rejected(good.substr(0, 28), {"token_embedding", "truncated"});
    check_rejected(good + "xxxx", {"file size", "expected exactly " + std::to_string(good.size()), "4 bytes too many"});
    // A header describing a bigger model than the file holds.
    check_rejected(with_header_value(good, 1, 25), {"truncated", "hidden_dim 25"});
    // A header describing a smaller model than the file holds.
    check_rejected(with_header_value(good, 1, 23), {"file size", "too many"});
    // The sign of vocab_size says a classifier follows; without one the file is short.
    check_rejected(with_header_value(good, 5, -7), {"classifier", "truncated"});
}

TEST_CASE("read_llama2c_checkpoint rejects non-finite weights and another RoPE theta") {
    const auto weights = sd_test::random_weights(sd_test::tiny_config());
    auto poisoned = weights;
    poisoned.layers[1].wq(2, 3) = std::numeric_limits<float>::quiet_NaN();
    check_rejected(sd_test::checkpoint_bytes(poisoned), {"wq", "layer 1", "(2, 3)", "finite"});
    poisoned = weights;
    poisoned.rms_final(5) = std::numeric_limits<float>::infinity();
    check_rejected(sd_test::checkpoint_bytes(poisoned), {"rms_final", "(0, 5)", "finite"});
    check_rejected(sd_test::checkpoint_bytes(weights, 500000.0), {"freq_cis", "theta 10000"});
}

TEST_CASE("read_llama2c_checkpoint names a missing file") {
    temp_dir dir;
    CHECK_THROWS_WITH_AS((void)lm::read_llama2c_checkpoint(dir / "absent.bin"),
                         doctest::Contains("absent.bin: file: does not exist"), io::io_error);
}

TEST_CASE("llama_weights::validate rejects shapes that disagree with the config") {
    auto weights = sd_test::random_weights(sd_test::tiny_config());
    CHECK_NOTHROW(weights.validate());
    weights.layers[1].w2.resize(24, 16);
    CHECK_THROWS_WITH_AS(weights.validate(), doctest::Contains("layer 1: w2 is [24, 16], expected [16, 24]"),
                         std::invalid_argument);
    weights = sd_test::random_weights(sd_test::tiny_config());
    weights.layers.pop_back();
    CHECK_THROWS_WITH_AS(weights.validate(), doctest::Contains("n_layers = 2"), std::invalid_argument);
    weights = sd_test::random_weights(sd_test::tiny_config());
    weights.config.n_kv_heads = 3;
    CHECK_THROWS_WITH_AS(weights.validate(), doctest::Contains("n_kv_heads"), std::invalid_argument);
}

TEST_CASE("shared data: stories260K reads with the configuration of its model card") {
    SD_REQUIRE_SHARED_DATA("stories260K/stories260K.bin");
    const auto weights = lm::read_llama2c_checkpoint(sd_test::shared_data_dir() / "stories260K/stories260K.bin");
    const auto& c = weights.config;
    CHECK(c.dim == 64);
    CHECK(c.hidden_dim == 172);
    CHECK(c.n_layers == 5);
    CHECK(c.n_heads == 8);
    CHECK(c.n_kv_heads == 4);
    CHECK(c.vocab_size == 512);
    CHECK(c.seq_len == 512);
    CHECK(c.shared_classifier);
    CHECK(c.head_size() == 8);
    CHECK(c.kv_dim() == 32);
    CHECK(weights.layers[4].w1.rows() == 172);
    CHECK(weights.layers[4].w2.cols() == 172);
    CHECK(weights.classifier.size() == 0);
}

}  // namespace lm_checkpoint_test
