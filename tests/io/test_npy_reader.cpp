// Streaming .npy reads (npy_reader): row ranges equal the whole-file read for every dtype, byte
// order and memory order, at any chunk size; a file far larger than the reads is never loaded;
// and shard lists from file patterns.
#include "sparse_distill/io.hpp"
#include "support/temp_files.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
#include "support/thrown_message.hpp"

namespace io = sparse_distill::io;
namespace fs = std::filesystem;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace io_npy_reader_test {

using sd_test::le_bytes;
using sd_test::write_file;

struct temp_dir : sd_test::temp_dir {
    temp_dir() : sd_test::temp_dir("sd_test_npy_reader") {}
};

std::string npy_file(const std::string& dict, const std::string& data) {
    return std::string("\x93NUMPY\x01\x00", 8) + le_bytes(dict.size(), 2) + dict + data;
}

// A [rows, cols] tensor of `type` with element (i, j) = i·cols + j − 7 (exact in every dtype), as the
// file would hold it in the given memory order and byte order.
io::tensor_data numbered(io::dtype type, std::int64_t rows, std::int64_t cols) {
    std::vector<double> values;
    for (std::int64_t i = 0; i < rows * cols; ++i) values.push_back(static_cast<double>(i) - 7.0);
    return io::from_values<double>({rows, cols}, type, values);
}

// Writes `tensor` (C order, little-endian) re-encoded as `descr` with the given orders.
void write_variant(const fs::path& path, const io::tensor_data& tensor, bool big, bool fortran) {
    const std::size_t size = io::dtype_size(tensor.type);
    const std::int64_t rows = tensor.shape[0], cols = tensor.shape.size() == 2 ? tensor.shape[1] : 1;
    std::string data;
    for (std::int64_t k = 0; k < rows * cols; ++k) {
        const std::int64_t i = fortran ? k % rows : k / cols, j = fortran ? k / rows : k % cols;
        std::string element(reinterpret_cast<const char*>(tensor.bytes.data()) + (i * cols + j) * size, size);
        if (big) element.assign(element.rbegin(), element.rend());
        data += element;
    }
    const std::string code = std::string(io::dtype_name(tensor.type)).substr(0, 1) +
                             std::to_string(io::dtype_size(tensor.type));
    std::string shape = "(" + std::to_string(rows) + (tensor.shape.size() == 2 ? ", " + std::to_string(cols) + ")" : ",)");
    write_file(path, npy_file("{'descr': '" + std::string(big ? ">" : "<") + code + "', 'fortran_order': " +
                                  (fortran ? "True" : "False") + ", 'shape': " + shape + ", }",
                              data));
}


TEST_CASE("npy_reader row ranges equal the whole-file read for every dtype, byte order and memory order") {
    temp_dir dir;
    const auto path = dir / "rows.npy";
    for (const auto type : {io::dtype::f16, io::dtype::f32, io::dtype::f64, io::dtype::i32, io::dtype::i64})
        for (const bool big : {false, true})
            for (const bool fortran : {false, true}) {
                CAPTURE(io::dtype_name(type));
                CAPTURE(big);
                CAPTURE(fortran);
                const auto tensor = numbered(type, 13, 5);
                write_variant(path, tensor, big, fortran);
                const auto whole = io::to_matrix<double>(io::read_npy(path), "rows.npy");
                // 1 byte forces one element per read; 24 splits rows across reads; 1 MiB reads at once.
                for (const std::size_t chunk : {std::size_t{1}, std::size_t{24}, std::size_t{1} << 20}) {
                    CAPTURE(chunk);
                    io::npy_reader reader(path, chunk);
                    CHECK(reader.rows() == 13);
                    CHECK(reader.cols() == 5);
                    CHECK(reader.type() == type);
                    CHECK(reader.fortran_order() == fortran);
                    for (const auto& [first, count] : {std::pair{0, 13}, std::pair{0, 1}, std::pair{4, 6}, std::pair{12, 1},
                                                      std::pair{13, 0}, std::pair{7, 6}}) {
                        CAPTURE(first);
                        CAPTURE(count);
                        CHECK(reader.read_rows<double>(first, count) == whole.middleRows(first, count));
                        CHECK(reader.read_rows<float>(first, count) == whole.middleRows(first, count).cast<float>());
                    }
                    if (type == io::dtype::i32 || type == io::dtype::i64) {
                        std::vector<std::int64_t> ids(10);
                        reader.read_rows<std::int64_t>(3, 2, std::span(ids));
                        for (int k = 0; k < 10; ++k) CHECK(ids[static_cast<std::size_t>(k)] == 15 + k - 7);
                    }
                }
            }
}

TEST_CASE("npy_reader reads 1-D files as one value per row") {
    temp_dir dir;
    const auto path = dir / "ids.npy";
    std::vector<double> values{5, 6, 7, 8};
    write_variant(path, io::from_values<double>({4}, io::dtype::i64, values), true, false);
    io::npy_reader reader(path);
    CHECK(reader.rows() == 4);
    CHECK(reader.cols() == 1);
    std::vector<std::int64_t> ids(3);
    reader.read_rows<std::int64_t>(1, 3, std::span(ids));
    CHECK(ids == std::vector<std::int64_t>{6, 7, 8});
}

TEST_CASE("npy_reader errors: rank, integer reads of floats, rows out of range, output size, malformed header") {
    temp_dir dir;
    const auto path = dir / "bad.npy";
    write_file(path, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2), }", std::string(8, '\0')));
    CHECK(sd_test::thrown_message([&] { io::npy_reader r(path); }) ==
          path.string() + ": shape: expected a 1-D [rows] or 2-D [rows, cols] array for row reads, found [1, 1, 2]");
    write_file(path, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", std::string(4, '\0')));
    CHECK(sd_test::thrown_message([&] { io::npy_reader r(path); }).find("found []") != std::string::npos);

    write_variant(path, numbered(io::dtype::f32, 4, 2), false, false);
    io::npy_reader reader(path);
    std::vector<std::int64_t> ids(2);
    CHECK(sd_test::thrown_message([&] { reader.read_rows<std::int64_t>(0, 1, std::span(ids)); }) ==
          path.string() + ": descr: expected an integer dtype (i4 or i8) for integer values, found f32");
    CHECK_THROWS_AS(reader.read_rows<double>(3, 2), std::out_of_range);
    CHECK_THROWS_AS(reader.read_rows<double>(-1, 1), std::out_of_range);
    CHECK(sd_test::thrown_message([&] { (void)reader.read_rows<double>(5, 0); }).find("the file has 4 rows") != std::string::npos);
    std::vector<double> wrong(3);
    CHECK(sd_test::thrown_message([&] { reader.read_rows<double>(0, 2, std::span(wrong)); }).find("need an output of 4, got 3") !=
          std::string::npos);

    // Opening validates like read_npy: a header claiming 10^15 rows is refused before any read.
    write_file(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000, 4), }", std::string(64, '\0')));
    CHECK(sd_test::thrown_message([&] { io::npy_reader r(path); }).find(path.string() + ": data: expected 32000000000000000 bytes") == 0);
    CHECK(sd_test::thrown_message([&] { io::npy_reader r(dir / "missing.npy"); }) == (dir / "missing.npy").string() + ": file: does not exist");
}

TEST_CASE("npy_reader streams a 4 GiB sparse file, reading only the requested rows") {
    // Rows [2^28 + 2, 4] of f32: 4 GiB + 32 bytes of data, past 32-bit offsets. The file is sparse
    // (holes read as zeros), so it costs no disk; only two rows hold values.
    temp_dir dir;
    const auto path = dir / "huge.npy";
    const std::int64_t rows = (std::int64_t{1} << 28) + 2;
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", 4), }";
    const std::string header = npy_file(dict, "");
    write_file(path, header);
    std::error_code error;
    fs::resize_file(path, header.size() + static_cast<std::uintmax_t>(rows) * 16, error);
    struct stat info {};
    if (error || ::stat(path.c_str(), &info) != 0 || info.st_blocks * 512 > (1 << 20)) {
        MESSAGE("skipped: the temporary directory's file system does not make sparse files");
        return;
    }
    auto put_row = [&](std::int64_t row, float base) {
        std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
        out.seekp(static_cast<std::streamoff>(header.size() + static_cast<std::uint64_t>(row) * 16));
        for (int j = 0; j < 4; ++j) out << le_bytes(std::bit_cast<std::uint32_t>(base + static_cast<float>(j)), 4);
    };
    put_row(rows - 1, 100.0f);
    put_row(1, -3.0f);
    io::npy_reader reader(path);
    CHECK(reader.rows() == rows);
    const auto tail = reader.read_rows<double>(rows - 2, 2);
    CHECK(tail.row(0).isZero());
    CHECK(tail(1, 0) == 100.0);
    CHECK(tail(1, 3) == 103.0);
    const auto head = reader.read_rows<float>(0, 2);
    CHECK(head.row(0).isZero());
    CHECK(head(1, 2) == -1.0f);
}

TEST_CASE("expand_file_pattern lists matching files sorted, with '*' in the file name only") {
    temp_dir dir;
    for (const auto* name : {"acts_010.npy", "acts_002.npy", "acts_001.npy", "acts_.npy", "acts_003.npz", "targets_001.npy"})
        write_file(dir / name, "x");
    fs::create_directories(dir / "acts_dir.npy");  // a directory never matches

    const auto shards = io::expand_file_pattern((dir / "acts_*.npy").string());
    CHECK(shards == std::vector<fs::path>{dir / "acts_.npy", dir / "acts_001.npy", dir / "acts_002.npy", dir / "acts_010.npy"});
    CHECK(io::expand_file_pattern((dir / "*_0*1*").string()) ==
          std::vector<fs::path>{dir / "acts_001.npy", dir / "acts_010.npy", dir / "targets_001.npy"});
    CHECK(io::expand_file_pattern((dir / "acts_002.npy").string()) == std::vector<fs::path>{dir / "acts_002.npy"});

    const std::string none = (dir / "acts_*.safetensors").string();
    CHECK(sd_test::thrown_message([&] { io::expand_file_pattern(none); }) == none + ": pattern: matches no file");
    const std::string in_directory = (dir / "*" / "a.npy").string();
    CHECK(sd_test::thrown_message([&] { io::expand_file_pattern(in_directory); }) ==
          in_directory + ": pattern: '*' is allowed in the file name only, not in the directory");
    const std::string missing = (dir / "nothere" / "a_*.npy").string();
    CHECK(sd_test::thrown_message([&] { io::expand_file_pattern(missing); }).find(": pattern: directory") != std::string::npos);
    CHECK(sd_test::thrown_message([&] { io::expand_file_pattern((dir / "nope.npy").string()); }).find("pattern: no such file") !=
          std::string::npos);

    CHECK(io::detail::wildcard_match("a*b*c", "aXbYbZc"));
    CHECK_FALSE(io::detail::wildcard_match("a*b*c", "aXbYcZ"));
    CHECK(io::detail::wildcard_match("*", ""));
    CHECK_FALSE(io::detail::wildcard_match("a", ""));
}

}  // namespace io_npy_reader_test
