#pragma once
// The message of the exception an action throws, for tests that check what an error says.
#include <exception>
#include <string>
#include <utility>

namespace sd_test {

/// what() of the `Exception` that `action()` throws, or "<nothing thrown>". An exception of another type
/// propagates, so a test expecting io_error fails when something else is thrown.
template <class Exception = std::exception, class Action>
std::string thrown_message(Action&& action) {
    try {
        std::forward<Action>(action)();
    } catch (const Exception& error) {
        return error.what();
    }
    return "<nothing thrown>";
}

}  // namespace sd_test
