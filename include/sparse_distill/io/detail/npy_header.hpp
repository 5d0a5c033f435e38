#pragma once
// The .npy header is a Python dict literal, e.g. "{'descr': '<f8', 'fortran_order': False,
// 'shape': (3, 4), }". It is parsed by hand: a JSON parser would reject the quotes and tuples, and
// only this small fixed grammar is allowed (keys in any order, optional spaces, trailing commas).
#include "../../detail/internal_header_check.hpp"
#include "sparse_distill/io/error.hpp"

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sparse_distill::io::detail {

// Header text comes from the file: echo at most `limit` characters of it in messages, with bytes
// outside printable ASCII written as \xNN, so a hostile header cannot flood or garble a terminal.
inline std::string printable(std::string_view text, std::size_t limit = 40) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7F) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    if (text.size() > limit) out += "...";
    return out;
}

struct npy_header {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
};

class npy_header_parser {
public:
    npy_header_parser(std::string_view text, const std::filesystem::path& file) : text_(text), file_(file) {}

    npy_header parse() {
        npy_header header;
        bool seen_descr = false, seen_order = false, seen_shape = false;
        skip_space();
        expect('{', "the opening '{' of the header dict");
        skip_space();
        while (peek() != '}') {
            const std::string key = parse_string("a quoted key");
            skip_space();
            expect(':', "':' after key '" + printable(key) + "'");
            skip_space();
            if (key == "descr") {
                mark_seen(seen_descr, key);
                if (peek() == '[') fail(key, "structured dtypes (a list descr) are not supported");
                header.descr = parse_string("a quoted dtype string such as '<f8'");
            } else if (key == "fortran_order") {
                mark_seen(seen_order, key);
                header.fortran_order = parse_bool(key);
            } else if (key == "shape") {
                mark_seen(seen_shape, key);
                header.shape = parse_shape();
            } else {
                fail("key '" + printable(key) + "'", "unexpected; expected only 'descr', 'fortran_order' and 'shape'");
            }
            skip_space();
            if (peek() == ',') {
                ++pos_;
                skip_space();
            } else if (peek() != '}') {
                fail("header", "expected ',' or '}' after the value of '" + printable(key) + "', found " + found());
            }
        }
        ++pos_;
        skip_space();
        if (pos_ != text_.size()) fail("header", "unexpected text after the closing '}': " + found());
        if (!seen_descr) fail("descr", "missing from the header dict");
        if (!seen_order) fail("fortran_order", "missing from the header dict");
        if (!seen_shape) fail("shape", "missing from the header dict");
        return header;
    }

private:
    std::string_view text_;
    const std::filesystem::path& file_;
    std::size_t pos_ = 0;

    [[noreturn]] void fail(std::string_view field, const std::string& problem) const {
        throw io_error(file_, field, problem);
    }

    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

    std::string found() const {
        if (pos_ >= text_.size()) return "the end of the header";
        return "'" + printable(text_.substr(pos_, 12)) + "' at offset " + std::to_string(pos_);
    }

    void skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }

    void expect(char c, const std::string& what) {
        if (peek() != c) fail("header", "expected " + what + ", found " + found());
        ++pos_;
    }

    void mark_seen(bool& seen, const std::string& key) const {
        if (seen) fail(key, "appears twice in the header dict");
        seen = true;
    }

    std::string parse_string(const std::string& what) {
        const char quote = peek();
        if (quote != '\'' && quote != '"') fail("header", "expected " + what + ", found " + found());
        const std::size_t end = text_.find(quote, pos_ + 1);
        if (end == std::string_view::npos) fail("header", "unterminated string starting at offset " + std::to_string(pos_));
        std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        return value;
    }

    bool parse_bool(const std::string& key) {
        for (const std::string_view word : {std::string_view("True"), std::string_view("False")}) {
            if (text_.substr(pos_, word.size()) == word) {
                pos_ += word.size();
                return word == "True";
            }
        }
        fail(key, "expected True or False, found " + found());
    }

    std::int64_t parse_extent() {
        if (peek() == '-') fail("shape", "expected a non-negative extent, found " + found());
        if (peek() < '0' || peek() > '9') fail("shape", "expected an integer extent, found " + found());
        std::int64_t value = 0;
        while (peek() >= '0' && peek() <= '9') {
            const int digit = peek() - '0';
            if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10)
                fail("shape", "extent does not fit in 64 bits");
            value = value * 10 + digit;
            ++pos_;
        }
        if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 wrote long integers as "3L"
        return value;
    }

    std::vector<std::int64_t> parse_shape() {
        if (peek() != '(') fail("shape", "expected a tuple such as (3, 4), found " + found());
        ++pos_;
        std::vector<std::int64_t> shape;
        skip_space();
        while (peek() != ')') {
            shape.push_back(parse_extent());
            skip_space();
            if (peek() == ',') {
                ++pos_;
                skip_space();
            } else if (peek() != ')') {
                fail("shape", "expected ',' or ')' in the shape tuple, found " + found());
            }
        }
        ++pos_;
        return shape;
    }
};

inline npy_header parse_npy_header(std::string_view text, const std::filesystem::path& file) {
    return npy_header_parser(text, file).parse();
}

}  // namespace sparse_distill::io::detail
