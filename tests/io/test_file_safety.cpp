// Files that are not what a reader expects (issue 18): a FIFO or a directory given as a file is refused
// at once instead of blocking; a student file holding NaN or Inf is refused when it is read, naming
// the file and the tensor; an output folder that cannot be written is found before any work; and
// file fingerprints tell the same file by another path from a changed one.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>
#include <sparse_distill/io/checksum.hpp>

#include "support/temp_files.hpp"
#include "support/thrown_message.hpp"

#include <cmath>
#include <limits>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace io_file_safety_test {

sd::student_config small_student() {
    sd::student_config c;
    c.d_in = c.d_out = 4;
    c.d_sae = 6;
    return c;
}



TEST_CASE("a FIFO, a directory or a device given as a file is refused without blocking") {
    sd_test::temp_dir dir("sd_fifo");
    const auto fifo = dir / "pipe.npy";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Each would block forever in open() if the reader opened the FIFO (no writer ever comes).
    CHECK(sd_test::thrown_message([&] { sd::io::read_npy(fifo); }) == fifo.string() + ": file: is a FIFO (named pipe); expected a regular file");
    CHECK(sd_test::thrown_message([&] { sd::io::read_safetensors(fifo); }) == fifo.string() + ": file: is a FIFO (named pipe); expected a regular file");
    CHECK(sd_test::thrown_message([&] { sd::io::import_teacher<float>(fifo, sd::io::teacher_format::automatic, 0); }).find("FIFO") != std::string::npos);
    CHECK(sd_test::thrown_message([&] { sd::io::read_text_file(fifo); }) == fifo.string() + ": file: is a FIFO (named pipe); expected a regular file");
    CHECK(sd_test::thrown_message([&] { sd::io::expand_file_pattern(fifo.string()); }).find("FIFO") != std::string::npos);
    CHECK(sd_test::thrown_message([&] { sd::io::file_fingerprint(fifo); }).find("FIFO") != std::string::npos);
    CHECK(sd_test::thrown_message([&] { sd::io::read_npy(dir.path); }) == dir.path.string() + ": file: is a directory; expected a regular file");
    CHECK(sd_test::thrown_message([&] { sd::io::read_npy("/dev/null"); }) == "/dev/null: file: is a character device; expected a regular file");
    CHECK(sd_test::thrown_message([&] { sd::io::read_npy(dir / "missing.npy"); }) == (dir / "missing.npy").string() + ": file: does not exist");
}

TEST_CASE_TEMPLATE("a student file with NaN or Inf weights is refused when read, naming the file and the tensor", Scalar, float, double) {
    sd_test::temp_dir dir("sd_nan_student");
    const sd::student_config c = small_student();
    sd::student_mlp<double> student(c, 4);
    for (const double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        for (const std::string tensor : {"W_enc", "b_dec"}) {
            CAPTURE(bad);
            CAPTURE(tensor);
            sd::student_weights<double> w = student.weights();
            if (tensor == "W_enc") w.w_enc(2, 3) = bad;
            else w.b_dec(1) = bad;
            const auto folder = dir / ("student_" + tensor + (std::isnan(bad) ? "_nan" : "_inf"));
            sd::io::write_student(folder, sd::io::student_format::saelens, c, w);
            const std::string message = sd_test::thrown_message([&] { sd::io::read_student<Scalar>(folder); });
            const std::string where = tensor == "W_enc" ? "[2, 3]" : "[1]";
            CHECK(message.find(folder.string() + ": weights " + tensor) == 0);
            CHECK(message.find(std::string(std::isnan(bad) ? "NaN" : "Inf") + " at " + where) != std::string::npos);
        }
    }
    // A finite f64 value beyond f32's range becomes Inf when read as f32, and is refused there.
    sd::student_weights<double> huge = student.weights();
    huge.w_dec(0, 0) = 1e300;
    sd::io::write_student(dir / "huge", sd::io::student_format::saelens, c, huge);
    if constexpr (std::is_same_v<Scalar, float>)
        CHECK(sd_test::thrown_message([&] { sd::io::read_student<float>(dir / "huge"); }).find("weights W_dec [d_sae, d_out]: Inf at [0, 0] (as f32)") !=
              std::string::npos);
    else
        CHECK(sd_test::thrown_message([&] { sd::io::read_student<double>(dir / "huge"); }) == "<nothing thrown>");
}

TEST_CASE("an output folder that cannot be written is found before any work, naming the path given") {
    sd_test::temp_dir dir("sd_destination");
    sd_test::write_file(dir / "a_file", "x");
    CHECK(sd_test::thrown_message([&] { sd::io::check_student_destination(dir / "a_file"); }) ==
          (dir / "a_file").string() + ": folder: exists and is not a folder");
    CHECK(sd_test::thrown_message([&] { sd::io::check_student_destination(dir / "a_file" / "student"); })
              .find((dir / "a_file" / "student").string() + ": folder: its parent " + (dir / "a_file").string() + " is not a folder") == 0);
    CHECK(sd_test::thrown_message([&] { sd::io::check_student_destination(dir / "new" / "student"); }) == "<nothing thrown>");
    CHECK(std::filesystem::is_directory(dir / "new"));
    CHECK(std::filesystem::is_empty(dir / "new"));  // the probe is gone
    if (::geteuid() != 0) {  // root writes anywhere
        std::filesystem::create_directory(dir / "locked");
        std::filesystem::permissions(dir / "locked", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
        CHECK(sd_test::thrown_message([&] { sd::io::check_student_destination(dir / "locked" / "student"); })
                  .find((dir / "locked" / "student").string() + ": folder: cannot write in") == 0);
        std::filesystem::permissions(dir / "locked", std::filesystem::perms::owner_all);
    }
}

TEST_CASE("file fingerprints: the same file by another path matches, a changed byte or size does not") {
    sd_test::temp_dir dir("sd_fingerprint");
    sd_test::write_file(dir / "a.npy", std::string(1000, 'a'));
    const std::string fingerprint = sd::io::file_fingerprint(dir / "a.npy");
    CHECK(fingerprint.find("1000 bytes, xxh3:") == 0);
    CHECK(fingerprint.find("of the whole file") != std::string::npos);
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path);
    CHECK(sd::io::file_fingerprint("a.npy") == fingerprint);
    CHECK(sd::io::file_fingerprint("./../" + dir.path.filename().string() + "/a.npy") == fingerprint);
    std::filesystem::current_path(cwd);
    std::string changed(1000, 'a');
    changed[500] = 'b';
    sd_test::write_file(dir / "a.npy", changed);
    CHECK(sd::io::file_fingerprint(dir / "a.npy") != fingerprint);
    sd_test::write_file(dir / "a.npy", std::string(1001, 'a'));
    CHECK(sd::io::file_fingerprint(dir / "a.npy").find("1001 bytes") == 0);
    // Above the whole-file limit a file is sampled: a changed header is still seen.
    const auto big = dir / "big.bin";
    {
        std::ofstream out(big, std::ios::binary);
        out.seekp(static_cast<std::streamoff>(sd::io::fingerprint_full_limit + (1 << 20)));
        out.put('z');
    }
    const std::string sampled = sd::io::file_fingerprint(big);
    CHECK(sampled.find("of 64 sampled blocks") != std::string::npos);
    {
        std::fstream edit(big, std::ios::binary | std::ios::in | std::ios::out);
        edit.seekp(10);
        edit.put('h');
    }
    CHECK(sd::io::file_fingerprint(big) != sampled);
    // A folder's fingerprint lists its files by name.
    sd_test::write_file(dir / "b.npy", "bb");
    std::filesystem::remove(big);
    const std::string folder = sd::io::path_fingerprint(dir.path);
    CHECK(folder.find("a.npy: 1001 bytes") == 0);
    CHECK(folder.find("; b.npy: 2 bytes") != std::string::npos);
}

}  // namespace io_file_safety_test
