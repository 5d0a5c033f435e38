// Cached (input, target) pairs: every row once per pass, pairs kept together, a new order each pass.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include <numeric>
#include <set>

namespace sd = sparse_distill;

TEST_CASE("paired_source: each pass is a permutation of the rows, inputs stay with their targets") {
    sd::matrix<double> x(10, 2), y(10, 1);
    for (int r = 0; r < 10; ++r) {
        x.row(r) << r, -r;
        y(r, 0) = 100 + r;
    }
    sd::data::paired_source<double> src(x, y, 7);
    sd::matrix<double> bx(5, 2), by(5, 1);
    std::vector<int> first_pass, second_pass;
    for (int b = 0; b < 4; ++b) {
        REQUIRE(src.next_batch(bx, by));
        for (int r = 0; r < 5; ++r) {
            CHECK(by(r, 0) == 100 + bx(r, 0));
            CHECK(bx(r, 1) == -bx(r, 0));
            (b < 2 ? first_pass : second_pass).push_back(int(bx(r, 0)));
        }
    }
    CHECK(std::set<int>(first_pass.begin(), first_pass.end()).size() == 10);
    CHECK(std::set<int>(second_pass.begin(), second_pass.end()).size() == 10);
    CHECK(first_pass != second_pass);
    std::vector<int> in_order(10);
    std::iota(in_order.begin(), in_order.end(), 0);
    CHECK(first_pass != in_order);
    sd::data::paired_source<double> ordered(x, y, 7, /*shuffle=*/false);
    ordered.next_batch(bx, by);
    CHECK(bx(4, 0) == 4);
    CHECK_THROWS_WITH(sd::data::paired_source<double>(x, sd::matrix<double>(3, 1), 1), doctest::Contains("10 inputs but 3"));
}
