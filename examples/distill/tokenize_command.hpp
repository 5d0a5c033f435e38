#pragma once
// `distill tokenize`: text on stdin to token ids on stdout with a Hugging Face tokenizer.json, or ids
// back to text with --decode; for checking a tokenizer against the reference one from a shell.
//
//   distill tokenize --tokenizer tokenizer.json < story.txt           15496 995 198
//   echo 15496 995 | distill tokenize --tokenizer tokenizer.json --decode   Hello world
//
// Exit status: 1 when the tokenizer file cannot be read (its io_error message), 2 for input that is
// not token ids of this vocabulary.
#include "common_options.hpp"

#include <sparse_distill/lm/hf_tokenizer.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace distill {

struct tokenize_options {
    std::string tokenizer;
    bool decode = false;
};

inline CLI::App* add_tokenize_command(CLI::App& app, tokenize_options& t) {
    CLI::App* tokenize = app.add_subcommand("tokenize", "encode the text on stdin to token ids (one line, separated by spaces), or "
                                                        "with --decode the whitespace-separated ids on stdin to their text");
    // No ExistingFile check: a missing file gets the reader's message, as every other unreadable file.
    tokenize->add_option("--tokenizer", t.tokenizer, "Hugging Face tokenizer.json (byte-level BPE as GPT-2's, or BPE with "
                                                     "byte fallback as Llama's)")
        ->required();
    tokenize->add_flag("--decode", t.decode, "read token ids and print their text exactly (no newline added)");
    return tokenize;
}

inline int run_tokenize(const tokenize_options& t) {
    const sd::lm::hf_tokenizer tok = sd::lm::hf_tokenizer::read(t.tokenizer);
    std::ostringstream input;
    input << std::cin.rdbuf();
    const std::string text = std::move(input).str();

    if (!t.decode) {
        std::string line;
        for (const int id : tok.encode(text)) line += (line.empty() ? "" : " ") + std::to_string(id);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        return 0;
    }

    std::vector<int> ids;
    std::istringstream words(text);
    for (std::string word; words >> word;) {
        long long id = 0;
        const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), id);
        if (error != std::errc() || end != word.data() + word.size()) {
            std::fprintf(stderr, "distill tokenize: '%s' on stdin is not a token id (expected whitespace-separated integers)\n",
                         word.c_str());
            return 2;
        }
        if (id < 0 || id >= tok.vocab_size()) {
            std::fprintf(stderr, "distill tokenize: token id %lld is outside the vocabulary of %s (vocab_size %d: ids 0..%d)\n", id,
                         t.tokenizer.c_str(), tok.vocab_size(), tok.vocab_size() - 1);
            return 2;
        }
        ids.push_back(static_cast<int>(id));
    }
    std::string decoded;
    try {
        decoded = tok.decode(ids);
    } catch (const std::out_of_range& e) {  // an id in a gap of the vocabulary
        std::fprintf(stderr, "distill tokenize: %s\n", e.what());
        return 2;
    }
    std::fwrite(decoded.data(), 1, decoded.size(), stdout);
    return 0;
}

}  // namespace distill
