// Text to windows: passages at blank lines, one document per part, fixed windows, the held-out
// split, on a tiny tokenizer whose encodings are known.
#include "lm_test_files.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace lm = sparse_distill::lm;
using ids = std::vector<int>;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace lm_text_windows_test {

lm::tokenizer tiny_tokenizer() {
    sd_test::temp_dir dir("sd_test_lm_windows");
    sd_test::write_file(dir / "tiny_tok.bin", sd_test::tiny_tokenizer_bytes());
    return lm::tokenizer::read(dir / "tiny_tok.bin");
}


TEST_CASE("split_passages splits at blank lines and keeps single newlines") {
    CHECK(lm::split_passages("one\ntwo\n\n  \t\nthree\r\n\r\nfour  \n\n\n") ==
          std::vector<std::string>{"one\ntwo", "three", "four"});
    CHECK(lm::split_passages("\n\n  only  ") == std::vector<std::string>{"only"});
    CHECK(lm::split_passages("").empty());
    CHECK(lm::split_passages(" \n \n").empty());
}

TEST_CASE("token_windows cuts non-overlapping windows and drops the short tail") {
    const ids stream{1, 2, 3, 4, 5, 6, 7};
    CHECK(lm::token_windows(stream, 3) == std::vector<ids>{{1, 2, 3}, {4, 5, 6}});
    CHECK(lm::token_windows(stream, 7) == std::vector<ids>{stream});
    CHECK(lm::token_windows(stream, 8).empty());
    CHECK_THROWS_AS((void)lm::token_windows(stream, 0), std::invalid_argument);
}

TEST_CASE("make_text_windows holds out the last passages, each part one document with one BOS") {
    const auto tok = tiny_tokenizer();
    using namespace sd_test;
    // 5 passages; 0.4 holds out the last 2.
    const std::string text = "ab\n\nab\n\nab\n\nbb\n\nbb\n";
    const lm::text_windows w = lm::make_text_windows(tok, text, 2, 0.4);
    CHECK(w.train_passages == 3);
    CHECK(w.held_out_passages == 2);
    // "ab\nab\nab": BOS " " "ab" <0x0A> "ab" <0x0A> "ab" (a newline is a byte token here).
    const int newline = '\n' + lm::tokenizer::first_byte_token;
    CHECK(lm::encode_passages(tok, {"ab", "ab", "ab"}) == ids{1, tiny_space, tiny_ab, newline, tiny_ab, newline, tiny_ab});
    CHECK(w.train_tokens == 7);
    CHECK(w.train == std::vector<ids>{{1, tiny_space}, {tiny_ab, newline}, {tiny_ab, newline}});
    // "bb\nbb": BOS " " "bb" <0x0A> "bb".
    CHECK(w.held_out_tokens == 5);
    CHECK(w.held_out == std::vector<ids>{{1, tiny_space}, {tiny_bb, newline}});

    CHECK(lm::make_text_windows(tok, text, 2, 0.0).held_out.empty());
    CHECK(lm::make_text_windows(tok, text, 2, 1.0).train.empty());
    CHECK(lm::make_text_windows(tok, text, 2, 0.1).held_out_passages == 1);  // round(0.5) = 1
    CHECK(lm::encode_passages(tok, {}).empty());
    CHECK_THROWS_AS((void)lm::make_text_windows(tok, text, 2, 1.5), std::invalid_argument);
    CHECK_THROWS_AS((void)lm::make_text_windows(tok, text, 2, -0.1), std::invalid_argument);
    CHECK_THROWS_AS((void)lm::make_text_windows(tok, text, 0, 0.1), std::invalid_argument);
}

}  // namespace lm_text_windows_test
