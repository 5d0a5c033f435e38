// safetensors against hostile and broken files: a table of files written byte by byte, each with
// the message fragments its error must contain, read both from disk and from memory; random
// mutations of a valid file, which may only ever raise io_error; and the lazy reader.
#include "sparse_distill/io.hpp"
#include "support/shared_data.hpp"
#include "support/temp_files.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>
#include "support/thrown_message.hpp"

namespace io = sparse_distill::io;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace io_safetensors_hostile_test {

using sd_test::le_bytes;
using sd_test::write_file;

std::string make_safetensors(const std::string& header, const std::string& data) {
    return le_bytes(header.size(), 8) + header + data;
}

std::span<const std::byte> as_bytes(const std::string& text) { return std::as_bytes(std::span(text.data(), text.size())); }

struct hostile_case {
    const char* name;
    std::string bytes;
    std::vector<std::string> fragments;  // besides the file name, which every message must carry
};

std::string tensor(const std::string& name, const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

std::vector<hostile_case> hostile_cases() {
    const std::string eight(8, '\x01');
    const std::string w8 = tensor("w", "F32", "[2]", "[0,8]");
    return {
        {"empty file", "", {"header length", "8-byte header length", "only 0 bytes"}},
        {"seven bytes", std::string(7, '\0'), {"header length", "only 7 bytes"}},
        {"header length of 2^64-1", le_bytes(~0ULL, 8) + "{}", {"header length", "18446744073709551615", "exceeds the limit of 100000000"}},
        {"header length above the 100 MB cap", le_bytes(100'000'001, 8) + "{}", {"header length", "100000001", "limit"}},
        {"header length beyond the file", le_bytes(64, 8) + "{}", {"header length", "64 bytes runs past the end", "10 bytes"}},
        {"empty header", make_safetensors("", ""), {"header", "invalid JSON"}},
        {"truncated JSON", make_safetensors("{\"w\":{\"dtype\":\"F32\"", ""), {"header", "invalid JSON"}},
        {"NUL inside the JSON", make_safetensors(std::string("{\"w\"\0:1}", 8), ""), {"header", "invalid JSON"}},
        {"invalid UTF-8 in a name", make_safetensors("{\"\xff\xfe\":{}}", ""), {"header", "invalid JSON"}},
        {"number overflowing a double", make_safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e400],\"data_offsets\":[0,0]}}", ""),
         {"header", "invalid JSON"}},
        {"header an array", make_safetensors("[1, 2]", ""), {"header", "expected a JSON object", "[1,2]"}},
        {"header a string", make_safetensors("\"tensors\"", ""), {"header", "expected a JSON object"}},
        {"deeply nested shape", make_safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":" + std::string(100000, '[') + std::string(100000, ']') + "}}", ""),
         {"tensor 'w'", "nested deeper than"}},
        {"deeply nested header", make_safetensors(std::string(100000, '['), ""), {"header", "nested deeper than"}},
        {"duplicate tensor names", make_safetensors("{" + w8 + "," + w8 + "}", eight), {"tensor 'w'", "appears twice"}},
        {"duplicate field within a tensor",
         make_safetensors("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
         {"tensor 'w' 'dtype'", "appears twice"}},
        {"duplicate metadata", make_safetensors("{\"__metadata__\":{},\"__metadata__\":{}}", ""), {"__metadata__", "appears twice"}},
        {"duplicate metadata key", make_safetensors("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", ""), {"__metadata__ 'a'", "appears twice"}},
        {"metadata not an object", make_safetensors("{\"__metadata__\":[\"pt\"]}", ""), {"__metadata__", "expected an object of strings"}},
        {"metadata value a number", make_safetensors("{\"__metadata__\":{\"step\":3}}", ""), {"__metadata__ 'step'", "expected a string, found 3"}},
        {"metadata value null", make_safetensors("{\"__metadata__\":{\"step\":null}}", ""), {"__metadata__ 'step'", "expected a string, found null"}},
        {"tensor entry not an object", make_safetensors("{\"w\":[0,8]}", eight), {"tensor 'w'", "expected an object", "[0,8]"}},
        {"missing dtype", make_safetensors("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", eight), {"tensor 'w' dtype", "missing"}},
        {"missing shape", make_safetensors("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", eight), {"tensor 'w' shape", "missing"}},
        {"missing data_offsets", make_safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight), {"tensor 'w' data_offsets", "missing"}},
        {"unknown dtype", make_safetensors("{" + tensor("w", "F8_E4M3", "[8]", "[0,8]") + "}", eight),
         {"tensor 'w' dtype", "unsupported dtype \"F8_E4M3\"", "expected one of F64, F32, F16, BF16, I64, I32"}},
        {"dtype in lower case", make_safetensors("{" + tensor("w", "f32", "[2]", "[0,8]") + "}", eight), {"tensor 'w' dtype", "\"f32\""}},
        {"shape not an array", make_safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", eight),
         {"tensor 'w' shape", "expected an array, found 2"}},
        {"negative extent", make_safetensors("{" + tensor("w", "F32", "[-2]", "[0,8]") + "}", eight), {"tensor 'w' shape", "non-negative", "-2"}},
        {"fractional extent", make_safetensors("{" + tensor("w", "F32", "[2.0]", "[0,8]") + "}", eight), {"tensor 'w' shape", "integer", "2.0"}},
        {"extent a string", make_safetensors("{" + tensor("w", "F32", "[\"2\"]", "[0,8]") + "}", eight), {"tensor 'w' shape", "integer", "\"2\""}},
        {"extent beyond int64", make_safetensors("{" + tensor("w", "F32", "[9223372036854775808]", "[0,8]") + "}", eight),
         {"tensor 'w' shape", "does not fit in a signed 64-bit integer"}},
        {"element count overflows int64", make_safetensors("{" + tensor("w", "F32", "[4294967296,4294967296]", "[0,8]") + "}", eight),
         {"tensor 'w' shape", "element count", "overflows"}},
        {"element count overflows before a zero extent",
         make_safetensors("{" + tensor("w", "F32", "[4611686018427387904,4,0]", "[0,0]") + "}", ""), {"tensor 'w' shape", "overflows"}},
        {"byte count overflows", make_safetensors("{" + tensor("w", "F64", "[2305843009213693952]", "[0,8]") + "}", eight),
         {"tensor 'w' shape", "overflows the byte count"}},
        {"10^15 elements claimed", make_safetensors("{" + tensor("w", "F32", "[1000000000000000]", "[0,4000000000000000]") + "}", eight),
         {"tensor 'w' data_offsets", "past the end of the data section (8 bytes)"}},
        {"data_offsets not a pair", make_safetensors("{" + tensor("w", "F32", "[2]", "[0,4,8]") + "}", eight),
         {"tensor 'w' data_offsets", "expected [begin, end]"}},
        {"data_offsets negative", make_safetensors("{" + tensor("w", "F32", "[2]", "[-8,0]") + "}", eight),
         {"tensor 'w' data_offsets", "non-negative begin", "-8"}},
        {"begin after end", make_safetensors("{" + tensor("w", "F32", "[0]", "[8,0]") + "}", eight),
         {"tensor 'w' data_offsets", "begin <= end", "[8, 0]"}},
        {"byte count not matching dtype and shape", make_safetensors("{" + tensor("w", "F64", "[2]", "[0,8]") + "}", eight),
         {"tensor 'w' data_offsets", "expected 16 bytes for F64 [2], found 8"}},
        {"offsets past the data", make_safetensors("{" + tensor("w", "F32", "[4]", "[0,16]") + "}", eight),
         {"tensor 'w' data_offsets", "[0, 16)", "past the end", "8 bytes"}},
        {"overlapping tensors",
         make_safetensors("{" + tensor("a", "F32", "[2]", "[0,8]") + "," + tensor("b", "F32", "[1]", "[4,8]") + "}", eight),
         {"tensor 'b' data_offsets", "overlap", "start at 8", "found 4"}},
        {"two tensors sharing bytes",
         make_safetensors("{" + tensor("a", "F32", "[2]", "[0,8]") + "," + tensor("b", "F32", "[2]", "[0,8]") + "}", eight),
         {"data_offsets", "overlap"}},
        {"gap before the first tensor", make_safetensors("{" + tensor("w", "F32", "[1]", "[4,8]") + "}", eight),
         {"tensor 'w' data_offsets", "gap", "start at 0", "found 4"}},
        {"gap between tensors",
         make_safetensors("{" + tensor("a", "F32", "[1]", "[0,4]") + "," + tensor("b", "F32", "[1]", "[8,12]") + "}", eight + "abcd"),
         {"tensor 'b' data_offsets", "gap", "start at 4", "found 8"}},
        {"trailing bytes", make_safetensors("{" + tensor("w", "F32", "[1]", "[0,4]") + "}", eight), {"data", "cover 4 bytes", "has 8"}},
        {"data but no tensors", make_safetensors("{}", "x"), {"data", "cover 0 bytes", "has 1"}},
    };
}

// A small valid file to mutate: metadata, two dtypes, a scalar and an empty tensor.
std::string valid_file() {
    std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," + tensor("a", "F32", "[2,2]", "[0,16]") + "," +
                         tensor("b", "BF16", "[3]", "[16,22]") + "," + tensor("s", "I64", "[]", "[22,30]") + "," +
                         tensor("e", "F64", "[0,5]", "[30,30]") + "}";
    std::string data;
    for (int i = 0; i < 30; ++i) data += static_cast<char>(i * 7 + 1);
    return make_safetensors(header, data);
}


TEST_CASE("hostile safetensors files: each error names the file, the field and what was expected") {
    sd_test::temp_dir dir("sd_test_st_hostile");
    for (const auto& c : hostile_cases()) {
        CAPTURE(c.name);
        const auto path = dir / "hostile.safetensors";
        write_file(path, c.bytes);
        const auto from_file = sd_test::thrown_message<io::io_error>([&] { (void)io::read_safetensors(path); });
        const auto from_memory = sd_test::thrown_message<io::io_error>([&] { (void)io::parse_safetensors(as_bytes(c.bytes), "memory.safetensors"); });
        const auto from_reader = sd_test::thrown_message<io::io_error>([&] { io::safetensors_reader reader(path); });
        INFO("file: " << from_file);
        INFO("memory: " << from_memory);
        CHECK(from_file.rfind(path.string() + ": ", 0) == 0);
        CHECK(from_memory.rfind("memory.safetensors: ", 0) == 0);
        CHECK(from_reader == from_file);
        for (const auto& fragment : c.fragments) {
            CHECK(from_file.find(fragment) != std::string::npos);
            CHECK(from_memory.find(fragment) != std::string::npos);
        }
        // A message must stay readable even when the file puts megabytes where a value belongs.
        CHECK(from_file.size() < 1000);
    }
}

TEST_CASE("parse_safetensors from memory equals reading the file") {
    const auto bytes = valid_file();
    const auto file = io::parse_safetensors(as_bytes(bytes), "valid.safetensors");
    CHECK(file.path == "valid.safetensors");
    CHECK(file.metadata == std::map<std::string, std::string>{{"format", "pt"}});
    REQUIRE(file.tensors.size() == 4);
    CHECK(file.at("a").shape == std::vector<std::int64_t>{2, 2});
    CHECK(file.at("b").type == io::dtype::bf16);
    CHECK(file.at("s").shape.empty());
    CHECK(file.at("s").bytes.size() == 8);
    CHECK(file.at("e").shape == std::vector<std::int64_t>{0, 5});
    CHECK(file.at("e").bytes.empty());
    CHECK(std::to_integer<int>(file.at("b").bytes[0]) == 16 * 7 + 1);

    sd_test::temp_dir dir("sd_test_st_mem");
    write_file(dir / "valid.safetensors", bytes);
    const auto read = io::read_safetensors(dir / "valid.safetensors");
    for (const auto& [name, tensor] : file.tensors) {
        CAPTURE(name);
        CHECK(read.at(name).bytes == tensor.bytes);
        CHECK(read.at(name).shape == tensor.shape);
    }
}

TEST_CASE("parse_safetensors on mutated bytes throws only io_error") {
    // A bounded in-process fuzz: flips, truncations and insertions of a valid file. Any other
    // exception (or a crash under the sanitizers) fails; most mutations must be rejected cleanly.
    const auto valid = valid_file();
    std::mt19937_64 random(20240611);
    int accepted = 0, rejected = 0, other = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        std::string bytes = valid;
        const int edits = 1 + static_cast<int>(random() % 4);
        for (int e = 0; e < edits; ++e) {
            const auto at = static_cast<std::size_t>(random() % (bytes.size() + 1));
            switch (random() % 5) {
                case 0: if (at < bytes.size()) bytes[at] = static_cast<char>(random()); break;
                case 1: bytes.resize(at); break;
                case 2: bytes.insert(at, 1, "{}[]\",:0123456789-eE"[random() % 20]); break;
                case 3: if (at < bytes.size()) bytes.erase(at, 1); break;
                case 4: if (bytes.size() >= 8) bytes.replace(0, 8, le_bytes(random() % (bytes.size() + 4), 8)); break;
            }
        }
        try {
            const auto file = io::parse_safetensors(as_bytes(bytes), "fuzz.safetensors");
            for (const auto& [name, t] : file.tensors) (void)io::to_values<double>(t);
            ++accepted;
        } catch (const io::io_error&) {
            ++rejected;
        } catch (const std::exception& e) {
            ++other;
            FAIL_CHECK("unexpected exception: " << e.what());
        }
    }
    MESSAGE("mutations accepted " << accepted << ", rejected " << rejected);
    CHECK(other == 0);
    CHECK(rejected > 10000);
}

TEST_CASE("safetensors_reader reads the header first and tensors on demand") {
    sd_test::temp_dir dir("sd_test_st_reader");
    const auto path = dir / "lazy.safetensors";
    write_file(path, valid_file());
    io::safetensors_reader reader(path);
    CHECK(reader.path() == path);
    CHECK(reader.metadata().at("format") == "pt");
    CHECK(reader.tensors().size() == 4);
    CHECK(reader.contains("b"));
    CHECK_FALSE(reader.contains("z"));
    CHECK(reader.info("a").begin == 0);
    CHECK(reader.info("a").end == 16);
    CHECK(reader.info("b").shape == std::vector<std::int64_t>{3});
    const auto b = reader.read("b");
    CHECK(b.type == io::dtype::bf16);
    REQUIRE(b.bytes.size() == 6);
    CHECK(std::to_integer<int>(b.bytes[5]) == 21 * 7 + 1);
    const auto message = sd_test::thrown_message<io::io_error>([&] { (void)reader.read("z"); });
    CHECK(message.find("lazy.safetensors: tensor 'z': not found; available: 'a', 'b', 'e', 's'") != std::string::npos);
}

TEST_CASE("reference dtypes.safetensors parses from memory exactly as from the file") {
    SD_REQUIRE_SHARED_DATA("reference/safetensors_dtypes/dtypes.safetensors");
    const auto path = sd_test::shared_data_dir() / "reference/safetensors_dtypes/dtypes.safetensors";
    const auto bytes = sd_test::read_file(path);
    const auto memory = io::parse_safetensors(as_bytes(bytes), path);
    const auto file = io::read_safetensors(path);
    CHECK(memory.metadata == file.metadata);
    REQUIRE(memory.tensors.size() == 8);
    for (const auto& [name, tensor] : file.tensors) {
        CAPTURE(name);
        CHECK(memory.at(name).type == tensor.type);
        CHECK(memory.at(name).shape == tensor.shape);
        CHECK(memory.at(name).bytes == tensor.bytes);
    }
    const auto f64 = io::to_values<double>(memory.at("f64"));
    CHECK(f64 == io::to_values<double>(io::read_npy(path.parent_path() / "values_f64.npy")));
}

}  // namespace io_safetensors_hostile_test
