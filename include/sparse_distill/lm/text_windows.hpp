#pragma once
// Text to fixed-length token windows for a llama2.c model, with a held-out split.
//
// Why passages are joined with a single newline: TinyStories text files separate paragraphs by a
// blank line, and stories too, with nothing to tell the two apart (the project's
// tinystories_train_head.txt has 1230 blank-line blocks for about 150 stories). The model was
// trained on stories whose paragraphs are separated by one '\n' (its greedy output shows it; a
// second '\n' costs stories260K ~10 nats), each story starting with BOS. Encoding every block with
// its own BOS would put a BOS mid-story a thousand times; joining the blocks with one '\n' into a
// single document with one BOS misses only the BOS at story boundaries.
#include "sparse_distill/lm/tokenizer.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sparse_distill::lm {

/// The blocks of `text` separated by blank lines (lines empty or all whitespace), each with its
/// surrounding whitespace removed; empty blocks are dropped. Single newlines inside a block stay.
inline std::vector<std::string> split_passages(std::string_view text) {
    constexpr std::string_view space = " \t\r\n\f\v";
    std::vector<std::string> passages;
    std::string current;
    const auto finish = [&] {
        const auto first = current.find_first_not_of(space);
        if (first != std::string::npos) passages.push_back(current.substr(first, current.find_last_not_of(space) - first + 1));
        current.clear();
    };
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t newline = text.find('\n', start);
        const std::size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
        const std::string_view line = text.substr(start, end - start);
        if (line.find_first_not_of(space) == std::string_view::npos) finish();
        else current += line;
        start = end;
    }
    finish();
    return passages;
}

/// One document of `passages`: joined with a single '\n' and encoded with one BOS at the start
/// (no EOS), as llama2.c's training data encodes a story.
inline std::vector<int> encode_passages(const tokenizer& tok, const std::vector<std::string>& passages) {
    std::string document;
    for (std::size_t i = 0; i < passages.size(); ++i) {
        if (i > 0) document += '\n';
        document += passages[i];
    }
    return document.empty() ? std::vector<int>{} : tok.encode(document);
}

/// Non-overlapping windows of `length` tokens: window k is tokens [k·length, (k+1)·length). The
/// tail shorter than `length` is dropped. A window starts wherever the cut falls (not necessarily
/// at BOS), as llama2.c's training batches do. Throws std::invalid_argument for length < 1.
inline std::vector<std::vector<int>> token_windows(const std::vector<int>& tokens, int length) {
    if (length < 1) throw std::invalid_argument("token_windows: length " + std::to_string(length) + ", expected >= 1");
    const auto n = static_cast<std::size_t>(length);
    std::vector<std::vector<int>> windows;
    windows.reserve(tokens.size() / n);
    for (std::size_t start = 0; start + n <= tokens.size(); start += n)
        windows.emplace_back(tokens.begin() + static_cast<std::ptrdiff_t>(start),
                             tokens.begin() + static_cast<std::ptrdiff_t>(start + n));
    return windows;
}

/// Windows of a text split into a training part and a held-out part.
struct text_windows {
    std::vector<std::vector<int>> train;     ///< windows of the first passages
    std::vector<std::vector<int>> held_out;  ///< windows of the last passages
    std::size_t train_passages = 0;
    std::size_t held_out_passages = 0;
    std::size_t train_tokens = 0;     ///< tokens of the training document, before windowing
    std::size_t held_out_tokens = 0;  ///< tokens of the held-out document, before windowing
};

/// Splits `text` into passages (split_passages); the LAST round(held_out_fraction · n) passages are
/// held out, the ones before them are for training. Each part is encoded as its own document
/// (encode_passages: one BOS, passages joined by '\n') and cut into windows of `length` tokens
/// (token_windows), so no window mixes the two parts. Throws std::invalid_argument for length < 1
/// or a fraction outside [0, 1].
inline text_windows make_text_windows(const tokenizer& tok, std::string_view text, int length, double held_out_fraction) {
    if (!(held_out_fraction >= 0.0 && held_out_fraction <= 1.0))
        throw std::invalid_argument("make_text_windows: held_out_fraction " + std::to_string(held_out_fraction) +
                                    ", expected a value in [0, 1]");
    if (length < 1) throw std::invalid_argument("make_text_windows: length " + std::to_string(length) + ", expected >= 1");
    std::vector<std::string> passages = split_passages(text);
    const auto held = static_cast<std::size_t>(std::llround(held_out_fraction * static_cast<double>(passages.size())));
    const auto split = static_cast<std::ptrdiff_t>(passages.size() - held);
    const std::vector<std::string> train(passages.begin(), passages.begin() + split);
    const std::vector<std::string> held_out(passages.begin() + split, passages.end());
    const std::vector<int> train_tokens = encode_passages(tok, train);
    const std::vector<int> held_out_tokens = encode_passages(tok, held_out);
    text_windows out;
    out.train = token_windows(train_tokens, length);
    out.held_out = token_windows(held_out_tokens, length);
    out.train_passages = train.size();
    out.held_out_passages = held_out.size();
    out.train_tokens = train_tokens.size();
    out.held_out_tokens = held_out_tokens.size();
    return out;
}

}  // namespace sparse_distill::lm
