// safetensors reading and writing: round trips over every dtype, 16-bit float decoding and
// encoding, validation of hand-built headers, and the project's reference files.
#include "sparse_distill/io.hpp"
#include "support/shared_data.hpp"
#include "support/temp_files.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace io = sparse_distill::io;
namespace fs = std::filesystem;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace io_safetensors_test {

using sd_test::le_bytes;
using sd_test::read_file;
using sd_test::write_file;

struct temp_dir : sd_test::temp_dir {
    temp_dir() : sd_test::temp_dir("sd_test_st") {}
};

// A safetensors file with `header` as its JSON text, unpadded, followed by `data`.
std::string make_safetensors(const std::string& header, const std::string& data) {
    return le_bytes(header.size(), 8) + header + data;
}

// Runs `action`, expecting an io_error whose message contains every one of `parts`.
template <class Action>
void check_error(Action&& action, std::initializer_list<std::string> parts) {
    std::string message = "<no io_error thrown>";
    try {
        action();
    } catch (const io::io_error& error) {
        message = error.what();
    }
    INFO("message: " << message);
    for (const auto& part : parts) CHECK(message.find(part) != std::string::npos);
}

double decode_f16(std::uint16_t bits) {
    io::tensor_data t{{}, io::dtype::f16, {std::byte(bits & 0xFF), std::byte(bits >> 8)}};
    return io::to_values<double>(t)[0];
}

double decode_bf16(std::uint16_t bits) {
    io::tensor_data t{{}, io::dtype::bf16, {std::byte(bits & 0xFF), std::byte(bits >> 8)}};
    return io::to_values<double>(t)[0];
}

std::uint16_t encode(io::dtype type, double value) {
    const auto t = io::from_values<double>({}, type, std::vector<double>{value});
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(t.bytes[0]) | (std::to_integer<unsigned>(t.bytes[1]) << 8));
}


TEST_CASE("f16 decodes exactly, with subnormals, infinities and NaN") {
    CHECK(decode_f16(0x3C00) == 1.0);
    CHECK(decode_f16(0xC000) == -2.0);
    CHECK(decode_f16(0x7BFF) == 65504.0);
    CHECK(decode_f16(0x0400) == std::ldexp(1.0, -14));
    CHECK(decode_f16(0x0001) == std::ldexp(1.0, -24));
    CHECK(decode_f16(0x03FF) == std::ldexp(1023.0, -24));
    CHECK(decode_f16(0x3555) == std::ldexp(0x555 | 0x400, -12));
    CHECK(decode_f16(0x7C00) == std::numeric_limits<double>::infinity());
    CHECK(decode_f16(0xFC00) == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(decode_f16(0x7E00)));
    CHECK(std::isnan(decode_f16(0x7C01)));
    CHECK(decode_f16(0x8000) == 0.0);
    CHECK(std::signbit(decode_f16(0x8000)));
}

TEST_CASE("bf16 decodes exactly, with subnormals, infinities and NaN") {
    CHECK(decode_bf16(0x3F80) == 1.0);
    CHECK(decode_bf16(0xC0A0) == -5.0);
    CHECK(decode_bf16(0x7F7F) == std::ldexp(255.0, 127 - 7));
    CHECK(decode_bf16(0x0080) == std::ldexp(1.0, -126));
    CHECK(decode_bf16(0x0001) == std::ldexp(1.0, -133));
    CHECK(decode_bf16(0x7F80) == std::numeric_limits<double>::infinity());
    CHECK(decode_bf16(0xFF80) == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(decode_bf16(0x7FC0)));
    // bf16 is the top half of a float.
    CHECK(static_cast<float>(decode_bf16(0x4049)) == std::bit_cast<float>(0x40490000u));
}

TEST_CASE("f16 and bf16 encoding rounds to nearest even and inverts decoding") {
    CHECK(encode(io::dtype::f16, 1.0 + std::ldexp(1.0, -11)) == 0x3C00);      // tie, down to even
    CHECK(encode(io::dtype::f16, 1.0 + 3 * std::ldexp(1.0, -11)) == 0x3C02);  // tie, up to even
    CHECK(encode(io::dtype::f16, 1.0 + std::ldexp(1.0, -11) + 1e-12) == 0x3C01);
    CHECK(encode(io::dtype::f16, 65519.0) == 0x7BFF);
    CHECK(encode(io::dtype::f16, 65520.0) == 0x7C00);  // rounds past the largest finite value
    CHECK(encode(io::dtype::f16, -1e10) == 0xFC00);
    CHECK(encode(io::dtype::f16, std::ldexp(1.0, -25)) == 0x0000);        // tie between 0 and 2^-24
    CHECK(encode(io::dtype::f16, std::ldexp(3.0, -26)) == 0x0001);
    CHECK(encode(io::dtype::f16, std::ldexp(1023.75, -24)) == 0x0400);    // subnormal rounds up to normal
    CHECK(encode(io::dtype::f16, -0.0) == 0x8000);
    CHECK(encode(io::dtype::bf16, 1.0 + std::ldexp(1.0, -8)) == 0x3F80);
    CHECK(encode(io::dtype::bf16, 1.0 + 3 * std::ldexp(1.0, -8)) == 0x3F82);
    CHECK(encode(io::dtype::bf16, 1e39) == 0x7F80);
    CHECK(encode(io::dtype::bf16, std::ldexp(1.0, -133)) == 0x0001);
    CHECK(std::isnan(decode_f16(encode(io::dtype::f16, std::nan("")))));
    CHECK(std::isnan(decode_bf16(encode(io::dtype::bf16, std::nan("")))));

    int f16_mismatches = 0, bf16_mismatches = 0;
    for (std::uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
        const auto b = static_cast<std::uint16_t>(bits);
        const double h = decode_f16(b), bf = decode_bf16(b);
        if (!std::isnan(h) && encode(io::dtype::f16, h) != b) ++f16_mismatches;
        if (!std::isnan(bf) && encode(io::dtype::bf16, bf) != b) ++bf16_mismatches;
    }
    CHECK(f16_mismatches == 0);
    CHECK(bf16_mismatches == 0);
}

TEST_CASE("safetensors round trip of every dtype, a scalar, an empty tensor and metadata") {
    temp_dir dir;
    const std::vector<double> values{-1.5, 0.25, 3.0, 1024.0, -0.0, 7.0};
    std::map<std::string, io::tensor_data> tensors{
        {"f64", io::from_values<double>({2, 3}, io::dtype::f64, values)},
        {"f32", io::from_values<double>({3, 2}, io::dtype::f32, values)},
        {"f16", io::from_values<double>({6}, io::dtype::f16, values)},
        {"bf16", io::from_values<double>({1, 6}, io::dtype::bf16, values)},
        {"i64", io::from_values<double>({2, 3}, io::dtype::i64, std::vector<double>{0, 1, 2, 3, 4, -5})},
        {"i32", io::from_values<double>({5}, io::dtype::i32, std::vector<double>{0, 1, 2, 3, 4})},
        {"scalar", io::from_values<float>({}, io::dtype::f32, std::vector<float>{3.25f})},
        {"empty", io::from_values<float>({0, 4}, io::dtype::f32, std::vector<float>{})},
    };
    const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "round trip"}};
    const auto path = dir / "all.safetensors";
    io::write_safetensors(path, tensors, metadata);
    CHECK_FALSE(fs::exists(dir / "all.safetensors.tmp"));

    const auto file = io::read_safetensors(path);
    CHECK(file.path == path);
    CHECK(file.metadata == metadata);
    REQUIRE(file.tensors.size() == tensors.size());
    for (const auto& [name, tensor] : tensors) {
        CAPTURE(name);
        const auto& back = file.at(name);
        CHECK(back.type == tensor.type);
        CHECK(back.shape == tensor.shape);
        CHECK(back.bytes == tensor.bytes);
    }
    CHECK(io::to_values<double>(file.at("bf16")) == values);
    CHECK(io::to_values<double>(file.at("f16")) == values);
    CHECK(file.at("scalar").numel() == 1);

    // Layout: header padded with spaces to a multiple of 8, tensors back to back in name order.
    const auto bytes = read_file(path);
    std::uint64_t header_length = 0;
    for (int i = 7; i >= 0; --i) header_length = header_length * 256 + static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    CHECK(header_length % 8 == 0);
    const auto header = nlohmann::json::parse(bytes.substr(8, header_length));
    CHECK(header["__metadata__"]["format"] == "pt");
    std::uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        CAPTURE(name);
        CHECK(header[name]["data_offsets"][0].get<std::uint64_t>() == offset);
        offset += tensor.bytes.size();
        CHECK(header[name]["data_offsets"][1].get<std::uint64_t>() == offset);
    }
    CHECK(bytes.size() == 8 + header_length + offset);
    CHECK(header["bf16"]["dtype"] == "BF16");
    CHECK(header["scalar"]["shape"] == nlohmann::json::array());
}

TEST_CASE("safetensors without metadata or tensors") {
    temp_dir dir;
    io::write_safetensors(dir / "empty.safetensors", {});
    const auto file = io::read_safetensors(dir / "empty.safetensors");
    CHECK(file.tensors.empty());
    CHECK(file.metadata.empty());
    check_error([&] { (void)file.at("W"); }, {"empty.safetensors", "tensor 'W'", "available: none"});
}

TEST_CASE("safetensors reads a header padded with spaces and tensors in any byte order of names") {
    temp_dir dir;
    const std::string header =
        R"({"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})"
        "     ";
    write_file(dir / "p.safetensors", make_safetensors(header, le_bytes(11, 4) + le_bytes(22, 4)));
    const auto file = io::read_safetensors(dir / "p.safetensors");
    CHECK(io::to_values<int>(file.at("a")) == std::vector<int>{22});
    CHECK(io::to_values<int>(file.at("b")) == std::vector<int>{11});
}

TEST_CASE("safetensors errors name the file, the tensor and the field") {
    temp_dir dir;
    const auto path = dir / "bad.safetensors";
    auto read = [&] { (void)io::read_safetensors(path); };
    auto with_header = [&](const std::string& header, const std::string& data) {
        write_file(path, make_safetensors(header, data));
    };
    const std::string eight(8, '\0');

    SUBCASE("missing file") { check_error(read, {"bad.safetensors", "does not exist"}); }
    SUBCASE("shorter than the header length") {
        write_file(path, std::string("\x10\x00\x00", 3));
        check_error(read, {"bad.safetensors", "header length", "only 3 bytes"});
    }
    SUBCASE("header length past the end of the file") {
        write_file(path, le_bytes(1000, 8) + "{}");
        check_error(read, {"bad.safetensors", "header length", "1000"});
    }
    SUBCASE("header length that would overflow") {
        write_file(path, le_bytes(~0ULL, 8) + "{}");
        check_error(read, {"bad.safetensors", "header length"});
    }
    SUBCASE("invalid JSON") {
        with_header(R"({"w": {"dtype": "F32",)", "");
        check_error(read, {"bad.safetensors", "header", "invalid JSON"});
    }
    SUBCASE("header not an object") {
        with_header("[1, 2]", "");
        check_error(read, {"bad.safetensors", "header", "expected a JSON object"});
    }
    SUBCASE("unknown dtype") {
        with_header(R"({"w":{"dtype":"U16","shape":[8],"data_offsets":[0,8]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' dtype", "\"U16\"", "F64"});
    }
    SUBCASE("dtype not a string") {
        with_header(R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' dtype", "expected a string"});
    }
    SUBCASE("missing field") {
        with_header(R"({"w":{"dtype":"F32","shape":[2]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' data_offsets", "missing"});
    }
    SUBCASE("negative shape entry") {
        with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' shape", "non-negative", "-2"});
    }
    SUBCASE("fractional shape entry") {
        with_header(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' shape", "integer"});
    }
    SUBCASE("numel times size overflows") {
        with_header(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' shape", "overflows"});
    }
    SUBCASE("offsets past the end of the data") {
        with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' data_offsets", "past the end", "8 bytes"});
    }
    SUBCASE("begin after end") {
        with_header(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' data_offsets", "begin <= end", "[8, 0]"});
    }
    SUBCASE("offsets not a pair") {
        with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' data_offsets", "[begin, end]"});
    }
    SUBCASE("byte count does not match the shape") {
        with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight);
        check_error(read, {"bad.safetensors", "tensor 'w' data_offsets", "expected 12 bytes", "found 8"});
    }
    SUBCASE("gap between tensors") {
        with_header(R"({"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}})",
                    eight + "abcd");
        check_error(read, {"bad.safetensors", "tensor 'b' data_offsets", "gap"});
    }
    SUBCASE("overlapping tensors") {
        with_header(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})",
                    eight);
        check_error(read, {"bad.safetensors", "data_offsets", "overlap"});
    }
    SUBCASE("trailing bytes after the last tensor") {
        with_header(R"({"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})", eight);
        check_error(read, {"bad.safetensors", "data", "cover 4 bytes", "has 8"});
    }
    SUBCASE("metadata value not a string") {
        with_header(R"({"__metadata__":{"step":3},"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", eight);
        check_error(read, {"bad.safetensors", "__metadata__ 'step'", "expected a string", "3"});
    }
    SUBCASE("missing tensor lists the available names") {
        with_header(R"({"W_enc":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"b_enc":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})",
                    eight);
        const auto file = io::read_safetensors(path);
        check_error([&] { (void)file.at("W_dec"); }, {"bad.safetensors", "tensor 'W_dec'", "not found", "'W_enc', 'b_enc'"});
    }
    SUBCASE("writing a tensor whose bytes do not match its shape") {
        std::map<std::string, io::tensor_data> tensors{{"w", io::tensor_data{{3}, io::dtype::f64, std::vector<std::byte>(16)}}};
        check_error([&] { io::write_safetensors(path, tensors); }, {"bad.safetensors", "tensor 'w'", "expected 24 bytes", "found 16"});
        CHECK_FALSE(fs::exists(path));
    }
    SUBCASE("writing the reserved name") {
        std::map<std::string, io::tensor_data> tensors{{"__metadata__", io::from_values<double>({1}, io::dtype::f32, std::vector<double>{1})}};
        check_error([&] { io::write_safetensors(path, tensors); }, {"bad.safetensors", "__metadata__", "reserved"});
    }
}

TEST_CASE("to_matrix names the safetensors tensor in its error") {
    temp_dir dir;
    const auto path = dir / "student.safetensors";
    io::write_safetensors(path, {{"b_enc", io::from_values<double>({3}, io::dtype::f64, std::vector<double>{1, 2, 3})}});
    const auto file = io::read_safetensors(path);
    check_error([&] { (void)io::to_matrix<double>(file.at("b_enc"), "student.safetensors: tensor 'b_enc'"); },
                {"student.safetensors: tensor 'b_enc': expected a 2-D tensor, got shape [3]"});
    CHECK(io::to_vector<double>(file.at("b_enc"), "b_enc").size() == 3);
}

TEST_CASE("reference dtypes.safetensors reads exactly") {
    SD_REQUIRE_SHARED_DATA("reference/safetensors_dtypes/dtypes.safetensors");
    const auto dir = sd_test::shared_data_dir() / "reference/safetensors_dtypes";
    const auto file = io::read_safetensors(dir / "dtypes.safetensors");
    CHECK(file.metadata.at("format") == "pt");

    const auto values = io::to_values<double>(io::read_npy(dir / "values_f64.npy"));
    REQUIRE(values.size() == 12);
    const std::vector<std::int64_t> shape{3, 4};
    for (const char* name : {"f64", "f32", "f16", "bf16"}) {
        CAPTURE(name);
        CHECK(file.at(name).shape == shape);
    }
    CHECK(file.at("f64").type == io::dtype::f64);
    CHECK(io::to_values<double>(file.at("f64")) == values);

    std::vector<float> rounded(values.begin(), values.end());
    CHECK(file.at("f32").type == io::dtype::f32);
    CHECK(io::to_values<float>(file.at("f32")) == rounded);

    CHECK(file.at("f16").type == io::dtype::f16);
    CHECK(io::to_values<float>(file.at("f16")) == io::to_values<float>(io::read_npy(dir / "f16_as_f32.npy")));
    CHECK(file.at("bf16").type == io::dtype::bf16);
    CHECK(io::to_values<float>(file.at("bf16")) == io::to_values<float>(io::read_npy(dir / "bf16_as_f32.npy")));
    // Our encoder rounds the float64 values to the same 16-bit patterns torch produced.
    CHECK(io::from_values<double>(shape, io::dtype::f16, values).bytes == file.at("f16").bytes);
    CHECK(io::from_values<double>(shape, io::dtype::bf16, values).bytes == file.at("bf16").bytes);

    CHECK(file.at("i64").type == io::dtype::i64);
    CHECK(file.at("i64").shape == std::vector<std::int64_t>{2, 3});
    CHECK(io::to_values<std::int64_t>(file.at("i64")) == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
    CHECK(file.at("i32").type == io::dtype::i32);
    CHECK(file.at("i32").shape == std::vector<std::int64_t>{5});
    CHECK(io::to_values<std::int32_t>(file.at("i32")) == std::vector<std::int32_t>{0, 1, 2, 3, 4});
    CHECK(file.at("scalar_f32").shape.empty());
    CHECK(io::to_values<float>(file.at("scalar_f32")) == std::vector<float>{3.25f});
    CHECK(file.at("empty_f32").shape == std::vector<std::int64_t>{0, 4});
    CHECK(file.at("empty_f32").bytes.empty());

    // What we write reads back identically, metadata included.
    temp_dir out;
    io::write_safetensors(out / "copy.safetensors", file.tensors, file.metadata);
    const auto copy = io::read_safetensors(out / "copy.safetensors");
    CHECK(copy.metadata == file.metadata);
    REQUIRE(copy.tensors.size() == file.tensors.size());
    for (const auto& [name, tensor] : file.tensors) {
        CAPTURE(name);
        CHECK(copy.at(name).type == tensor.type);
        CHECK(copy.at(name).shape == tensor.shape);
        CHECK(copy.at(name).bytes == tensor.bytes);
    }
}

TEST_CASE("reference train_step files read with the documented shapes") {
    SD_REQUIRE_SHARED_DATA("reference/train_step/teacher.safetensors");
    const auto dir = sd_test::shared_data_dir() / "reference/train_step";
    const auto teacher = io::read_safetensors(dir / "teacher.safetensors");
    const auto w_in = io::to_matrix<double>(teacher.at("W_in"), "teacher.safetensors: tensor 'W_in'");
    CHECK(w_in.rows() == 16);
    CHECK(w_in.cols() == 32);
    CHECK(teacher.at("b_in").shape == std::vector<std::int64_t>{32});
    CHECK(teacher.at("W_out").shape == std::vector<std::int64_t>{32, 16});
    CHECK(teacher.at("b_out").shape == std::vector<std::int64_t>{16});
    CHECK(w_in.allFinite());

    const auto student = io::read_safetensors(dir / "student_init.safetensors");
    CHECK(student.at("W_enc").shape == std::vector<std::int64_t>{16, 64});
    CHECK(student.at("W_dec").shape == std::vector<std::int64_t>{64, 16});

    const auto inputs = io::read_npy(dir / "inputs.npy");
    CHECK(inputs.shape == std::vector<std::int64_t>{96, 16});
}

}  // namespace io_safetensors_test
