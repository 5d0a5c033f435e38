#pragma once
// Several callbacks as one: each hook is forwarded to every member that defines it, in order, and
// should_stop is true when any member says so.
#include "callbacks.hpp"

#include <tuple>
#include <utility>
#include <type_traits>

namespace sparse_distill {

template <class... Callbacks>
class callback_list {
public:
    explicit callback_list(Callbacks... callbacks) : members_(std::forward<Callbacks>(callbacks)...) {}

    template <class Report>
    void on_step(const Report& report) {
        std::apply([&](auto&... c) { (call_on_step(c, report), ...); }, members_);
    }
    bool should_stop() {
        return std::apply([](auto&... c) { return (false || ... || call_should_stop(c)); }, members_);
    }
    void on_finish(const train_summary& summary) {
        std::apply([&](auto&... c) { (call_on_finish(c, summary), ...); }, members_);
    }

    template <std::size_t I>
    auto& get() { return std::get<I>(members_); }

private:
    template <class C, class Report>
    static void call_on_step(C& c, const Report& r) {
        if constexpr (detail::has_on_step<C, Report>) c.on_step(r);
    }
    template <class C>
    static bool call_should_stop(C& c) {
        if constexpr (detail::has_should_stop<C>) return c.should_stop();
        else return false;
    }
    template <class C>
    static void call_on_finish(C& c, const train_summary& s) {
        if constexpr (detail::has_on_finish<C>) c.on_finish(s);
    }

    std::tuple<Callbacks...> members_;
};

}  // namespace sparse_distill
