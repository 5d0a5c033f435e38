#pragma once
// Greedy BPE merging: repeatedly merge the adjacent pair of highest priority, on ties the leftmost
// pair, in O(n log n) rather than the O(n²) of rescanning the whole sequence after every merge: a
// 200 KB text is ~200K symbols. The caller says what a pair's priority is: llama2.c ranks a pair by
// the score of the token it makes, Hugging Face BPE by the pair's own position in the merges list.
#include "../../detail/internal_header_check.hpp"
#include <functional>
#include <optional>
#include <queue>
#include <vector>

namespace sparse_distill::lm::detail {

/// What a lookup says of a mergeable adjacent pair: the token it merges into, and its priority
/// (higher merges first). A double holds every float score and every merge rank (negated) exactly.
struct bpe_pair_merge {
    double priority;
    int merged_id;
};

/// Merges `ids` in place. `merge(left, right)` returns a std::optional<bpe_pair_merge>: empty when the
/// pair of token ids does not merge.
///
/// Why a heap gives the same answer as rescanning: the heap holds every adjacent mergeable pair
/// (stale entries are recognised and skipped when popped), ordered by priority and then by the left
/// symbol's original position; surviving symbols keep their left-to-right order, so "smallest
/// position" is "leftmost", exactly the rescanning loop's tie-break.
template <class MergeLookup>
void merge_greedy(std::vector<int>& ids, MergeLookup&& merge) {
    const int n = static_cast<int>(ids.size());
    if (n < 2) return;
    std::vector<int> prev(ids.size()), next(ids.size());
    std::vector<char> alive(ids.size(), 1);
    for (int i = 0; i < n; ++i) {
        prev[static_cast<std::size_t>(i)] = i - 1;
        next[static_cast<std::size_t>(i)] = i + 1 < n ? i + 1 : -1;
    }

    struct candidate {
        double priority;
        int left, right;  // symbol positions
        int left_id, right_id, merged_id;
    };
    const auto worse = [](const candidate& a, const candidate& b) {
        return a.priority != b.priority ? a.priority < b.priority : a.left > b.left;
    };
    std::priority_queue<candidate, std::vector<candidate>, decltype(worse)> heap(worse);
    const auto push = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const int a = ids[static_cast<std::size_t>(left)], b = ids[static_cast<std::size_t>(right)];
        if (const std::optional<bpe_pair_merge> merged = merge(a, b))
            heap.push({merged->priority, left, right, a, b, merged->merged_id});
    };
    for (int i = 0; i + 1 < n; ++i) push(i, i + 1);

    while (!heap.empty()) {
        const candidate c = heap.top();
        heap.pop();
        const auto l = static_cast<std::size_t>(c.left), r = static_cast<std::size_t>(c.right);
        // Stale when either symbol was merged away, they stopped being neighbours, or either one's
        // token changed since the entry was pushed (a changed pair was pushed again then).
        if (!alive[l] || !alive[r] || next[l] != c.right || ids[l] != c.left_id || ids[r] != c.right_id) continue;
        ids[l] = c.merged_id;
        alive[r] = 0;
        next[l] = next[r];
        if (next[r] >= 0) prev[static_cast<std::size_t>(next[r])] = c.left;
        push(prev[l], c.left);
        push(c.left, next[l]);
    }

    std::vector<int> merged;
    for (int i = 0; i >= 0; i = next[static_cast<std::size_t>(i)]) merged.push_back(ids[static_cast<std::size_t>(i)]);
    ids = std::move(merged);
}

}  // namespace sparse_distill::lm::detail
