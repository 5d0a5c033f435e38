#pragma once
// Module umbrella: plots as inline SVG and self-contained HTML reports, with no dependency beyond
// the standard library.
#include "report/html_document.hpp"
#include "report/svg_plot.hpp"
#include "report/analysis_figures.hpp"
#include "report/token_highlight.hpp"
