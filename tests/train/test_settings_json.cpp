// One key per concept: student_config and train_settings are written by their own to_json into a
// checkpoint's run description, the distill program's metrics.json and an exported cfg.json, so a
// setting has the same key in all three; from_json reads them back and names the key it cannot read;
// every enum's names (to_string, parse, JSON, CLI choices) come from one table.
#include <doctest/doctest.h>
#include <sparse_distill.hpp>

#include "support/temp_files.hpp"
#include "support/thrown_message.hpp"

// The distill program's metrics.json is built by examples/distill/outputs.hpp, which needs CLI11
// (the program is only built where CLI11 is installed).
#if __has_include(<CLI/CLI.hpp>)
#include "examples/distill/outputs.hpp"
#define SD_TEST_DISTILL_OUTPUTS 1
#endif

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace sd = sparse_distill;

// Helpers and test cases in a namespace of this file's own: the suite is compiled as one
// translation unit (a unity build), where file-local names of different files would collide.
namespace train_settings_json_test {

// Every field away from its default, so a field that to_json or from_json skips shows.
sd::student_config unusual_student() {
    sd::student_config c;
    c.d_in = 12;
    c.d_sae = 40;
    c.d_out = 12;
    c.act = sd::activation::gelu_tanh;
    c.biases = true;
    c.pre_bias = sd::pre_bias::tied_decoder;
    c.init = sd::student_init::linear_default;
    c.decoder_norm = sd::decoder_norm::unit;
    c.tied_init_norm = 0.25;
    c.sparse_below_density = 0.5;
    c.sparsity = sd::sparsity_mode::batchtopk;
    c.k = 7;
    c.threshold_init = 0.2;
    c.threshold_init_logstd = 0.3;
    c.threshold_rate = 0.05;
    c.skip = true;
    c.skip_init_scale = 0.1;
    return c;
}

sd::train_settings unusual_settings() {
    sd::train_settings s;
    s.batch_size = 16;
    s.tokens = 48;
    s.loss = {2e-3, sd::l1_reduction::batch_sum, 0.5, 0.02, {0.25, 5, true}};
    s.dead_tokens = 4096;
    s.adam.beta1 = 0.8;
    s.adam.beta2 = 0.99;
    s.adam.eps = 1e-6;
    s.adam.weight_decay = 1e-4;
    s.adam.weight_decay_mode = sd::optim::weight_decay_mode::coupled;
    s.schedule = {3e-3, 2, 7, 0.2};
    s.callback_every = 3;
    s.replay_steps = true;
    s.checkpoint.directory = "ckpt/run";
    s.checkpoint.every = 2;
    s.checkpoint.resume = true;
    s.checkpoint.on_signal = false;
    s.checkpoint.identity = {{"seed", "7"}, {"inputs", "acts_*.npy"}};
    return s;
}

std::set<std::string> keys_of(const nlohmann::json& j) {
    std::set<std::string> keys;
    for (const auto& item : j.items()) keys.insert(item.key());
    return keys;
}

// Every key in `j`, at any depth.
void collect_keys(const nlohmann::json& j, std::set<std::string>& keys) {
    if (!j.is_object()) return;
    for (const auto& item : j.items()) {
        keys.insert(item.key());
        collect_keys(item.value(), keys);
    }
}

template <class T>
std::string from_json_error(const nlohmann::json& j) {
    return sd_test::thrown_message<std::invalid_argument>([&] { (void)j.get<T>(); });
}

template <class Table, class Parse>
void check_table(const Table& table, Parse parse) {
    const std::string what(table.what);
    CAPTURE(what);
    for (const auto& e : table.entries) {
        const std::string name(e.name);
        CAPTURE(name);
        CHECK(parse(e.name) == e.value);
        CHECK(parse(to_string(e.value)) == e.value);
    }
    for (const std::string& name : table.names()) CHECK(to_string(parse(name)) == name);
    CHECK(sd_test::thrown_message<std::invalid_argument>([&] { parse("no_such_name"); }) ==
          "unknown " + std::string(table.what) + " 'no_such_name': expected " + table.listed());
}

template <class Table>
void check_json_names(const Table& table) {
    using Enum = std::remove_cvref_t<decltype(table.entries[0].value)>;
    const std::string what(table.what);
    CAPTURE(what);
    for (const auto& e : table.entries) {
        const std::string name(e.name);
        CAPTURE(name);
        CHECK(nlohmann::json(name).get<Enum>() == e.value);
        CHECK(nlohmann::json(e.value) == std::string(to_string(e.value)));
    }
    // Unlike NLOHMANN_JSON_SERIALIZE_ENUM, an unknown name is an error, not the first value.
    CHECK(from_json_error<Enum>(nlohmann::json("no_such_name")) ==
          "unknown " + std::string(table.what) + " 'no_such_name': expected " + table.listed());
    CHECK(from_json_error<Enum>(nlohmann::json(1)) ==
          "expected a string naming the " + std::string(table.what) + " (" + table.listed() + "), found 1");
}


TEST_CASE("every enum's names come from one table: to_string, parse, JSON and the CLI choices agree") {
    check_table(sd::activation_names, [](std::string_view n) { return sd::parse_activation(n); });
    check_table(sd::decoder_norm_names, [](std::string_view n) { return sd::parse_decoder_norm(n); });
    check_table(sd::pre_bias_names, [](std::string_view n) { return sd::parse_pre_bias(n); });
    check_table(sd::student_init_names, [](std::string_view n) { return sd::parse_student_init(n); });
    check_table(sd::l1_reduction_names, [](std::string_view n) { return sd::parse_l1_reduction(n); });
    check_table(sd::optim::weight_decay_mode_names, [](std::string_view n) { return sd::optim::parse_weight_decay_mode(n); });
    check_table(sd::io::teacher_format_names, [](std::string_view n) { return sd::io::parse_teacher_format(n); });
    check_table(sd::io::student_format_names, [](std::string_view n) { return sd::io::parse_student_format(n); });
    check_json_names(sd::activation_names);
    check_json_names(sd::decoder_norm_names);
    check_json_names(sd::pre_bias_names);
    check_json_names(sd::student_init_names);
    check_json_names(sd::l1_reduction_names);
    check_json_names(sd::optim::weight_decay_mode_names);

    // The names a CLI offers leave out the aliases, which parsing still accepts.
    CHECK(sd::activation_names.names() == std::vector<std::string>{"relu", "gelu", "gelu_tanh", "silu"});
    CHECK(sd::parse_activation("gelu_new") == sd::activation::gelu_tanh);
    CHECK(sd::to_string(sd::activation::gelu_tanh) == "gelu_tanh");
    CHECK(sd::optim::weight_decay_mode_names.names() == std::vector<std::string>{"decoupled", "coupled"});
    CHECK(sd::optim::parse_weight_decay_mode("adamw") == sd::optim::weight_decay_mode::decoupled);
    CHECK(sd::io::teacher_format_names.names() ==
          std::vector<std::string>{"auto", "transformer_lens", "gpt2", "gptneo", "llama"});
    CHECK(sd::analysis::to_string(sd::analysis::feature_type::neuron_simulator) == "simulator");
}

TEST_CASE("student_config and train_settings round trip through their JSON, keyed by field name") {
    const sd::student_config c = unusual_student();
    const nlohmann::json cj = c;
    CHECK(keys_of(cj) == std::set<std::string>{"d_in", "d_sae", "d_out", "act", "biases", "sparsity", "k", "threshold_init",
                                               "threshold_init_logstd", "threshold_rate", "skip", "skip_init_scale", "pre_bias",
                                               "init", "decoder_norm", "tied_init_norm", "sparse_below_density"});
    CHECK(cj["act"] == "gelu_tanh");
    CHECK(cj["pre_bias"] == "tied_decoder");
    CHECK(cj["decoder_norm"] == "unit");
    CHECK(cj.get<sd::student_config>() == c);
    CHECK(nlohmann::ordered_json(c).get<sd::student_config>() == c);

    const sd::train_settings s = unusual_settings();
    const nlohmann::json sj = s;
    CHECK(keys_of(sj) ==
          std::set<std::string>{"batch_size", "tokens", "loss", "adam", "schedule", "callback_every", "checkpoint", "replay_steps",
                                "dead_tokens", "max_loss_growth"});
    CHECK(keys_of(sj["loss"]) == std::set<std::string>{"l1_coeff", "l1_reduction", "l0_coeff", "bandwidth", "auxk"});
    CHECK(keys_of(sj["loss"]["auxk"]) == std::set<std::string>{"alpha", "k", "to_encoder"});
    CHECK(keys_of(sj["adam"]) == std::set<std::string>{"beta1", "beta2", "eps", "weight_decay", "weight_decay_mode"});
    CHECK(keys_of(sj["schedule"]) == std::set<std::string>{"lr", "warmup_steps", "total_steps", "lr_min_ratio"});
    CHECK(sj["loss"]["l1_reduction"] == "batch_sum");
    CHECK(sj["adam"]["weight_decay_mode"] == "coupled");
    CHECK(sj["checkpoint"]["identity"]["seed"] == "7");
    CHECK(sj.get<sd::train_settings>() == s);
    CHECK(nlohmann::ordered_json(s).get<sd::train_settings>() == s);
    // Through text as well, as a file holds it.
    CHECK(nlohmann::json::parse(sj.dump()).get<sd::train_settings>() == s);

    // An absent key keeps its default.
    sd::student_config only_width;
    only_width.d_sae = 7;
    CHECK(nlohmann::json{{"d_sae", 7}}.get<sd::student_config>() == only_width);
    CHECK(nlohmann::json::object().get<sd::train_settings>() == sd::train_settings{});
}

TEST_CASE("from_json names the key it cannot read and what it expected") {
    using config = sd::student_config;
    CHECK(from_json_error<config>({{"act", "tanh"}}) ==
          "student_config.act: unknown activation 'tanh': expected relu, gelu, gelu_tanh or silu");
    CHECK(from_json_error<config>({{"decoder_norm", "cap_at_one"}}) ==
          "student_config.decoder_norm: unknown decoder norm 'cap_at_one': expected none, cap or unit");
    CHECK(from_json_error<config>({{"pre_bias", true}}) ==
          "student_config.pre_bias: expected a string naming the pre-bias (none, learned or tied_decoder), found true");
    CHECK(from_json_error<config>({{"d_sae", "64"}}) == "student_config.d_sae: expected an integer, found \"64\"");
    CHECK(from_json_error<config>({{"d_sae", 64.5}}) == "student_config.d_sae: expected an integer, found 64.5");
    CHECK(from_json_error<config>({{"biases", 1}}) == "student_config.biases: expected true or false, found 1");
    CHECK(from_json_error<config>({{"tied_init_norm", nullptr}}) == "student_config.tied_init_norm: expected a number, found null");
    CHECK(from_json_error<config>(nlohmann::json::array({1, 2})) == "student_config: expected a JSON object, found [1,2]");
    // The keys of version 1 checkpoints and of the old metrics.json are refused, not ignored.
    CHECK(from_json_error<config>({{"input_bias", "none"}}) ==
          "student_config.input_bias: not a key of student_config (those are d_in, d_sae, d_out, act, biases, sparsity, k, "
          "threshold_init, threshold_init_logstd, threshold_rate, skip, skip_init_scale, pre_bias, init, decoder_norm, "
          "tied_init_norm, sparse_below_density)");

    using settings = sd::train_settings;
    CHECK(from_json_error<settings>({{"loss", {{"l1_reduction", "batch_median"}}}}) ==
          "train_settings.loss.l1_reduction: unknown L1 reduction 'batch_median': expected batch_mean or batch_sum");
    CHECK(from_json_error<settings>({{"schedule", {{"lr", "fast"}}}}) == "train_settings.schedule.lr: expected a number, found \"fast\"");
    CHECK(from_json_error<settings>({{"adam", {{"weight_decay_mode", "adam"}}}}) ==
          "train_settings.adam.weight_decay_mode: unknown weight decay mode 'adam': expected decoupled or coupled");
    CHECK(from_json_error<settings>({{"batch_size", -1.0}}) == "train_settings.batch_size: expected an integer, found -1.0");
    CHECK(from_json_error<settings>({{"checkpoint", {{"every", "often"}}}}) ==
          "train_settings.checkpoint.every: expected an integer, found \"often\"");
    CHECK(from_json_error<settings>({{"batch", 32}}).starts_with("train_settings.batch: not a key of train_settings"));
    CHECK(from_json_error<settings>({{"checkpoint", {{"identity", {{"seed", 7}}}}}}).starts_with("train_settings.checkpoint.identity: "));
}

TEST_CASE("a setting has the same key in a checkpoint, the distill program's metrics.json and an exported cfg.json") {
    sd_test::temp_dir dir("sd_settings_keys");
    // A ReLU student: the export formats hold only those.
    sd::student_config config = unusual_student();
    config.act = sd::activation::relu;
    config.sparsity = sd::sparsity_mode::l1;
    config.k = 0;
    config.skip = false;
    sd::train_settings settings = unusual_settings();
    settings.loss.l0_coeff = 0;
    settings.loss.auxk = {};
    settings.checkpoint = {};
    settings.checkpoint.directory = dir / "ckpt";

    sd::teacher_mlp<float> teacher(sd::random_mlp_weights<float>(config.d_in, 24, sd::activation::gelu, 1));
    sd::student_mlp<float> student(config, 2);
    sd::data::gaussian_source<float> source(config.d_in, 3);
    sd::trainer<float>(student, teacher, settings).run(source);
    const nlohmann::json run = sd::read_checkpoint<float>(sd::checkpoint_file(dir / "ckpt")).run;

    sd::io::write_student(dir / "export", sd::io::student_format::saelens, config, student.weights());
    const nlohmann::json cfg = nlohmann::json::parse(sd_test::read_file(dir / "export/cfg.json"));
    REQUIRE(cfg["metadata"].contains("sparse_distill"));
    const nlohmann::json& exported = cfg["metadata"]["sparse_distill"]["student"];

    // The checkpoint and the export hold student_config's JSON, under the same key "student".
    CHECK(run["student"] == nlohmann::json(config));
    CHECK(exported == nlohmann::json(config));
    CHECK(cfg["d_sae"] == exported["d_sae"]);  // SAELens' own key happens to be ours
    // The checkpoint's training part is train_settings' JSON but for what does not change the
    // computation (where and how often it checkpoints and reports, replayed steps), with the step count.
    CHECK(keys_of(run["train"]) == std::set<std::string>{"batch_size", "tokens", "loss", "adam", "schedule", "dead_tokens", "max_loss_growth", "steps"});
    for (const char* key : {"batch_size", "tokens", "loss", "adam", "schedule"}) {
        CAPTURE(key);
        CHECK(run["train"][key] == nlohmann::json(settings)[key]);
    }
    CHECK(run["train"]["loss"]["l1_coeff"] == 2e-3);
    CHECK(run["train"]["steps"] == 3);

    std::vector<std::pair<std::string, nlohmann::json>> students = {{"checkpoint", run["student"]}, {"cfg.json", exported}};
    std::vector<std::pair<std::string, nlohmann::json>> trains = {{"checkpoint", run["train"]}};
#ifdef SD_TEST_DISTILL_OUTPUTS
    distill::model_type model;
    model.spec.name = "relu_student";
    model.spec.config = config;
    model.spec.train = settings;
    const nlohmann::json metrics = distill::model_json(model);
    students.emplace_back("metrics.json", metrics["student"]);
    trains.emplace_back("metrics.json", metrics["train"]);
#else
    MESSAGE("CLI11 not installed: the distill program's metrics.json is not checked");
#endif
    for (const auto& [where, json] : students) {
        CAPTURE(where);
        CHECK(keys_of(json) == keys_of(run["student"]));
        for (const char* key : {"d_sae", "act", "decoder_norm", "pre_bias"}) CHECK(json[key] == run["student"][key]);
    }
    for (const auto& [where, json] : trains) {
        CAPTURE(where);
        CHECK(json["batch_size"] == 16);
        CHECK(json["loss"]["l1_coeff"] == 2e-3);
        for (const char* part : {"loss", "adam", "schedule"}) CHECK(keys_of(json[part]) == keys_of(run["train"][part]));
    }
    // The older spellings of these settings are gone from all of them.
    for (const auto& [where, json] : students) {
        std::set<std::string> keys;
        collect_keys(json, keys);
        CAPTURE(where);
        for (const char* old : {"activation", "input_bias", "decoder_constraint"}) CHECK(keys.count(old) == 0);
    }
    for (const auto& [where, json] : trains) {
        std::set<std::string> keys;
        collect_keys(json, keys);
        CAPTURE(where);
        for (const char* old : {"batch", "warmup", "decay_mode", "reduction"}) CHECK(keys.count(old) == 0);
    }
}

}  // namespace train_settings_json_test
