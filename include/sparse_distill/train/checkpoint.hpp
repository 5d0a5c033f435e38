#pragma once
// A training checkpoint: everything a run needs to continue bit-identically, in one safetensors file.
//   tensors   "parameters" [P]            the student's flat parameter buffer
//             "adam.first_moment" [P]     Adam's m and v ([0] before the first update)
//             "adam.second_moment" [P]
//   metadata  "format" = "sparse_distill checkpoint", "format_version" = "3" (checkpoint_format_version),
//             "step", "tokens_seen"       decimal integers (tokens_seen = step · batch_size, checked)
//             "source_position"           JSON: where the data source stands (save_source_position)
//             "source_rows_at_start"      decimal integer, optional: the rows a source that counts them
//                                         (source_counting_rows) had handed out before step 1; on resume
//                                         its count must equal this + tokens_seen
//             "run"                       JSON: run_description of the run, compared on resume
//             "threads"                   the thread count (bit-identity needs the same one; not checked)
//             "latent_state"              JSON: {"tokens_since_fired": [per latent],
//                                         "batch_threshold": BatchTopK's τ, "first_loss": the run's
//                                         first loss or null (max_loss_growth's reference)}
//             "checksums"                 JSON: XXH3-64 of each tensor's bytes and of the other metadata
//                                         entries ("metadata"), verified before anything is used, so a
//                                         flipped bit or an edited entry is refused, never resumed from
// The learning-rate schedule is a pure function of the step and the sources are counter-based, so
// the step and the source position are the whole of the schedule and RNG state.
// Written durably: the file is completed under a temporary name in the same directory, fsynced,
// renamed over the previous checkpoint and the directory fsynced, so a crash at any moment leaves
// the previous checkpoint or the new one, never a mixture.
#include "../config.hpp"
#include "../io/checksum.hpp"
#include "../io/error.hpp"
#include "../io/safetensors.hpp"
#include "../io/text_file.hpp"
#include "../nn/student_config.hpp"
#include "detail/durable_file.hpp"
#include "train_settings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sparse_distill {

/// The checkpoint file of a checkpoint directory: `<directory>/checkpoint.safetensors`.
inline std::filesystem::path checkpoint_file(const std::filesystem::path& directory) {
    return directory / "checkpoint.safetensors";
}

/// A training state in host memory: what a checkpoint file holds.
template <class Scalar>
struct checkpoint_data {
    std::int64_t step = 0;         ///< updates made
    std::int64_t tokens_seen = 0;  ///< tokens trained on
    std::vector<Scalar> parameters;
    std::vector<Scalar> first_moment;   ///< Adam's m: parameters.size() values, or none at step 0
    std::vector<Scalar> second_moment;  ///< Adam's v, likewise
    nlohmann::json source_position;     ///< as save_source_position wrote it
    nlohmann::json run;                 ///< run_description of the run that wrote it
    int threads = 0;                    ///< the thread count of the run that wrote it
    /// Tokens since each latent last fired (the dead-latent count behind AuxK and the dead share);
    /// empty when the run does not count them.
    std::vector<std::int64_t> tokens_since_fired;
    double batch_threshold = 0;  ///< BatchTopK's inference threshold τ (a state, not a parameter)
    /// The run's first loss, the reference of train_settings::max_loss_growth (NaN: none yet).
    double first_loss = std::numeric_limits<double>::quiet_NaN();
    /// Rows the source had handed out before the run's first step, for sources that count them
    /// (source_counting_rows); -1: not recorded.
    std::int64_t source_rows_at_start = -1;
};

/// The version of the checkpoint format that write_checkpoint writes and read_checkpoint reads.
/// Version 2: the run description's student and train parts are student_config's and
/// train_settings' own JSON (the keys of metrics.json and of an exported cfg.json).
/// Version 3: checksums of every tensor and of the metadata, and the source's starting row count.
inline constexpr std::string_view checkpoint_format_version = "3";

/// What a resumed run must share with the run that wrote the checkpoint for the continuation to be
/// the same computation: scalar type, student config (to_json of student_config), and the training
/// settings (to_json of train_settings, with the step count) but for where and how often it
/// checkpoints and reports and whether it replays recorded steps, which do not change what it
/// computes; and settings.checkpoint.identity (seeds, files).
template <class Scalar>
nlohmann::json run_description(const student_config& student, const train_settings& settings) {
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>);
    nlohmann::json train = settings;
    for (const char* same_computation : {"checkpoint", "callback_every", "replay_steps"}) train.erase(same_computation);
    train["steps"] = settings.steps();
    return {
        {"scalar", std::is_same_v<Scalar, float> ? "f32" : "f64"},
        {"student", student},
        {"train", train},
        {"identity", settings.checkpoint.identity},
    };
}

namespace detail {

inline void compare_run(const std::filesystem::path& file, const std::string& field, const nlohmann::json& saved,
                        const nlohmann::json& current) {
    if (saved.is_object() && current.is_object()) {
        // Plain values before nested objects: a different step count is reported as train.steps,
        // not as the schedule.total_steps that follows from it.
        for (const bool nested : {false, true})
            for (const auto& [key, value] : current.items()) {
                if (value.is_object() != nested) continue;
                if (!saved.contains(key))
                    throw io::io_error(file, field + "." + key, "absent from the checkpoint, this run has " + value.dump());
                compare_run(file, field + "." + key, saved.at(key), value);
            }
        for (const auto& [key, value] : saved.items())
            if (!current.contains(key))
                throw io::io_error(file, field + "." + key, "the checkpoint has " + value.dump() + ", this run has none");
        return;
    }
    if (saved != current)
        throw io::io_error(file, field,
                           "the checkpoint was written with " + saved.dump() + ", this run has " + current.dump() +
                               ": resuming would not continue the same run");
}

inline std::int64_t metadata_count(const io::safetensors_file& contents, const std::string& key) {
    const auto found = contents.metadata.find(key);
    if (found == contents.metadata.end()) throw io::io_error(contents.path, "__metadata__ '" + key + "'", "missing");
    const std::string& text = found->second;
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0)
        throw io::io_error(contents.path, "__metadata__ '" + key + "'",
                           "expected a non-negative decimal integer, found \"" + text + "\"");
    return value;
}

inline nlohmann::json metadata_json(const io::safetensors_file& contents, const std::string& key) {
    const auto found = contents.metadata.find(key);
    if (found == contents.metadata.end()) throw io::io_error(contents.path, "__metadata__ '" + key + "'", "missing");
    try {
        return nlohmann::json::parse(found->second);
    } catch (const nlohmann::json::parse_error& error) {
        throw io::io_error(contents.path, "__metadata__ '" + key + "'", std::string("invalid JSON: ") + error.what());
    }
}

// XXH3-64 of the metadata entries other than "checksums", in key order, each as key NUL value NUL.
inline std::string metadata_checksum(const std::map<std::string, std::string>& metadata) {
    std::string all;
    for (const auto& [key, value] : metadata)
        if (key != "checksums") all.append(key).push_back('\0'), all.append(value).push_back('\0');
    return io::checksum_text(std::as_bytes(std::span(all.data(), all.size())));
}

// The "checksums" entry for these tensors and metadata (the other entries): what write_checkpoint
// stores and verify_checksums recomputes.
inline nlohmann::json checkpoint_checksums(const std::map<std::string, io::tensor_data>& tensors,
                                           const std::map<std::string, std::string>& metadata) {
    nlohmann::json checksums = {{"metadata", metadata_checksum(metadata)}};
    for (const auto& [name, tensor] : tensors) checksums[name] = io::checksum_text(tensor.bytes);
    return checksums;
}

// Compares every stored checksum with the file's contents before any of them is used.
inline void verify_checksums(const io::safetensors_file& contents) {
    const nlohmann::json stored = metadata_json(contents, "checksums");
    auto stored_sum = [&](const std::string& key) {
        if (!stored.is_object() || !stored.contains(key) || !stored.at(key).is_string())
            throw io::io_error(contents.path, "__metadata__ 'checksums'", "expected a string under \"" + key + "\", found " + stored.dump());
        return stored.at(key).get<std::string>();
    };
    auto check = [&](const std::string& field, const std::string& key, const std::string& computed) {
        const std::string expected = stored_sum(key);
        if (expected != computed)
            throw io::io_error(contents.path, field,
                               "checksum mismatch (stored " + expected + ", computed " + computed +
                                   "): the file was damaged or edited after it was written; it cannot be resumed from");
    };
    for (const auto& [name, tensor] : contents.tensors) check("tensor '" + name + "'", name, io::checksum_text(tensor.bytes));
    check("__metadata__", "metadata", metadata_checksum(contents.metadata));
    for (const auto& [key, value] : stored.items())
        if (key != "metadata" && !contents.tensors.count(key))
            throw io::io_error(contents.path, "tensor '" + key + "'", "missing (the checksums list it)");
}

template <class Scalar>
std::vector<Scalar> checkpoint_vector(const io::safetensors_file& contents, const std::string& name) {
    const io::tensor_data& tensor = contents.at(name);
    const io::dtype expected = io::detail::dtype_of<Scalar>();
    const std::string field = "tensor '" + name + "'";
    // Converting would round the state: a resumed run would no longer continue bit-identically.
    if (tensor.type != expected)
        throw io::io_error(contents.path, field + " dtype",
                           "expected " + std::string(io::detail::safetensors_dtype_name(expected)) +
                               " (this run's scalar), found " + std::string(io::detail::safetensors_dtype_name(tensor.type)));
    if (tensor.shape.size() != 1)
        throw io::io_error(contents.path, field + " shape",
                           "expected a 1-D tensor, found " + io::detail::shape_string(tensor.shape));
    return io::to_values<Scalar>(tensor);
}

}  // namespace detail

/// Checks that a checkpoint's run description matches this run's; throws io::io_error naming the
/// first field that differs, e.g. "ckpt/checkpoint.safetensors: run.student.d_sae: the checkpoint
/// was written with 128, this run has 256: ...".
inline void check_same_run(const std::filesystem::path& file, const nlohmann::json& saved, const nlohmann::json& current) {
    detail::compare_run(file, "run", saved, current);
}

/// Checks, before the first step, that checkpoints can be written in `directory`: creates it (and
/// its parents) and writes and removes a probe file. Throws io::io_error naming `directory` and the
/// system's reason (permission denied, a file in the way, no space), so a run fails at its start
/// rather than at its first checkpoint.
inline void check_checkpoint_directory(const std::filesystem::path& directory) {
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error) throw io::io_error(directory, "checkpoint directory", "cannot create: " + error.message());
    if (!std::filesystem::is_directory(directory, error))
        throw io::io_error(directory, "checkpoint directory", "exists and is not a folder");
    const std::filesystem::path probe = directory / ".write-probe";
    const std::string bytes = "probe";
    try {
        io::write_text_file(probe, bytes);
    } catch (const io::io_error& failed) {
        throw io::io_error(directory, "checkpoint directory", std::string("cannot write in it: ") + failed.what());
    }
    std::filesystem::remove(probe, error);
}

/// Writes `data` to `file` durably (see the top of this header); creates the directory if needed.
/// On failure throws io::io_error, and the previous file at `file`, if any, is left as it was.
template <class Scalar>
void write_checkpoint(const std::filesystem::path& file, const checkpoint_data<Scalar>& data) {
    if (data.first_moment.size() != data.second_moment.size() ||
        (!data.first_moment.empty() && data.first_moment.size() != data.parameters.size()))
        throw io::io_error(file, "adam moments",
                           "expected " + std::to_string(data.parameters.size()) + " values each, found " +
                               std::to_string(data.first_moment.size()) + " and " +
                               std::to_string(data.second_moment.size()));
    std::error_code error;
    if (!file.parent_path().empty()) std::filesystem::create_directories(file.parent_path(), error);
    if (error) throw io::io_error(file.parent_path(), "directory", "cannot create: " + error.message());

    const io::dtype type = io::detail::dtype_of<Scalar>();
    auto tensor = [&](const std::vector<Scalar>& values) {
        return io::from_values<Scalar>({static_cast<std::int64_t>(values.size())}, type, std::span<const Scalar>(values));
    };
    const std::map<std::string, io::tensor_data> tensors{
        {"parameters", tensor(data.parameters)},
        {"adam.first_moment", tensor(data.first_moment)},
        {"adam.second_moment", tensor(data.second_moment)},
    };
    std::map<std::string, std::string> metadata{
        {"format", "sparse_distill checkpoint"},
        {"format_version", std::string(checkpoint_format_version)},
        {"step", std::to_string(data.step)},
        {"tokens_seen", std::to_string(data.tokens_seen)},
        {"source_position", data.source_position.dump()},
        {"run", data.run.dump()},
        {"threads", std::to_string(data.threads)},
        {"latent_state", nlohmann::json{{"tokens_since_fired", data.tokens_since_fired},
                                        {"batch_threshold", data.batch_threshold},
                                        {"first_loss", std::isfinite(data.first_loss) ? nlohmann::json(data.first_loss)
                                                                                      : nlohmann::json(nullptr)}}.dump()},
    };
    if (data.source_rows_at_start >= 0) metadata["source_rows_at_start"] = std::to_string(data.source_rows_at_start);
    metadata["checksums"] = detail::checkpoint_checksums(tensors, metadata).dump();
    auto partial = file;
    partial += ".partial";
    try {
        io::write_safetensors(partial, tensors, metadata);
        detail::commit_file(partial, file);
    } catch (...) {
        std::filesystem::remove(partial, error);
        throw;
    }
}

/// Reads a checkpoint written by write_checkpoint for a run with scalar type Scalar. Throws
/// io::io_error naming the file and field for a file that is not a checkpoint, has another dtype,
/// or whose tensors and counts disagree.
template <class Scalar>
checkpoint_data<Scalar> read_checkpoint(const std::filesystem::path& file) {
    const io::safetensors_file contents = io::read_safetensors(file);
    const auto format = contents.metadata.find("format");
    if (format == contents.metadata.end() || format->second != "sparse_distill checkpoint")
        throw io::io_error(file, "__metadata__ 'format'",
                           "expected \"sparse_distill checkpoint\", found " +
                               (format == contents.metadata.end() ? std::string("none") : "\"" + format->second + "\""));
    const auto version = contents.metadata.find("format_version");
    if (version == contents.metadata.end() || version->second != checkpoint_format_version) {
        const std::string expected = "expected \"" + std::string(checkpoint_format_version) + "\" (this version of sparse_distill), found ";
        if (version == contents.metadata.end()) throw io::io_error(file, "__metadata__ 'format_version'", expected + "none");
        // Version 1 described the run under other keys (activation, input_bias, decoder_constraint, ...).
        const std::string why = version->second == "1" ? ": a version 1 checkpoint, written before the run description took "
                                                         "the keys of student_config and train_settings, cannot be resumed; "
                                                         "start the run again"
                                : version->second == "2" ? ": a version 2 checkpoint, written before checkpoints carried "
                                                           "checksums and input fingerprints, cannot be resumed; start the run again"
                                                         : "";
        throw io::io_error(file, "__metadata__ 'format_version'", expected + "\"" + version->second + "\"" + why);
    }

    detail::verify_checksums(contents);
    checkpoint_data<Scalar> data;
    data.step = detail::metadata_count(contents, "step");
    if (contents.metadata.count("source_rows_at_start"))
        data.source_rows_at_start = detail::metadata_count(contents, "source_rows_at_start");
    data.tokens_seen = detail::metadata_count(contents, "tokens_seen");
    data.threads = static_cast<int>(std::min<std::int64_t>(detail::metadata_count(contents, "threads"), 1 << 20));
    data.source_position = detail::metadata_json(contents, "source_position");
    data.run = detail::metadata_json(contents, "run");
    {
        const nlohmann::json state = detail::metadata_json(contents, "latent_state");
        try {
            data.tokens_since_fired = state.at("tokens_since_fired").get<std::vector<std::int64_t>>();
            data.batch_threshold = state.at("batch_threshold").get<double>();
            if (state.contains("first_loss") && !state.at("first_loss").is_null()) data.first_loss = state.at("first_loss").get<double>();
        } catch (const nlohmann::json::exception& error) {
            throw io::io_error(file, "__metadata__ 'latent_state'", std::string("expected {\"tokens_since_fired\": [integers], "
                                                                                "\"batch_threshold\": number}: ") + error.what());
        }
        for (const std::int64_t t : data.tokens_since_fired)
            if (t < 0) throw io::io_error(file, "__metadata__ 'latent_state'", "tokens_since_fired holds a negative count");
        if (!(data.batch_threshold >= 0))
            throw io::io_error(file, "__metadata__ 'latent_state'", "batch_threshold must be non-negative");
    }
    data.parameters = detail::checkpoint_vector<Scalar>(contents, "parameters");
    data.first_moment = detail::checkpoint_vector<Scalar>(contents, "adam.first_moment");
    data.second_moment = detail::checkpoint_vector<Scalar>(contents, "adam.second_moment");
    const bool before_first_update = data.step == 0 && data.first_moment.empty() && data.second_moment.empty();
    for (const auto& [name, moment] : {std::pair{"adam.first_moment", &data.first_moment},
                                       std::pair{"adam.second_moment", &data.second_moment}})
        if (moment->size() != data.parameters.size() && !before_first_update)
            throw io::io_error(file, "tensor '" + std::string(name) + "' shape",
                               "expected [" + std::to_string(data.parameters.size()) + "] like 'parameters' at step " +
                                   std::to_string(data.step) + ", found [" + std::to_string(moment->size()) + "]");
    return data;
}

}  // namespace sparse_distill
