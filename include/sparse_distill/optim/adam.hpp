#pragma once
// Adam with decoupled (AdamW) or coupled (L2) weight decay. Settings and state are apart: `adam` is a
// plain value; `adam_state` holds the moments of one flat parameter buffer, built on first use.
//   coupled:   g ← g + wd·θ
//   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  m̂ = m/(1−β1^t);  v̂ = v/(1−β2^t)   (t = 1, 2, …)
//   decoupled: θ ← θ(1 − lr·wd) − lr·m̂/(√v̂ + ε);   coupled: θ ← θ − lr·m̂/(√v̂ + ε)
// Weight decay applies to every parameter, biases included, as torch.optim does.
#include "../config.hpp"
#include "../backend/cpu.hpp"
#include "../detail/enum_names.hpp"
#include "../detail/json_fields.hpp"
#include "adam_update_args.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sparse_distill::optim {

enum class weight_decay_mode { decoupled, coupled };

/// The modes' names; "adamw" and "l2" are aliases that parsing also accepts.
inline constexpr auto weight_decay_mode_names = sparse_distill::detail::make_enum_table<weight_decay_mode>(
    "weight decay mode", {{weight_decay_mode::decoupled, "decoupled"},
                          {weight_decay_mode::coupled, "coupled"},
                          {weight_decay_mode::decoupled, "adamw"},
                          {weight_decay_mode::coupled, "l2"}});

constexpr std::string_view to_string(weight_decay_mode m) { return weight_decay_mode_names.name(m); }
inline weight_decay_mode parse_weight_decay_mode(std::string_view name) { return weight_decay_mode_names.parse(name); }
SD_JSON_ENUM(weight_decay_mode, weight_decay_mode_names)

/// Adam's settings (the learning rate comes from the schedule at each step).
struct adam {
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;
    // The member shares its enum's name, which is qualified here.
    optim::weight_decay_mode weight_decay_mode = optim::weight_decay_mode::decoupled;
    /// Leave a feature that fired on no token of the batch as it is (its encoder row and bias, its decoder
    /// row, their moments, no weight decay), as PyTorch's SparseAdam does; the bias corrections still use
    /// the global step. Off: exact Adam(W), which decays and moves every parameter every step. On the CPU
    /// backends only (backend memory in host memory); a dense student (GELU) has no silent features.
    bool lazy_silent_features = false;

    void validate() const {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
            throw std::invalid_argument("adam: beta1 and beta2 must lie in [0, 1)");
        if (!(eps > 0)) throw std::invalid_argument("adam: eps must be positive");
        if (!(weight_decay >= 0)) throw std::invalid_argument("adam: weight_decay must be non-negative");
    }

    bool operator==(const adam&) const = default;
};

/// adam as JSON: one key per field, the field's name; from_json as student_config's.
template <class Json>
void to_json(Json& j, const adam& a) {
    j = Json{{"beta1", a.beta1}, {"beta2", a.beta2}, {"eps", a.eps}, {"weight_decay", a.weight_decay},
             {"weight_decay_mode", a.weight_decay_mode}};
    // Written only when on, so settings from before the option read and compare as they did.
    if (a.lazy_silent_features) j["lazy_silent_features"] = true;
}
template <class Json>
void from_json(const Json& j, adam& a) {
    sparse_distill::detail::json_fields<Json> field(j, "adam");
    field("beta1", a.beta1)("beta2", a.beta2)("eps", a.eps)("weight_decay", a.weight_decay);
    field("weight_decay_mode", a.weight_decay_mode)("lazy_silent_features", a.lazy_silent_features).refuse_other_keys();
}

/// First and second moments for one flat parameter buffer, and the number of updates made.
template <class Scalar, backend::backend_policy Backend = backend::cpu>
class adam_state {
public:
    /// θ ← Adam(θ, g) with learning rate `lr`. The moments are allocated (zero) on the first call.
    /// `constrain` names rows of the buffer (the decoder) whose norm constraint is applied in the same pass.
    /// With settings.lazy_silent_features, `lazy` names the per-feature rows whose zero-gradient rows are skipped.
    void update(const adam& settings, double lr, Scalar* params, const Scalar* grads, index_t n,
                const constrained_rows& constrain = {}, const lazy_rows& lazy = {}) {
        if (settings.lazy_silent_features && !backend::memory_is_host<Backend>)
            throw std::invalid_argument(std::string("adam: lazy_silent_features is implemented on the CPU backends, not on ") +
                                        Backend::name);
        if (steps_ == 0 && first_moment_.size() == 0) {
            first_moment_.resize(n);
            second_moment_.resize(n);
        }
        if (first_moment_.size() != n)
            throw std::invalid_argument("adam_state: built for " + std::to_string(first_moment_.size()) +
                                        " parameters, called with " + std::to_string(n));
        ++steps_;
        adam_update_args args;
        args.lr = lr;
        args.beta1 = settings.beta1;
        args.beta2 = settings.beta2;
        args.eps = settings.eps;
        args.weight_decay = settings.weight_decay;
        args.decoupled = settings.weight_decay_mode == weight_decay_mode::decoupled;
        args.step = steps_;
        args.constrain = constrain;
        if (settings.lazy_silent_features) args.lazy = lazy;
        backend::adam_update<Backend>(params, grads, first_moment_.data(), second_moment_.data(), n, args);
    }

    std::int64_t steps() const { return steps_; }
    const Scalar* first_moment() const { return first_moment_.data(); }
    const Scalar* second_moment() const { return second_moment_.data(); }
    index_t size() const { return first_moment_.size(); }

    /// Replaces the state with one saved after `steps` updates: `first` and `second` hold n host
    /// values each (n = 0 with steps = 0: the state before the first update). What a checkpoint restores.
    void restore(std::int64_t steps, const Scalar* first, const Scalar* second, index_t n) {
        if (steps < 0 || n < 0 || (n == 0 && steps != 0))
            throw std::invalid_argument("adam_state: cannot restore " + std::to_string(steps) + " steps with " +
                                        std::to_string(n) + " moments");
        first_moment_.resize(n);
        second_moment_.resize(n);
        backend::copy_from_host<Backend>(first, first_moment_.data(), n);
        backend::copy_from_host<Backend>(second, second_moment_.data(), n);
        steps_ = steps;
    }

private:
    std::int64_t steps_ = 0;
    typename Backend::template buffer<Scalar> first_moment_;
    typename Backend::template buffer<Scalar> second_moment_;
};

}  // namespace sparse_distill::optim
