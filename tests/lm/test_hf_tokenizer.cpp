// Hugging Face tokenizer.json tokenizers: GPT-2's pre-tokenization pattern case by case, hand-made
// SentencePiece-style (Llama) and byte-level (GPT-2) files whose ids are worked out by hand, files
// that must be refused with the field named, and GPT-2's own tokenizer.json against the ids of
// GPT-2's reference encoder (shared data).
#include "lm_test_files.hpp"
#include "support/thrown_message.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace lm = sparse_distill::lm;
namespace io = sparse_distill::io;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace lm_test_hf_tokenizer_test {

using ids = std::vector<int>;
using json = nlohmann::json;

struct temp_dir : sd_test::temp_dir {
    temp_dir() : sd_test::temp_dir("sd_test_lm_hf_tokenizer") {}
};

// ---- GPT-2's pattern ------------------------------------------------------------------------------

std::vector<std::string> gpt2_pieces(std::string_view text) {
    std::vector<std::string> pieces;
    lm::detail::split_gpt2_pattern(text, [&](std::string_view piece) { pieces.emplace_back(piece); });
    return pieces;
}

TEST_CASE("GPT-2's pre-tokenization pattern, alternative by alternative") {
    using pieces = std::vector<std::string>;
    // Contractions: ASCII apostrophe and lower case only; otherwise the apostrophe is punctuation.
    CHECK(gpt2_pieces("it's we'll I'M") == pieces{"it", "'s", " we", "'ll", " I", "'", "M"});
    CHECK(gpt2_pieces("can't'd") == pieces{"can", "'t", "'d"});
    // One optional space, then a run of letters, numbers or other characters.
    CHECK(gpt2_pieces("Hello world 42!?") == pieces{"Hello", " world", " 42", "!?"});
    CHECK(gpt2_pieces("abc123def") == pieces{"abc", "123", "def"});
    CHECK(gpt2_pieces("na\xC3\xAFve \xE6\x9D\xB1\xE4\xBA\xAC") == pieces{"na\xC3\xAFve", " \xE6\x9D\xB1\xE4\xBA\xAC"});  // naïve 東京
    CHECK(gpt2_pieces("x \xE2\x85\xAB\xC2\xBD") == pieces{"x", " \xE2\x85\xAB\xC2\xBD"});  // Ⅻ½ are \p{N}
    // Whitespace: a run before a word leaves its last character to the word; at the end it stays whole.
    CHECK(gpt2_pieces("a   b") == pieces{"a", "  ", " b"});
    CHECK(gpt2_pieces("a\n\nb") == pieces{"a", "\n", "\n", "b"});
    CHECK(gpt2_pieces("a \n b") == pieces{"a", " \n", " b"});
    CHECK(gpt2_pieces("end   ") == pieces{"end", "   "});
    CHECK(gpt2_pieces(" ") == pieces{" "});
    CHECK(gpt2_pieces("\t!") == pieces{"\t", "!"});
    // U+00A0 and U+3000 are whitespace; U+200B ZERO WIDTH SPACE is not (it is "other").
    CHECK(gpt2_pieces("a\xC2\xA0\xC2\xA0z") == pieces{"a", "\xC2\xA0", "\xC2\xA0", "z"});
    CHECK(gpt2_pieces("a\xE2\x80\x8B" "b") == pieces{"a", "\xE2\x80\x8B", "b"});
    CHECK(gpt2_pieces("a \xE2\x80\x8B") == pieces{"a", " \xE2\x80\x8B"});
    // Malformed UTF-8 bytes are "other" characters, one byte each, and nothing is lost.
    CHECK(gpt2_pieces("a\xFF\x80 b") == pieces{"a", "\xFF\x80", " b"});
    CHECK(gpt2_pieces("").empty());
}

// ---- A tiny Llama-style (SentencePiece BPE with byte fallback) tokenizer.json ---------------------

// ids: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, then the pieces below.
constexpr int space = 259, a = 260, b = 261, c = 262, ab = 263, bc = 264, space_a = 265, space_ab = 266, u_umlaut = 267,
              space_space = 268, vocab = 269;
constexpr int byte_id(unsigned char byte) { return 3 + byte; }
const std::string meta = "\xE2\x96\x81";  // ▁

json llama_vocab() {
    json v = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
    for (int byte = 0; byte < 256; ++byte) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", byte);
        v[piece] = byte_id(static_cast<unsigned char>(byte));
    }
    v[meta] = space, v["a"] = a, v["b"] = b, v["c"] = c, v["ab"] = ab, v["bc"] = bc;
    v[meta + "a"] = space_a, v[meta + "ab"] = space_ab, v["\xC3\xBC"] = u_umlaut, v[meta + meta] = space_space;
    return v;
}

enum class metaspace_from { normalizer, pre_tokenizer };

// Merge ranks: 0 "b c", 1 "a b", 2 "▁ a", 3 "▁ ab", 4 "▁ ▁". The merged ids are not in rank order
// ("ab" 263 < "bc" 264), so a pair ranked by its merged token's id would come out differently.
// Strings and [a, b] pairs mixed: both forms are read.
json llama_tokenizer_json(metaspace_from from, bool split = false) {
    json merges = json::array({"b c", json::array({"a", "b"}), meta + " a", json::array({meta, "ab"}), meta + " " + meta});
    json t = {
        {"version", "1.0"},
        {"truncation", nullptr},
        {"padding", nullptr},
        {"added_tokens",
         json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                      {{"id", 1}, {"content", "<s>"}, {"special", true}},
                      {{"id", 2}, {"content", "</s>"}, {"special", true}}})},
        {"normalizer", nullptr},
        {"pre_tokenizer", nullptr},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
          {"pair", json::array()},
          {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
        {"decoder",
         {{"type", "Sequence"},
          {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", meta}}}, {"content", " "}},
                                    {{"type", "ByteFallback"}},
                                    {{"type", "Fuse"}},
                                    {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
        {"model",
         {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", "<unk>"},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", true},
          {"byte_fallback", true},
          {"vocab", llama_vocab()},
          {"merges", merges}}},
    };
    if (from == metaspace_from::normalizer) {
        t["normalizer"] = {{"type", "Sequence"},
                           {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", meta}},
                                                        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", meta}}})}};
    } else {
        t["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", meta}, {"prepend_scheme", "first"}, {"split", split}};
    }
    return t;
}

lm::hf_tokenizer read_json(const json& tokenizer_json) {
    temp_dir dir;
    sd_test::write_file(dir / "tokenizer.json", tokenizer_json.dump());
    return lm::hf_tokenizer::read(dir / "tokenizer.json");
}

TEST_CASE("hf_tokenizer, SentencePiece-style: merges by pair rank, byte fallback, both ways of writing ▁") {
    for (const metaspace_from from : {metaspace_from::normalizer, metaspace_from::pre_tokenizer}) {
        CAPTURE(from == metaspace_from::normalizer ? "normalizer Prepend/Replace" : "pre_tokenizer Metaspace");
        const auto tok = read_json(llama_tokenizer_json(from));
        CHECK(tok.kind() == lm::hf_tokenizer_kind::sentencepiece_bpe);
        CHECK(tok.vocab_size() == vocab);
        CHECK(tok.document_start_token() == 1);

        // "▁ab": pairs "▁ a" (rank 2) and "a b" (1): "a b" first, then "▁ ab" (3).
        CHECK(tok.encode("ab") == ids{space_ab});
        // "▁abc": "b c" (0) beats "a b" (1) although "ab" has the lower id; then "▁ a".
        CHECK(tok.encode("abc") == ids{space_a, bc});
        // "▁bca": only "b c" merges.
        CHECK(tok.encode("bca") == ids{space, bc, a});
        // Spaces are "▁"; "▁ ▁" (4) merges inside the text.
        CHECK(tok.encode("a b") == ids{space_a, space, b});
        CHECK(tok.encode("a  b") == ids{space_a, space_space, b});
        // "ü" is a piece; "é" (C3 A9) and "🙂" are not, so they become their UTF-8 bytes.
        CHECK(tok.encode("\xC3\xBC" "a") == ids{space, u_umlaut, a});
        CHECK(tok.encode("a\xC3\xA9") == ids{space_a, byte_id(0xC3), byte_id(0xA9)});
        CHECK(tok.encode("\xF0\x9F\x99\x82") == ids{space, byte_id(0xF0), byte_id(0x9F), byte_id(0x99), byte_id(0x82)});
        // Malformed UTF-8 falls back byte by byte; special tokens in text are text.
        CHECK(tok.encode("\xFF") == ids{space, byte_id(0xFF)});
        CHECK(tok.encode("<s>") == ids{space, byte_id('<'), byte_id('s'), byte_id('>')});
        CHECK(tok.encode("").empty());

        for (const std::string text : {"ab", "abc", "bca", "a  b", "a\xC3\xA9 \xC3\xBC", "\xF0\x9F\x99\x82!", "x\ny ", "\xFF\x80"}) {
            CAPTURE(text);
            CHECK(tok.decode(tok.encode(text)) == text);
        }
        // Special tokens decode as their text; a character split over byte tokens comes back whole.
        CHECK(tok.decode({1, space_ab}) == "<s> ab");
        CHECK(tok.decode({space, byte_id(0xE2), byte_id(0x82), byte_id(0xAC)}) == "\xE2\x82\xAC");
        CHECK(tok.piece(space_ab) == " ab");
        CHECK(tok.piece(byte_id('Z')) == "Z");
        CHECK(tok.piece(1) == "<s>");
        CHECK_THROWS_AS((void)tok.piece(vocab), std::out_of_range);
        CHECK_THROWS_AS((void)tok.decode({-1}), std::out_of_range);
    }
}

TEST_CASE("hf_tokenizer, SentencePiece-style: a text that starts with a space, as each variant has it") {
    // Prepend always adds "▁": "▁▁a", and decoding strips only that one.
    const auto prepend = read_json(llama_tokenizer_json(metaspace_from::normalizer));
    CHECK(prepend.encode(" a") == ids{space, space_a});
    CHECK(prepend.decode(prepend.encode(" a")) == " a");
    // Metaspace prepends only where the text does not start with "▁" already (Hugging Face's
    // behaviour): " a" and "a" are the same tokens, and the space does not come back.
    const auto metaspace = read_json(llama_tokenizer_json(metaspace_from::pre_tokenizer));
    CHECK(metaspace.encode(" a") == ids{space_a});
    CHECK(metaspace.decode(metaspace.encode(" a")) == "a");
    // split: true starts a word at each "▁", so "▁ ▁" never merges.
    const auto split = read_json(llama_tokenizer_json(metaspace_from::pre_tokenizer, true));
    CHECK(split.encode("a  b") == ids{space_a, space, space, b});
    CHECK(split.decode(split.encode("a  b")) == "a  b");
}

TEST_CASE("hf_tokenizer: the document start token") {
    json t = llama_tokenizer_json(metaspace_from::normalizer);
    t["post_processor"] = nullptr;
    CHECK_FALSE(read_json(t).document_start_token().has_value());
    // Without a template prefix, an added "<|endoftext|>" separates documents.
    t["added_tokens"].push_back({{"id", vocab + 1}, {"content", "<|endoftext|>"}, {"special", true}});
    const auto tok = read_json(t);
    CHECK(tok.document_start_token() == vocab + 1);
    CHECK(tok.vocab_size() == vocab + 2);  // max id + 1: id 269 is a gap
    CHECK(tok.decode({vocab + 1}) == "<|endoftext|>");
    CHECK_THROWS_AS((void)tok.decode({vocab}), std::out_of_range);
    // A template in a Sequence of post-processors counts too.
    t["post_processor"] = {{"type", "Sequence"},
                           {"processors", json::array({{{"type", "ByteLevel"}}, llama_tokenizer_json(metaspace_from::normalizer)["post_processor"]})}};
    CHECK(read_json(t).document_start_token() == 1);
}

// ---- A tiny byte-level (GPT-2-style) tokenizer.json -----------------------------------------------

// GPT-2's alphabet, written out here independently of the library: printable Latin-1 bytes stand for
// themselves, the other 68 for U+0100.. in byte order.
std::string byte_level_key(unsigned byte) {
    static const std::vector<unsigned> stand_in = [] {
        std::vector<unsigned> t(256);
        unsigned next = 0x100;
        for (unsigned x = 0; x < 256; ++x) {
            const bool printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            t[x] = printable ? x : next++;
        }
        return t;
    }();
    const unsigned cp = stand_in[byte];
    std::string key;
    if (cp < 0x80) {
        key += static_cast<char>(cp);
    } else {
        key += static_cast<char>(0xC0 | (cp >> 6));
        key += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return key;
}

// ids: byte b is id b; then 256 "Ġt", 257 "he", 258 "Ġthe", 259 "<|endoftext|>" (added, special).
constexpr int g_space_t = 256, g_he = 257, g_space_the = 258, g_end_of_text = 259;

json byte_level_tokenizer_json(bool add_prefix_space, bool digits = false) {
    json v = json::object();
    for (unsigned byte = 0; byte < 256; ++byte) v[byte_level_key(byte)] = static_cast<int>(byte);
    const std::string g = byte_level_key(' ');  // "Ġ"
    v[g + "t"] = g_space_t, v["he"] = g_he, v[g + "the"] = g_space_the, v["<|endoftext|>"] = g_end_of_text;
    json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"trim_offsets", true}, {"use_regex", true}};
    json pre_tokenizer = byte_level;
    if (digits)
        pre_tokenizer = {{"type", "Sequence"},
                         {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}}, byte_level})}};
    return {
        {"added_tokens", json::array({{{"id", g_end_of_text}, {"content", "<|endoftext|>"}, {"special", true}}})},
        {"normalizer", nullptr},
        {"pre_tokenizer", pre_tokenizer},
        {"post_processor", byte_level},
        {"decoder", byte_level},
        {"model",
         {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", ""},
          {"end_of_word_suffix", ""},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"vocab", v},
          {"merges", json::array({g + " t", "h e", g + "t he"})}}},
    };
}

TEST_CASE("hf_tokenizer, byte-level: bytes start as tokens, merges stay inside GPT-2's pieces") {
    const auto tok = read_json(byte_level_tokenizer_json(false));
    CHECK(tok.kind() == lm::hf_tokenizer_kind::byte_level_bpe);
    CHECK(tok.vocab_size() == 260);
    CHECK(tok.document_start_token() == g_end_of_text);
    // "the" is a piece without a space: "h e" merges, "t he" is no merge; " the" merges fully.
    CHECK(tok.encode("the the") == ids{'t', g_he, g_space_the});
    CHECK(tok.encode("the\n") == ids{'t', g_he, '\n'});
    // "<|endoftext|>" in text is text.
    CHECK(tok.encode("<|endoftext|>") == ids{'<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>'});
    CHECK(tok.decode({g_end_of_text}) == "<|endoftext|>");
    const std::string text = "the the\n\n  caf\xC3\xA9 \xE2\x80\x8B \xFF";
    CHECK(tok.decode(tok.encode(text)) == text);
    CHECK(tok.piece(g_space_the) == " the");
    CHECK(tok.piece(0xC3) == "\xC3");

    // add_prefix_space: a space before the text.
    const auto prefixed = read_json(byte_level_tokenizer_json(true));
    CHECK(prefixed.encode("the") == ids{g_space_the});
    CHECK(prefixed.encode(" the") == ids{g_space_the});
    CHECK(prefixed.decode(prefixed.encode("the")) == " the");  // as Hugging Face's ByteLevel decoder

    // Digits(individual_digits) before ByteLevel: every digit alone.
    const auto digits = read_json(byte_level_tokenizer_json(false, true));
    CHECK(digits.encode("a12") == ids{'a', '1', '2'});
}

// ---- Files that are refused ------------------------------------------------------------------------

// The io_error message of reading `content` as tokenizer.json; it must name the file.
std::string rejection(const std::string& content) {
    temp_dir dir;
    const auto path = dir / "tokenizer.json";
    sd_test::write_file(path, content);
    const std::string message = sd_test::thrown_message<io::io_error>([&] { (void)lm::hf_tokenizer::read(path); });
    CHECK(message.find(path.string() + ": ") == 0);
    return message.substr(std::min(message.size(), path.string().size() + 2));
}
std::string rejection(const json& tokenizer_json) { return rejection(tokenizer_json.dump()); }

TEST_CASE("hf_tokenizer::read refuses what it does not support, naming the file and the field") {
    const json llama = llama_tokenizer_json(metaspace_from::normalizer);
    const json gpt2 = byte_level_tokenizer_json(false);
    json t;

    t = llama;
    t["model"]["type"] = "WordPiece";
    CHECK(rejection(t) == "model.type: expected \"BPE\", found \"WordPiece\" (only BPE models are supported)");
    t["model"]["type"] = "Unigram";
    CHECK(rejection(t) == "model.type: expected \"BPE\", found \"Unigram\" (only BPE models are supported)");

    t = llama;
    t["model"]["merges"][1] = json::array({"a", "zz"});
    CHECK(rejection(t) == "model.merges[1]: expected tokens of model.vocab, found \"zz\", which is not one");
    t["model"]["merges"][1] = "a b c";
    CHECK(rejection(t) == "model.merges[1]: expected \"a b\" (two tokens and one space), found \"a b c\"");
    t["model"]["merges"][1] = 7;
    CHECK(rejection(t) == "model.merges[1]: expected \"a b\" or [\"a\", \"b\"], found 7");

    t = llama;
    t["model"]["vocab"]["b"] = a;  // "a" and "b" both id 260; the vocabulary is read in key order
    CHECK(rejection(t) == "model.vocab.b: expected an id of its own, found 260, the id of \"a\" too");
    t = llama;
    t["model"]["vocab"]["a"] = -1;
    CHECK(rejection(t) == "model.vocab.a: expected an integer in [0, 16777216), found -1");
    t = llama;
    t["model"]["vocab"].erase("<0x41>");
    CHECK(rejection(t) == "model.vocab: expected the token \"<0x41>\" for the byte <0x41> (model.byte_fallback is true), found none");
    t = llama;
    t["added_tokens"][1]["content"] = "<bos>";
    CHECK(rejection(t) == "added_tokens[1].content: expected \"<s>\", the token of model.vocab with id 1, found \"<bos>\"");

    t = llama;
    t["normalizer"] = {{"type", "NFKC"}};
    CHECK(rejection(t) == "normalizer.type: expected \"Sequence\", found \"NFKC\" (SentencePiece-style BPE: a Sequence of "
                          "Prepend(\"▁\") and Replace(\" \" → \"▁\"))");
    t = llama;
    t["normalizer"]["normalizers"][1]["content"] = "_";
    CHECK(rejection(t) == "normalizer.normalizers[1].content: expected \"▁\", found \"_\"");
    t = llama_tokenizer_json(metaspace_from::pre_tokenizer);
    t["pre_tokenizer"]["prepend_scheme"] = "sometimes";
    CHECK(rejection(t) == "pre_tokenizer.prepend_scheme: expected \"first\", \"always\" or \"never\", found \"sometimes\"");
    t = llama;
    t["decoder"]["decoders"].erase(1);
    CHECK(rejection(t) == "decoder.decoders: expected a ByteFallback step (model.byte_fallback is true), found none");

    t = gpt2;
    t["pre_tokenizer"] = {{"type", "Whitespace"}};
    CHECK(rejection(t).starts_with("pre_tokenizer.type: expected \"ByteLevel\" or \"Sequence\", found \"Whitespace\""));
    t = gpt2;
    t["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", meta}};
    CHECK(rejection(t).find("model.byte_fallback true") != std::string::npos);
    t = gpt2;
    t["model"]["vocab"].erase(byte_level_key(' '));
    CHECK(rejection(t) == "model.vocab: expected the token \"Ġ\" for the byte <0x20> (byte-level BPE needs all 256), found none");
    t = gpt2;
    t["model"]["continuing_subword_prefix"] = "##";
    CHECK(rejection(t) == "model.continuing_subword_prefix: expected \"\" or null, found \"##\"");
    t = gpt2;
    t["model"].erase("merges");
    CHECK(rejection(t) == "model.merges: expected an array, found nothing (the key is missing)");

    // Not JSON, not an object, no model, no file: messages, never a crash.
    CHECK(rejection(std::string("{\"model\": ")).starts_with("file: expected JSON: "));
    CHECK(rejection(std::string("[1, 2]")) == "file: expected an object, found [1,2]");
    CHECK(rejection(std::string("{}")) == "model: expected an object, found nothing (the key is missing)");
    const std::string missing =
        sd_test::thrown_message<io::io_error>([] { (void)lm::hf_tokenizer::read("/nonexistent/tokenizer.json"); });
    CHECK(missing == "/nonexistent/tokenizer.json: file: does not exist");
}

// ---- GPT-2's own tokenizer.json (shared data) ------------------------------------------------------

TEST_CASE("shared data: GPT-2's tokenizer.json gives the reference encoder's ids for every text, and decodes them back") {
    SD_REQUIRE_SHARED_DATA("reference/gpt2_tokenizer/tokenizer.json");
    SD_REQUIRE_SHARED_DATA("reference/gpt2_tokenizer/encodings.json");
    const auto folder = sd_test::shared_data_dir() / "reference/gpt2_tokenizer";
    const auto tok = lm::hf_tokenizer::read(folder / "tokenizer.json");
    CHECK(tok.kind() == lm::hf_tokenizer_kind::byte_level_bpe);
    CHECK(tok.vocab_size() == 50257);
    CHECK(tok.document_start_token() == 50256);
    CHECK(tok.piece(50256) == "<|endoftext|>");
    CHECK(tok.piece(995) == " world");

    const json encodings = json::parse(sd_test::read_file(folder / "encodings.json"));
    REQUIRE(encodings.size() >= 10);
    for (const auto& entry : encodings) {
        const auto text = entry.at("text").get<std::string>();
        const auto expected = entry.at("ids").get<ids>();
        CAPTURE(text.substr(0, 80));
        CHECK(tok.encode(text) == expected);
        CHECK(tok.decode(expected) == text);
    }
}

}  // namespace lm_test_hf_tokenizer_test
