// The llama2.c tokenizer: merges worked out by hand on a tiny vocabulary, byte fallback, decoding
// (byte tokens reassembled, the dummy-prefix space after BOS removed), hostile files, and the
// project's tok512 on real text.
#include "lm_test_files.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace lm = sparse_distill::lm;
namespace io = sparse_distill::io;
using ids = std::vector<int>;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace lm_tokenizer_test {

struct temp_dir : sd_test::temp_dir {
    temp_dir() : sd_test::temp_dir("sd_test_lm_tokenizer") {}
};

lm::tokenizer tiny_tokenizer() {
    temp_dir dir;
    sd_test::write_file(dir / "tiny_tok.bin", sd_test::tiny_tokenizer_bytes());
    return lm::tokenizer::read(dir / "tiny_tok.bin");
}

void check_rejected(const std::string& bytes, std::initializer_list<std::string> parts) {
    temp_dir dir;
    const auto path = dir / "tok.bin";
    sd_test::write_file(path, bytes);
    std::string message = "<no io_error thrown>";
    try {
        (void)lm::tokenizer::read(path);
    } catch (const io::io_error& error) {
        message = error.what();
    }
    INFO(message);
    CHECK(message.find(path.string()) != std::string::npos);
    for (const auto& part : parts) CHECK(message.find(part) != std::string::npos);
}

constexpr int byte_id(unsigned char byte) { return byte + lm::tokenizer::first_byte_token; }


TEST_CASE("tokenizer merges the highest-score pair first, leftmost on ties") {
    const auto tok = tiny_tokenizer();
    REQUIRE(tok.vocab_size() == sd_test::tiny_vocab);
    using namespace sd_test;
    // " ab": pairs " a" (−2) and "ab" (−1): "ab" wins; " ab" is no token.
    CHECK(tok.encode("ab") == ids{lm::tokenizer::bos, tiny_space, tiny_ab});
    // " abb": "bb" (−0.5) beats "ab" (−1) and " a" (−2); then " a" merges.
    CHECK(tok.encode("abb") == ids{lm::tokenizer::bos, tiny_space_a, tiny_bb});
    // " bbb": both "bb" pairs tie; the leftmost merges.
    CHECK(tok.encode("bbb") == ids{lm::tokenizer::bos, tiny_space, tiny_bb, tiny_b});
    CHECK(tok.encode("bbbb") == ids{lm::tokenizer::bos, tiny_space, tiny_bb, tiny_bb});
    // Flags, and the empty text (no dummy prefix).
    CHECK(tok.encode("a", false, true) == ids{tiny_space_a, lm::tokenizer::eos});
    CHECK(tok.encode("") == ids{lm::tokenizer::bos});
    CHECK(tok.encode("", false).empty());
}

TEST_CASE("tokenizer falls back to bytes for characters without a token") {
    const auto tok = tiny_tokenizer();
    using namespace sd_test;
    // "ü" is a token, "é" (C3 A9) is not, "c" neither; byte tokens never merge.
    CHECK(tok.encode("\xC3\xBC\xC3\xA9" "c") ==
          ids{lm::tokenizer::bos, tiny_space, tiny_u_umlaut, byte_id(0xC3), byte_id(0xA9), byte_id('c')});
    // Invalid UTF-8 still encodes, byte by byte. As in llama2.c a stray continuation byte joins the
    // character before it, so "a\x80" is one unknown character and 'a' falls back to its byte too.
    const std::string invalid = "a\x80\xE2\x82";
    CHECK(tok.encode(invalid) ==
          ids{lm::tokenizer::bos, tiny_space, byte_id('a'), byte_id(0x80), byte_id(0xE2), byte_id(0x82)});
    CHECK(tok.decode(tok.encode(invalid)) == invalid);
    // A NUL byte is a character like any other.
    CHECK(tok.encode(std::string("a\0b", 3)) == ids{lm::tokenizer::bos, tiny_space_a, byte_id(0), tiny_b});
}

TEST_CASE("tokenizer decodes byte tokens to bytes and drops the dummy prefix after BOS") {
    const auto tok = tiny_tokenizer();
    using namespace sd_test;
    for (const std::string text : {"ab", "abb", "bbb", "a b  a", "\xC3\xBC\xC3\xA9 x\n\ny", " leading space", "\x01\xFF"}) {
        CAPTURE(text);
        CHECK(tok.decode(tok.encode(text)) == text);
        CHECK(tok.decode(tok.encode(text, true, true)) == text);
    }
    // Without BOS the dummy prefix stays: llama2.c strips it only right after BOS.
    CHECK(tok.decode(tok.encode("ab", false)) == " ab");
    // A multi-byte character split over byte tokens comes back whole.
    CHECK(tok.decode({byte_id(0xE2), byte_id(0x82), byte_id(0xAC)}) == "\xE2\x82\xAC");
    CHECK(tok.piece(byte_id('Z')) == "Z");
    CHECK(tok.piece(lm::tokenizer::bos) == "<s>");
    CHECK(tok.piece(lm::tokenizer::eos) == "</s>");
    CHECK(tok.piece(tiny_space_a) == " a");
    CHECK(tok.raw_piece(lm::tokenizer::bos) == "\n<s>\n");
    CHECK(tok.score(tiny_bb) == -0.5f);
    CHECK_THROWS_AS((void)tok.piece(tiny_vocab), std::out_of_range);
    CHECK_THROWS_AS((void)tok.decode({-1}), std::out_of_range);
}

TEST_CASE("tokenizer::read rejects hostile files with the field named") {
    const std::string good = sd_test::tiny_tokenizer_bytes();
    check_rejected(good.substr(0, 2), {"max_token_length", "expected 4 bytes"});
    check_rejected(sd_test::le_bytes(0, 4) + good.substr(4), {"max_token_length", "positive", "0"});
    // Cut inside the last piece ("ü", 2 bytes) and inside the last record's length.
    check_rejected(good.substr(0, good.size() - 1), {"token 265 piece", "expected 2 bytes"});
    check_rejected(good.substr(0, good.size() - 7), {"token 265 score and length", "expected 8 bytes"});
    // A huge declared max_token_length is harmless: nothing is sized by it.
    {
        temp_dir dir;
        sd_test::write_file(dir / "tok.bin", sd_test::tiny_tokenizer_bytes(std::numeric_limits<std::int32_t>::max()));
        const auto tok = lm::tokenizer::read(dir / "tok.bin");
        CHECK(tok.encode("abb") == ids{lm::tokenizer::bos, sd_test::tiny_space_a, sd_test::tiny_bb});
    }
    // A piece longer than max_token_length says.
    check_rejected(sd_test::tiny_tokenizer_bytes(5), {"token 2 length", "1..5", "found 6"});
    // Too few tokens for byte fallback, and a byte token out of place.
    check_rejected(good.substr(0, 4 + 3 * 8 + 5 + 5 + 6 + 100 * 14), {"tokens", "at least 259", "found 103"});
    std::string swapped = good;
    const auto at = swapped.find("<0x41>");
    swapped.replace(at, 6, "<0x42>");
    check_rejected(swapped, {"token 68 piece", "<0x41>", "<0x42>"});
    std::string nan_score = good;
    nan_score.replace(4, 4, sd_test::float_bytes(std::numeric_limits<float>::quiet_NaN()));
    check_rejected(nan_score, {"token 0 score", "finite"});
    check_rejected(good.substr(0, 4) + sd_test::float_bytes(0) + sd_test::le_bytes(static_cast<std::uint32_t>(-3), 4),
                   {"token 0 length", "found -3"});
}

TEST_CASE("shared data: tok512 encodes and decodes TinyStories text") {
    SD_REQUIRE_SHARED_DATA("stories260K/tok512.bin");
    SD_REQUIRE_SHARED_DATA("tinystories/tinystories_train_head.txt");
    const auto tok = lm::tokenizer::read(sd_test::shared_data_dir() / "stories260K/tok512.bin");
    CHECK(tok.vocab_size() == 512);
    CHECK(tok.max_token_length() == 7);

    // BOS, " Once", " upon", " a", " time": each a whole-word piece with its leading space.
    const ids once = tok.encode("Once upon a time");
    CHECK(once == ids{1, 403, 407, 261, 378});
    CHECK(tok.piece(403) == " Once");
    CHECK(tok.piece(378) == " time");
    CHECK(tok.decode(once) == "Once upon a time");

    // Non-ASCII: no piece covers these characters, so they fall back to their UTF-8 bytes.
    const std::string unicode = "caf\xC3\xA9 \xE2\x80\x93 na\xC3\xAFve \xF0\x9F\x98\x80";  // café – naïve 😀
    const ids encoded = tok.encode(unicode);
    CHECK(encoded.front() == lm::tokenizer::bos);
    for (const int id : encoded) CHECK((id >= 0 && id < tok.vocab_size()));
    const ids emoji{byte_id(0xF0), byte_id(0x9F), byte_id(0x98), byte_id(0x80)};
    CHECK(std::search(encoded.begin(), encoded.end(), emoji.begin(), emoji.end()) != encoded.end());
    CHECK(tok.decode(encoded) == unicode);

    const std::string text = sd_test::read_file(sd_test::shared_data_dir() / "tinystories/tinystories_train_head.txt");
    const auto start = std::chrono::steady_clock::now();
    const ids all = tok.encode(text);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "tok512: " << text.size() << " bytes of TinyStories -> " << all.size() << " tokens in " << seconds
              << " s\n";
    // The merge loop must be O(n log n): the quadratic one takes minutes on this file.
    CHECK(seconds < 10.0);
    CHECK(all.front() == lm::tokenizer::bos);
    bool all_valid = true;
    for (std::size_t i = 1; i < all.size(); ++i) all_valid = all_valid && all[i] > lm::tokenizer::bos && all[i] < tok.vocab_size();
    CHECK(all_valid);  // nothing but the leading BOS is special
    CHECK(tok.decode(all) == text);
}

}  // namespace lm_tokenizer_test
