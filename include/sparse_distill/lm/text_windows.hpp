#pragma once
// Text (or token ids) to fixed-length token windows for a language model, with a held-out split:
// the last passages of the text, or a separate evaluation text.
//
// Why passages are joined with a single newline: TinyStories text files separate paragraphs by a
// blank line, and stories too, with nothing to tell the two apart (the project's
// tinystories_train_head.txt has 1230 blank-line blocks for about 150 stories). The model was
// trained on stories whose paragraphs are separated by one '\n' (its greedy output shows it; a
// second '\n' costs stories260K ~10 nats), each story starting with BOS. Encoding every block with
// its own BOS would put a BOS mid-story a thousand times; joining the blocks with one '\n' into a
// single document with one BOS misses only the BOS at story boundaries.
#include "sparse_distill/lm/hf_tokenizer.hpp"
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

/// A document's ids as a llama2.c model was trained on them: BOS, then the text (no EOS).
inline std::vector<int> encode_document(const tokenizer& tok, std::string_view document) { return tok.encode(document); }

/// A document's ids for a Hugging Face model: the tokenizer's document start token, if it has one
/// (Llama's <s>; GPT-2's and GPT-Neo's <|endoftext|>, which separates their training documents),
/// then the text.
inline std::vector<int> encode_document(const hf_tokenizer& tok, std::string_view document) {
    std::vector<int> ids;
    if (const auto start = tok.document_start_token()) ids.push_back(*start);
    const std::vector<int> text = tok.encode(document);
    ids.insert(ids.end(), text.begin(), text.end());
    return ids;
}

/// One document of `passages`: joined with a single '\n' and encoded by encode_document (one start
/// token, no end), as llama2.c's training data encodes a story.
template <class Tokenizer>
std::vector<int> encode_passages(const Tokenizer& tok, const std::vector<std::string>& passages) {
    std::string document;
    for (std::size_t i = 0; i < passages.size(); ++i) {
        if (i > 0) document += '\n';
        document += passages[i];
    }
    return document.empty() ? std::vector<int>{} : encode_document(tok, document);
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
template <class Tokenizer>
text_windows make_text_windows(const Tokenizer& tok, std::string_view text, int length, double held_out_fraction) {
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

/// Training windows from all of `text` and held-out windows from all of `eval_text`, each encoded
/// as one document (encode_passages) and cut into windows of `length` tokens.
template <class Tokenizer>
text_windows make_text_windows(const Tokenizer& tok, std::string_view text, std::string_view eval_text, int length) {
    text_windows out = make_text_windows(tok, text, length, 0.0);
    const text_windows eval = make_text_windows(tok, eval_text, length, 0.0);
    out.held_out = eval.train;
    out.held_out_passages = eval.train_passages;
    out.held_out_tokens = eval.train_tokens;
    return out;
}

/// Windows of already tokenised ids (passages are not known: each counts as one): the last
/// round(held_out_fraction · windows) windows are held out.
inline text_windows make_token_windows(const std::vector<int>& tokens, int length, double held_out_fraction) {
    if (!(held_out_fraction >= 0.0 && held_out_fraction <= 1.0))
        throw std::invalid_argument("make_token_windows: held_out_fraction " + std::to_string(held_out_fraction) +
                                    ", expected a value in [0, 1]");
    std::vector<std::vector<int>> windows = token_windows(tokens, length);
    const auto held = static_cast<std::size_t>(std::llround(held_out_fraction * static_cast<double>(windows.size())));
    text_windows out;
    out.held_out.assign(windows.end() - static_cast<std::ptrdiff_t>(held), windows.end());
    windows.resize(windows.size() - held);
    out.train = std::move(windows);
    out.train_passages = out.train.empty() ? 0 : 1;
    out.held_out_passages = out.held_out.empty() ? 0 : 1;
    out.train_tokens = out.train.size() * static_cast<std::size_t>(length);
    out.held_out_tokens = out.held_out.size() * static_cast<std::size_t>(length);
    return out;
}

}  // namespace sparse_distill::lm
