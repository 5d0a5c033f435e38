// .npy reading and writing: round trips, files built byte by byte for the variants numpy.save
// does not write by default (big-endian, Fortran order, versions 2.0 and 3.0), a table of corrupted
// files with their error messages, parse_npy on bytes in memory, and the project's reference files.
#include "sparse_distill/io.hpp"
#include "support/shared_data.hpp"
#include "support/temp_files.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace io = sparse_distill::io;
namespace fs = std::filesystem;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace io_npy_test {

using sd_test::le_bytes;
using sd_test::read_file;
using sd_test::write_file;

struct temp_dir : sd_test::temp_dir {
    temp_dir() : sd_test::temp_dir("sd_test_npy") {}
};

std::string be_bytes(std::uint64_t value, int count) {
    std::string out;
    for (int i = count - 1; i >= 0; --i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
    return out;
}

template <class T>
std::uint64_t bits_of(T value) {
    if constexpr (sizeof(T) == 4) return std::bit_cast<std::uint32_t>(value);
    else return std::bit_cast<std::uint64_t>(value);
}

// A .npy file of the given major version with `dict` as header text, unpadded.
std::string make_npy(int major, const std::string& dict, const std::string& data) {
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += '\0';
    out += le_bytes(dict.size(), major == 1 ? 2 : 4);
    return out + dict + data;
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

std::vector<double> iota_values(std::size_t count, double start, double step) {
    std::vector<double> values(count);
    for (std::size_t i = 0; i < count; ++i) values[i] = start + step * static_cast<double>(i);
    return values;
}


TEST_CASE("npy round trip keeps dtype, shape and values for every npy dtype") {
    temp_dir dir;
    const auto values = iota_values(24, -6.0, 0.5);
    for (const auto type : {io::dtype::f16, io::dtype::f32, io::dtype::f64, io::dtype::i32, io::dtype::i64}) {
        CAPTURE(io::dtype_name(type));
        const bool integer = type == io::dtype::i32 || type == io::dtype::i64;
        const auto source = integer ? iota_values(24, -12.0, 1.0) : values;
        const auto tensor = io::from_values<double>({2, 3, 4}, type, source);
        const auto path = dir / "t.npy";
        io::write_npy(path, tensor);
        const auto back = io::read_npy(path);
        CHECK(back.type == type);
        CHECK(back.shape == std::vector<std::int64_t>{2, 3, 4});
        CHECK(back.bytes == tensor.bytes);
        CHECK(io::to_values<double>(back) == source);
        CHECK_FALSE(fs::exists(dir / "t.npy.tmp"));
    }
}

TEST_CASE("npy round trip of scalar, empty and 1-D tensors, with the header numpy expects") {
    temp_dir dir;
    SUBCASE("0-d") {
        const std::vector<float> value{3.25f};
        io::write_npy(dir / "s.npy", io::from_values<float>({}, io::dtype::f32, value));
        const auto back = io::read_npy(dir / "s.npy");
        CHECK(back.shape.empty());
        CHECK(back.numel() == 1);
        CHECK(io::to_values<float>(back) == value);
        CHECK(read_file(dir / "s.npy").find("'shape': ()") != std::string::npos);
    }
    SUBCASE("empty [0, 4]") {
        io::write_npy(dir / "e.npy", io::from_values<double>({0, 4}, io::dtype::f64, std::vector<double>{}));
        const auto back = io::read_npy(dir / "e.npy");
        CHECK(back.shape == std::vector<std::int64_t>{0, 4});
        CHECK(back.numel() == 0);
        CHECK(back.bytes.empty());
        CHECK(io::to_matrix<double>(back, "e").rows() == 0);
        CHECK(io::to_matrix<double>(back, "e").cols() == 4);
    }
    SUBCASE("1-D header layout") {
        io::write_npy(dir / "v.npy", io::from_values<std::int64_t>({3}, io::dtype::i64, std::vector<std::int64_t>{7, 8, 9}));
        const auto bytes = read_file(dir / "v.npy");
        // The 58-byte dict does not fit in the first 64 bytes, so the data starts at 128.
        REQUIRE(bytes.size() == 128 + 24);
        CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
        CHECK(static_cast<unsigned char>(bytes[8]) + 256 * static_cast<unsigned char>(bytes[9]) == 128 - 10);
        CHECK(bytes.substr(10).find("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }  ") == 0);
        CHECK(bytes[127] == '\n');
        CHECK(io::to_values<std::int64_t>(io::read_npy(dir / "v.npy")) == std::vector<std::int64_t>{7, 8, 9});
    }
}

TEST_CASE("npy header longer than 65535 bytes is written as format 2.0 and read back") {
    temp_dir dir;
    const std::vector<std::int64_t> shape(25000, 1);  // "1, " per extent: about 75 kB of header
    io::write_npy(dir / "wide.npy", io::from_values<float>(shape, io::dtype::f32, std::vector<float>{1.5f}));
    const auto bytes = read_file(dir / "wide.npy");
    CHECK(bytes[6] == '\x02');
    CHECK((bytes.size() - 4) % 64 == 0);
    const auto back = io::read_npy(dir / "wide.npy");
    CHECK(back.shape == shape);
    CHECK(io::to_values<float>(back) == std::vector<float>{1.5f});
}

TEST_CASE("npy reads hand-built format 2.0 and 3.0 files") {
    temp_dir dir;
    std::string data;
    for (std::int32_t v : {1, -2, 3}) data += le_bytes(static_cast<std::uint32_t>(v), 4);
    for (const int major : {2, 3}) {
        CAPTURE(major);
        write_file(dir / "v.npy", make_npy(major, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }\n", data));
        const auto back = io::read_npy(dir / "v.npy");
        CHECK(back.type == io::dtype::i32);
        CHECK(io::to_values<std::int32_t>(back) == std::vector<std::int32_t>{1, -2, 3});
    }
}

TEST_CASE("npy reads big-endian data and stores it little-endian") {
    temp_dir dir;
    const auto path = dir / "be.npy";
    SUBCASE(">f8") {
        std::string data;
        for (double v : {1.5, -2.25, 1e300}) data += be_bytes(bits_of(v), 8);
        write_file(path, make_npy(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", data));
        const auto back = io::read_npy(path);
        CHECK(back.type == io::dtype::f64);
        CHECK(io::to_values<double>(back) == std::vector<double>{1.5, -2.25, 1e300});
    }
    SUBCASE(">f4") {
        std::string data;
        for (float v : {0.1f, -7.0f}) data += be_bytes(bits_of(v), 4);
        write_file(path, make_npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data));
        CHECK(io::to_values<float>(io::read_npy(path)) == std::vector<float>{0.1f, -7.0f});
    }
    SUBCASE(">f2") {
        write_file(path, make_npy(1, "{'descr': '>f2', 'fortran_order': False, 'shape': (2,), }",
                                  be_bytes(0x3C00, 2) + be_bytes(0xC500, 2)));
        CHECK(io::to_values<double>(io::read_npy(path)) == std::vector<double>{1.0, -5.0});
    }
    SUBCASE(">i4 and >i8") {
        write_file(path, make_npy(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                                  be_bytes(0x01020304, 4) + be_bytes(0xFFFFFFFF, 4)));
        CHECK(io::to_values<std::int64_t>(io::read_npy(path)) == std::vector<std::int64_t>{0x01020304, -1});
        write_file(path, make_npy(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }",
                                  be_bytes(0x0102030405060708ULL, 8)));
        CHECK(io::to_values<std::int64_t>(io::read_npy(path)) == std::vector<std::int64_t>{0x0102030405060708LL});
    }
}

TEST_CASE("npy converts Fortran order to C order") {
    temp_dir dir;
    const auto path = dir / "f.npy";
    SUBCASE("2-D") {
        // C-order [[0, 1, 2], [3, 4, 5]] stored column by column.
        std::string data;
        for (double v : {0, 3, 1, 4, 2, 5}) data += le_bytes(bits_of(v), 8);
        write_file(path, make_npy(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", data));
        const auto back = io::read_npy(path);
        CHECK(back.shape == std::vector<std::int64_t>{2, 3});
        CHECK(io::to_values<double>(back) == iota_values(6, 0, 1));
    }
    SUBCASE("3-D, big-endian") {
        // Element (i, j, k) of a [2, 3, 4] tensor has value 12i + 4j + k; Fortran order runs i fastest.
        std::string data;
        for (int k = 0; k < 4; ++k)
            for (int j = 0; j < 3; ++j)
                for (int i = 0; i < 2; ++i) data += be_bytes(static_cast<std::uint32_t>(12 * i + 4 * j + k), 4);
        write_file(path, make_npy(1, "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3, 4), }", data));
        const auto back = io::read_npy(path);
        CHECK(back.shape == std::vector<std::int64_t>{2, 3, 4});
        CHECK(io::to_values<double>(back) == iota_values(24, 0, 1));
    }
    SUBCASE("empty and 1-D are unaffected") {
        write_file(path, make_npy(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 3), }", ""));
        CHECK(io::read_npy(path).shape == std::vector<std::int64_t>{0, 3});
        write_file(path, make_npy(1, "{'descr': '<i8', 'fortran_order': True, 'shape': (2,), }",
                                  le_bytes(5, 8) + le_bytes(6, 8)));
        CHECK(io::to_values<std::int64_t>(io::read_npy(path)) == std::vector<std::int64_t>{5, 6});
    }
}

TEST_CASE("npy header dict: any key order, optional spaces, double quotes, trailing commas") {
    temp_dir dir;
    const auto path = dir / "h.npy";
    const std::string data = le_bytes(bits_of(2.0f), 4) + le_bytes(bits_of(-1.0f), 4);
    for (const std::string dict : {
             "{'shape':(1,2),'fortran_order':False,'descr':'<f4'}",
             "{ \"descr\" : \"<f4\" , 'shape' : ( 1 , 2 , ) , 'fortran_order' : False , }   \n",
             "{'fortran_order': False, 'descr': '<f4', 'shape': (1L, 2L)}",
             "{'descr': 'f4', 'fortran_order': False, 'shape': (1, 2), }",
         }) {
        CAPTURE(dict);
        write_file(path, make_npy(1, dict, data));
        const auto back = io::read_npy(path);
        CHECK(back.shape == std::vector<std::int64_t>{1, 2});
        CHECK(io::to_values<float>(back) == std::vector<float>{2.0f, -1.0f});
    }
}

TEST_CASE("npy errors name the file and the field") {
    temp_dir dir;
    const auto path = dir / "broken.npy";
    const std::string good_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
    const std::string two_doubles = le_bytes(bits_of(1.0), 8) + le_bytes(bits_of(2.0), 8);
    auto read = [&] { io::read_npy(path); };

    SUBCASE("missing file") { check_error(read, {"broken.npy", "does not exist"}); }
    SUBCASE("shorter than the magic") {
        write_file(path, "\x93NUM");
        check_error(read, {"broken.npy", "magic"});
    }
    SUBCASE("bad magic") {
        write_file(path, "PK\x03\x04 this is a zip file");
        check_error(read, {"broken.npy", "magic", "NUMPY"});
    }
    SUBCASE("unsupported version") {
        auto bytes = make_npy(1, good_dict, two_doubles);
        bytes[6] = '\x04';
        write_file(path, bytes);
        check_error(read, {"broken.npy", "version", "4.0"});
    }
    SUBCASE("header length past the end of the file") {
        write_file(path, std::string("\x93NUMPY\x01\x00", 8) + le_bytes(500, 2) + "{'descr'");
        check_error(read, {"broken.npy", "header length", "500"});
    }
    SUBCASE("truncated data") {
        write_file(path, make_npy(1, good_dict, two_doubles.substr(0, 12)));
        check_error(read, {"broken.npy", "data", "expected 16 bytes", "found 12"});
    }
    SUBCASE("trailing data") {
        write_file(path, make_npy(1, good_dict, two_doubles + "xx"));
        check_error(read, {"broken.npy", "data", "found 18"});
    }
    SUBCASE("unknown descr") {
        write_file(path, make_npy(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", two_doubles));
        check_error(read, {"broken.npy", "descr", "<c16"});
    }
    SUBCASE("'|' byte order on a multi-byte type") {
        write_file(path, make_npy(1, "{'descr': '|f8', 'fortran_order': False, 'shape': (2,), }", two_doubles));
        check_error(read, {"broken.npy", "descr", "|f8"});
    }
    SUBCASE("structured descr") {
        write_file(path, make_npy(1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", two_doubles));
        check_error(read, {"broken.npy", "descr", "structured"});
    }
    SUBCASE("missing key") {
        write_file(path, make_npy(1, "{'descr': '<f8', 'shape': (2,), }", two_doubles));
        check_error(read, {"broken.npy", "fortran_order", "missing"});
    }
    SUBCASE("unexpected key") {
        write_file(path, make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", two_doubles));
        check_error(read, {"broken.npy", "key 'x'", "unexpected"});
    }
    SUBCASE("negative extent") {
        write_file(path, make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", two_doubles));
        check_error(read, {"broken.npy", "shape", "non-negative"});
    }
    SUBCASE("bad fortran_order") {
        write_file(path, make_npy(1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,), }", two_doubles));
        check_error(read, {"broken.npy", "fortran_order", "True or False"});
    }
    SUBCASE("unterminated dict") {
        write_file(path, make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)", two_doubles));
        check_error(read, {"broken.npy", "header", "expected ',' or '}'"});
    }
    SUBCASE("shape overflow") {
        write_file(path, make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""));
        check_error(read, {"broken.npy", "shape", "overflows"});
    }
    SUBCASE("writing bf16") {
        check_error([&] { io::write_npy(path, io::from_values<float>({1}, io::dtype::bf16, std::vector<float>{1.0f})); },
                    {"broken.npy", "dtype", "bfloat16"});
        CHECK_FALSE(fs::exists(path));
    }
    SUBCASE("writing inconsistent tensor_data") {
        io::tensor_data bad{{2, 2}, io::dtype::f32, std::vector<std::byte>(12)};
        check_error([&] { io::write_npy(path, bad); }, {"broken.npy", "expected 16 bytes", "found 12"});
    }
}

TEST_CASE("npy write replaces an existing file") {
    temp_dir dir;
    const auto path = dir / "x.npy";
    io::write_npy(path, io::from_values<double>({2}, io::dtype::f64, std::vector<double>{1, 2}));
    io::write_npy(path, io::from_values<double>({3}, io::dtype::i32, std::vector<double>{4, 5, 6}));
    CHECK(io::to_values<int>(io::read_npy(path)) == std::vector<int>{4, 5, 6});
    CHECK_FALSE(fs::exists(dir / "x.npy.tmp"));
}

TEST_CASE_TEMPLATE("matrices and vectors round trip through npy", Scalar, float, double) {
    temp_dir dir;
    sparse_distill::matrix<Scalar> m(2, 3);
    m << Scalar(1), Scalar(2.5), Scalar(-3), Scalar(4), Scalar(0.125), Scalar(6);
    sparse_distill::vector<Scalar> v(4);
    v << Scalar(-1), Scalar(0), Scalar(1), Scalar(1e-3);
    io::write_npy(dir / "m.npy", io::from_matrix<Scalar>(m));
    io::write_npy(dir / "v.npy", io::from_vector<Scalar>(v));
    const auto m_back = io::read_npy(dir / "m.npy");
    CHECK(m_back.type == (std::is_same_v<Scalar, float> ? io::dtype::f32 : io::dtype::f64));
    CHECK(io::to_matrix<Scalar>(m_back, "m.npy") == m);
    CHECK(io::to_vector<Scalar>(io::read_npy(dir / "v.npy"), "v.npy") == v);
    // Row-major storage: element (0, 1) is the second value in the file.
    CHECK(io::to_values<double>(m_back)[1] == 2.5);
}

TEST_CASE("to_matrix and to_vector reject the wrong rank, naming the source") {
    const auto vector3 = io::from_values<double>({3}, io::dtype::f64, std::vector<double>{1, 2, 3});
    const auto matrix = io::from_values<double>({1, 3}, io::dtype::f64, std::vector<double>{1, 2, 3});
    check_error([&] { (void)io::to_matrix<double>(vector3, "file.safetensors: tensor 'W_enc'"); },
                {"file.safetensors: tensor 'W_enc': expected a 2-D tensor, got shape [3]"});
    check_error([&] { (void)io::to_vector<float>(matrix, "b.npy"); }, {"b.npy: expected a 1-D tensor, got shape [1, 3]"});
    io::tensor_data short_bytes{{2, 2}, io::dtype::f64, std::vector<std::byte>(8)};
    check_error([&] { (void)io::to_matrix<double>(short_bytes, "w.npy"); }, {"w.npy", "expected 32 bytes", "found 8"});
}

TEST_CASE("integer conversions are exact or throw") {
    const auto fractional = io::from_values<double>({2}, io::dtype::f64, std::vector<double>{1.0, 2.5});
    check_error([&] { (void)io::to_values<std::int64_t>(fractional); }, {"index 1", "not an integer"});
    const auto nan = io::from_values<double>({1}, io::dtype::f32, std::vector<double>{std::nan("")});
    check_error([&] { (void)io::to_values<int>(nan); }, {"index 0"});
    const auto large = io::from_values<std::int64_t>({1}, io::dtype::i64, std::vector<std::int64_t>{1LL << 40});
    check_error([&] { (void)io::to_values<std::int32_t>(large); }, {"does not fit"});
    check_error([&] { (void)io::from_values<double>({1}, io::dtype::i32, std::vector<double>{3e9}); }, {"index 0"});
    check_error([&] { (void)io::from_values<double>({2, 2}, io::dtype::f32, std::vector<double>{1, 2, 3}); },
                {"from_values", "expected 16 bytes", "found 12"});
    CHECK(io::to_values<std::int64_t>(io::from_values<float>({1}, io::dtype::f32, std::vector<float>{-7.0f})) ==
          std::vector<std::int64_t>{-7});
}

TEST_CASE("reference npy files read with the documented shapes") {
    SD_REQUIRE_SHARED_DATA("reference/train_step/inputs.npy");
    const auto reference = sd_test::shared_data_dir() / "reference";
    const auto inputs = io::read_npy(reference / "train_step/inputs.npy");
    CHECK(inputs.type == io::dtype::f64);
    CHECK(inputs.shape == std::vector<std::int64_t>{96, 16});
    const auto x = io::to_matrix<double>(inputs, "inputs.npy");
    CHECK(x.allFinite());
    CHECK(x.norm() > 0.0);

    const auto values = io::read_npy(reference / "safetensors_dtypes/values_f64.npy");
    CHECK(values.shape == std::vector<std::int64_t>{3, 4});
    // Writing it back reproduces numpy's file byte for byte: same header text, padding and data.
    temp_dir dir;
    io::write_npy(dir / "values_f64.npy", values);
    CHECK(read_file(dir / "values_f64.npy") == read_file(reference / "safetensors_dtypes/values_f64.npy"));
    const auto tokens = io::read_npy(reference / "mlp_gpt2/tokens.npy");
    CHECK(tokens.type == io::dtype::i64);
    CHECK(tokens.shape == std::vector<std::int64_t>{2, 16});
    for (const auto token : io::to_values<std::int64_t>(tokens)) CHECK((token >= 0 && token < 64));
}


// One element of `type` holding `value`, in little- or big-endian byte order.
std::string element_bytes(io::dtype type, double value, bool big) {
    auto encode = [&](std::uint64_t bits, int count) { return big ? be_bytes(bits, count) : le_bytes(bits, count); };
    switch (type) {
        case io::dtype::f16: return encode(io::detail::half_format::encode(value), 2);
        case io::dtype::f32: return encode(bits_of(static_cast<float>(value)), 4);
        case io::dtype::f64: return encode(bits_of(value), 8);
        case io::dtype::i32: return encode(static_cast<std::uint32_t>(static_cast<std::int32_t>(value)), 4);
        case io::dtype::i64: return encode(static_cast<std::uint64_t>(static_cast<std::int64_t>(value)), 8);
        case io::dtype::bf16: break;
    }
    return {};
}

std::string descr_of(io::dtype type, bool big) {
    const char order = big ? '>' : '<';
    switch (type) {
        case io::dtype::f16: return order + std::string("f2");
        case io::dtype::f32: return order + std::string("f4");
        case io::dtype::f64: return order + std::string("f8");
        case io::dtype::i32: return order + std::string("i4");
        case io::dtype::i64: return order + std::string("i8");
        case io::dtype::bf16: break;
    }
    return {};
}

std::span<const std::byte> as_span(const std::string& bytes) { return std::as_bytes(std::span(bytes.data(), bytes.size())); }


TEST_CASE("npy reads every dtype in both byte orders, both memory orders and formats 1.0, 2.0 and 3.0") {
    temp_dir dir;
    // Element (i, j) of the [3, 4] array is 4i + j − 5.5 for floats (exact in f2) and 4i + j − 5 for integers.
    for (const auto type : {io::dtype::f16, io::dtype::f32, io::dtype::f64, io::dtype::i32, io::dtype::i64})
        for (const bool big : {false, true})
            for (const bool fortran : {false, true})
                for (const int major : {1, 2, 3}) {
                    CAPTURE(io::dtype_name(type));
                    CAPTURE(big);
                    CAPTURE(fortran);
                    CAPTURE(major);
                    const double offset = type == io::dtype::i32 || type == io::dtype::i64 ? -5.0 : -5.5;
                    std::vector<double> expected;
                    for (int i = 0; i < 3; ++i)
                        for (int j = 0; j < 4; ++j) expected.push_back(4 * i + j + offset);
                    std::string data;
                    for (int outer = 0; outer < (fortran ? 4 : 3); ++outer)
                        for (int inner = 0; inner < (fortran ? 3 : 4); ++inner) {
                            const int i = fortran ? inner : outer, j = fortran ? outer : inner;
                            data += element_bytes(type, expected[static_cast<std::size_t>(4 * i + j)], big);
                        }
                    const std::string dict = "{'descr': '" + descr_of(type, big) + "', 'fortran_order': " +
                                             (fortran ? "True" : "False") + ", 'shape': (3, 4), }\n";
                    const std::string file = make_npy(major, dict, data);
                    write_file(dir / "a.npy", file);

                    const auto from_file = io::read_npy(dir / "a.npy");
                    const auto from_memory = io::parse_npy(as_span(file), "a.npy");
                    CHECK(from_file.type == type);
                    CHECK(from_file.shape == std::vector<std::int64_t>{3, 4});
                    CHECK(io::to_values<double>(from_file) == expected);
                    CHECK(from_memory.bytes == from_file.bytes);
                    CHECK(from_memory.shape == from_file.shape);

                    // Written back it is little-endian C order, and reads back to the same tensor.
                    io::write_npy(dir / "b.npy", from_file);
                    const auto again = io::read_npy(dir / "b.npy");
                    CHECK(again.type == type);
                    CHECK(again.bytes == from_file.bytes);
                    CHECK(read_file(dir / "b.npy").find("'descr': '" + descr_of(type, false) + "', 'fortran_order': False") !=
                          std::string::npos);
                }
}

TEST_CASE("npy corrupted files: each is rejected with the file, the field and what was expected") {
    temp_dir dir;
    const std::string f8_2 = le_bytes(bits_of(1.0), 8) + le_bytes(bits_of(2.0), 8);
    auto v1 = [&](const std::string& dict, const std::string& data = "") { return make_npy(1, dict, data); };
    auto dict_with = [](const std::string& descr, const std::string& order, const std::string& shape) {
        return "{'descr': " + descr + ", 'fortran_order': " + order + ", 'shape': " + shape + ", }";
    };
    struct corrupted {
        std::string name;
        std::string bytes;
        std::vector<std::string> expected;  // fragments of the message after "<file>: "
    };
    const std::vector<corrupted> table{
        {"empty file", "", {"magic: expected at least 8 bytes", "found 0"}},
        {"bad magic", std::string("\x93NUMPZ\x01\x00", 8) + le_bytes(2, 2) + "{}", {"magic: expected \\x93NUMPY"}},
        {"version 0.0", std::string("\x93NUMPY\x00\x00", 8) + le_bytes(2, 2) + "{}", {"version: expected 1.0, 2.0 or 3.0, found 0.0"}},
        {"version 1.1", std::string("\x93NUMPY\x01\x01", 8) + le_bytes(2, 2) + "{}", {"version: expected 1.0, 2.0 or 3.0, found 1.1"}},
        {"header length cut off", std::string("\x93NUMPY\x01\x00", 8) + "\x05", {"header length: expected 2 bytes at offset 8", "only 9 bytes"}},
        {"header length beyond the file (v1)", std::string("\x93NUMPY\x01\x00", 8) + le_bytes(0xFFFF, 2) + "{'descr'",
         {"header length: header of 65535 bytes runs past the end of the file (18 bytes)"}},
        {"header length beyond the file (v2, 4 GiB)", std::string("\x93NUMPY\x02\x00", 8) + le_bytes(0xFFFFFFFF, 4) + "{}",
         {"header length: header of 4294967295 bytes runs past the end"}},
        {"empty header", v1(""), {"header: expected the opening '{' of the header dict, found the end of the header"}},
        {"header is a list", v1("['<f8', False, (2,)]"), {"header: expected the opening '{'", "found '['"}},
        {"binary in the header", v1(std::string("{\x01\xff", 3)), {"header: expected a quoted key, found '\\x01\\xff'"}},
        {"unterminated key", v1("{'descr: 1}"), {"header: unterminated string starting at offset 1"}},
        {"no colon", v1("{'descr' '<f8'}"), {"header: expected ':' after key 'descr'"}},
        {"text after the dict", v1(dict_with("'<f8'", "False", "(2,)") + " x", f8_2), {"header: unexpected text after the closing '}'"}},
        {"unterminated dict", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)", f8_2), {"header: expected ',' or '}'"}},
        {"missing descr", v1("{'fortran_order': False, 'shape': (2,)}", f8_2), {"descr: missing from the header dict"}},
        {"missing fortran_order", v1("{'descr': '<f8', 'shape': (2,)}", f8_2), {"fortran_order: missing from the header dict"}},
        {"missing shape", v1("{'descr': '<f8', 'fortran_order': False}", f8_2), {"shape: missing from the header dict"}},
        {"duplicate key", v1("{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", f8_2), {"descr: appears twice"}},
        {"unknown key", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'align': True}", f8_2),
         {"key 'align': unexpected; expected only 'descr', 'fortran_order' and 'shape'"}},
        {"descr not a string", v1(dict_with("8", "False", "(2,)"), f8_2), {"header: expected a quoted dtype string"}},
        {"structured descr", v1(dict_with("[('a', '<f8')]", "False", "(2,)"), f8_2), {"descr: structured dtypes"}},
        {"1-byte signed integer", v1(dict_with("'|i1'", "False", "(2,)"), "\x01\x00"), {"descr: unsupported dtype '|i1' (1-byte integer", "expected one of <f2 <f4 <f8 <i4 <i8"}},
        {"object dtype", v1(dict_with("'|O'", "False", "(2,)"), f8_2), {"descr: unsupported dtype '|O' (Python objects; pickled data is never loaded)"}},
        {"complex dtype", v1(dict_with("'<c16'", "False", "(1,)"), f8_2), {"descr: unsupported dtype '<c16' (complex)"}},
        {"unicode dtype", v1(dict_with("'<U4'", "False", "(1,)"), f8_2), {"descr: unsupported dtype '<U4' (unicode string)"}},
        {"byte string dtype", v1(dict_with("'|S16'", "False", "(1,)"), f8_2), {"descr: unsupported dtype '|S16' (byte string)"}},
        {"unsigned dtype", v1(dict_with("'<u4'", "False", "(4,)"), f8_2), {"descr: unsupported dtype '<u4' (unsigned integer; only 1-byte unsigned integers are supported)"}},
        {"2-byte integer", v1(dict_with("'<i2'", "False", "(8,)"), f8_2), {"descr: unsupported dtype '<i2' (2-byte integer"}},
        {"long double", v1(dict_with("'<f16'", "False", "(1,)"), f8_2), {"descr: unsupported dtype '<f16' (16-byte float"}},
        {"datetime", v1(dict_with("'<M8[ns]'", "False", "(2,)"), f8_2), {"descr: unsupported dtype '<M8[ns]' (datetime)"}},
        {"empty descr", v1(dict_with("''", "False", "(2,)"), f8_2), {"descr: unsupported dtype '' (empty)"}},
        {"'|' on a multi-byte type", v1(dict_with("'|f8'", "False", "(2,)"), f8_2), {"descr: byte order '|' in '|f8' is invalid"}},
        {"fortran_order lowercase", v1(dict_with("'<f8'", "false", "(2,)"), f8_2), {"fortran_order: expected True or False, found 'false"}},
        {"shape a list", v1(dict_with("'<f8'", "False", "[2]"), f8_2), {"shape: expected a tuple such as (3, 4), found '[2]"}},
        {"shape nested", v1(dict_with("'<f8'", "False", "((2,),)"), f8_2), {"shape: expected an integer extent, found '(2,),)"}},
        {"shape with a float", v1(dict_with("'<f8'", "False", "(2.0,)"), f8_2), {"shape: expected ',' or ')' in the shape tuple"}},
        {"negative extent", v1(dict_with("'<f8'", "False", "(2, -1)"), f8_2), {"shape: expected a non-negative extent, found '-1)"}},
        {"extent beyond 64 bits", v1(dict_with("'<f8'", "False", "(99999999999999999999,)"), f8_2), {"shape: extent does not fit in 64 bits"}},
        {"element count overflows", v1(dict_with("'<f8'", "False", "(4294967296, 4294967296)")), {"shape: [4294967296, 4294967296] of '<f8' overflows the byte count"}},
        {"byte count overflows", v1(dict_with("'<f8'", "False", "(2305843009213693952,)")), {"shape: [2305843009213693952] of '<f8' overflows"}},
        {"10^15 elements claimed", v1(dict_with("'<f8'", "False", "(1000000000000000,)"), f8_2),
         {"data: expected 8000000000000000 bytes for '<f8' shape [1000000000000000], found 16", "truncated"}},
        {"10^15 rows of zero columns is empty but has data", v1(dict_with("'<f8'", "False", "(1000000000000000, 0)"), f8_2),
         {"data: expected 0 bytes", "found 16", "unexpected bytes after the data"}},
        {"truncated data", v1(dict_with("'<f8'", "False", "(2,)"), f8_2.substr(0, 15)), {"data: expected 16 bytes for '<f8' shape [2], found 15: the file is truncated"}},
        {"trailing bytes", v1(dict_with("'<f8'", "False", "(2,)"), f8_2 + "!"), {"data: expected 16 bytes", "found 17: unexpected bytes after the data"}},
        {"scalar with no data", v1(dict_with("'<i4'", "False", "()")), {"data: expected 4 bytes for '<i4' shape [], found 0"}},
    };
    for (const auto& entry : table) {
        CAPTURE(entry.name);
        const auto path = dir / "corrupt.npy";
        write_file(path, entry.bytes);
        std::vector<std::string> from_file{path.string() + ": "}, from_memory{"in_memory.npy: "};
        for (const auto& fragment : entry.expected) from_file.push_back(fragment), from_memory.push_back(fragment);
        std::string message = "<no io_error thrown>";
        try {
            (void)io::read_npy(path);
        } catch (const io::io_error& error) {
            message = error.what();
        }
        INFO("read_npy: " << message);
        CHECK(message.rfind(path.string() + ": ", 0) == 0);
        for (const auto& fragment : entry.expected) CHECK(message.find(fragment) != std::string::npos);
        message = "<no io_error thrown>";
        try {
            (void)io::parse_npy(as_span(entry.bytes), "in_memory.npy");
        } catch (const io::io_error& error) {
            message = error.what();
        }
        INFO("parse_npy: " << message);
        CHECK(message.rfind("in_memory.npy: ", 0) == 0);
        for (const auto& fragment : entry.expected) CHECK(message.find(fragment) != std::string::npos);
    }
}

TEST_CASE("npy parse_npy survives mutated and truncated files with io_error or a consistent tensor") {
    // A deterministic mini-fuzz: every prefix of a valid file, and byte mutations of it. Each input
    // must parse into a tensor whose bytes match its shape and dtype, or throw io_error; nothing else.
    std::string data;
    for (int k = 0; k < 6; ++k) data += le_bytes(bits_of(static_cast<float>(k) - 2.5f), 4);
    const std::string valid = make_npy(1, "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }\n", data);
    std::mt19937 random(12345);
    std::vector<std::string> inputs;
    for (std::size_t n = 0; n <= valid.size(); ++n) inputs.push_back(valid.substr(0, n));
    const std::string alphabet = "{}()[],:' \"0123456789-LTrueFalsdescrhapotin<>|=f248\n\x93\x00\xff";
    for (int k = 0; k < 3000; ++k) {
        std::string mutated = valid;
        for (int edits = 1 + static_cast<int>(random() % 3); edits > 0; --edits) {
            const std::size_t at = random() % mutated.size();
            switch (random() % 3) {
                case 0: mutated[at] = alphabet[random() % alphabet.size()]; break;
                case 1: mutated.erase(at, 1); break;
                default: mutated.insert(at, 1, alphabet[random() % alphabet.size()]); break;
            }
        }
        inputs.push_back(mutated);
    }
    int parsed = 0, rejected = 0;
    for (const auto& input : inputs) {
        try {
            const auto tensor = io::parse_npy(as_span(input), "mutant.npy");
            const auto bytes = io::detail::byte_count(tensor.shape, io::dtype_size(tensor.type));
            REQUIRE(bytes);
            CHECK(*bytes == tensor.bytes.size());
            ++parsed;
        } catch (const io::io_error& error) {
            CHECK(std::string(error.what()).rfind("mutant.npy: ", 0) == 0);
            ++rejected;
        }
    }
    CHECK(parsed >= 1);  // at least the unmutated prefix of full length
    CHECK(rejected > 1000);
}

TEST_CASE("npy parse_npy of a reference file equals read_npy") {
    SD_REQUIRE_SHARED_DATA("reference/mlp_gpt2/mlp0_in.npy");
    const auto path = sd_test::shared_data_dir() / "reference/mlp_gpt2/mlp0_in.npy";
    const std::string bytes = read_file(path);
    const auto parsed = io::parse_npy(as_span(bytes), path);
    const auto read = io::read_npy(path);
    CHECK(parsed.shape == std::vector<std::int64_t>{32, 32});
    CHECK(parsed.type == io::dtype::f64);
    CHECK(parsed.bytes == read.bytes);
}

}  // namespace io_npy_test
