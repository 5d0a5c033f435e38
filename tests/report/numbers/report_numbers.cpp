// report_numbers REPORT.html METRICS.json CHECK...
//
// Checks that numbers printed in a report's tables are the ones in metrics.json. Each CHECK is
// "ROW|COLUMN|JSON.PATH[|SCALE]": in the table row whose first cell reads ROW, the cell COLUMN (0 is
// that first cell) must print the value at JSON.PATH (dot-separated keys, array indices as numbers)
// times SCALE (default 1; 100 for a percentage), to the precision the cell shows: half a unit of its
// last printed decimal, or 5e-4 relative for a number printed with an exponent. Exit status 0 when
// every check holds, 1 otherwise, each check printed.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string read_all(const char* path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string(path) + ": cannot open");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + 1)
        parts.push_back(text.substr(start, at - start));
    parts.push_back(text.substr(start));
    return parts;
}

// The text of each <td> of the table row whose first cell is `key` (empty when there is none).
std::vector<std::string> row_cells(const std::string& html, const std::string& key) {
    for (std::size_t row = html.find("<tr>"); row != std::string::npos; row = html.find("<tr>", row + 4)) {
        const std::size_t end = html.find("</tr>", row);
        if (end == std::string::npos) break;
        std::vector<std::string> cells;
        for (std::size_t cell = html.find("<td", row); cell != std::string::npos && cell < end; cell = html.find("<td", cell + 3)) {
            const std::size_t open = html.find('>', cell) + 1, close = html.find("</td>", open);
            cells.push_back(html.substr(open, close - open));
        }
        if (!cells.empty() && cells.front() == key) return cells;
    }
    return {};
}

const nlohmann::json& at_path(const nlohmann::json& root, const std::string& path) {
    const nlohmann::json* node = &root;
    for (const std::string& key : split(path, '.'))
        node = node->is_array() ? &node->at(std::stoul(key)) : &node->at(key);
    return *node;
}

// Half a unit of the last printed digit of `text` (a number as the report prints it), or a relative
// 5e-4 of `value` when it carries an exponent.
double printed_precision(const std::string& text, double value) {
    if (text.find_first_of("eE") != std::string::npos) return 5e-4 * std::abs(value);
    const std::size_t point = text.find('.');
    int decimals = 0;
    if (point != std::string::npos)
        while (point + 1 + decimals < text.size() && std::isdigit(static_cast<unsigned char>(text[point + 1 + decimals]))) ++decimals;
    return 0.5 * std::pow(10.0, -decimals) * (1 + 1e-9);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: report_numbers REPORT.html METRICS.json ROW|COLUMN|JSON.PATH[|SCALE]...\n");
        return 2;
    }
    try {
        const std::string html = read_all(argv[1]);
        const nlohmann::json metrics = nlohmann::json::parse(read_all(argv[2]));
        bool ok = true;
        for (int i = 3; i < argc; ++i) {
            const std::vector<std::string> check = split(argv[i], '|');
            if (check.size() < 3) throw std::runtime_error(std::string("bad check '") + argv[i] + "'");
            const std::vector<std::string> cells = row_cells(html, check[0]);
            const std::size_t column = std::stoul(check[1]);
            if (column >= cells.size()) {
                std::printf("FAIL %s: no row '%s' with a cell %zu in the report\n", argv[i], check[0].c_str(), column);
                ok = false;
                continue;
            }
            const std::string& text = cells[column];
            char* end = nullptr;
            const double printed = std::strtod(text.c_str(), &end);
            if (end == text.c_str()) {
                std::printf("FAIL %s: the cell reads '%s', not a number\n", argv[i], text.c_str());
                ok = false;
                continue;
            }
            const double scale = check.size() > 3 ? std::stod(check[3]) : 1.0;
            const double expected = at_path(metrics, check[2]).get<double>() * scale;
            const double tolerance = printed_precision(text.substr(0, static_cast<std::size_t>(end - text.c_str())), expected);
            const bool agrees = std::abs(printed - expected) <= tolerance;
            std::printf("%s %s: the report prints '%s', metrics.json has %.9g (tolerance %.3g)\n", agrees ? "ok  " : "FAIL", argv[i],
                        text.c_str(), expected, tolerance);
            ok = ok && agrees;
        }
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "report_numbers: %s\n", e.what());
        return 1;
    }
}
