// slate lock SPEC.yaml... [--check]
#include <fmt/format.h>

#include "archive_session.hpp"
#include "commands/commands.hpp"
#include "slate/build/lock.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"

namespace slate::cli {

namespace {

constexpr int ExitCheckFailed = 3;

struct LockArgs {
    std::vector<std::string> specs;
    bool check = false;
};

void run_lock(Context& ctx, const LockArgs& args) {
    int failed_checks = 0;
    for (const auto& spec_path : args.specs) {
        auto spec = build::load_image_spec(spec_path);
        ArchiveSession session(ctx.settings, &spec.archive, {});
        auto lock = build::resolve_lock(spec, session.suites(), session.archive(), session.log());
        auto lock_path = build::lock_path_for(spec_path);
        auto text = build::lock_to_json(lock);

        std::string summary;
        for (const auto& [arch, locked] : lock.archs) {
            std::uint64_t bytes = 0;
            for (const auto& p : locked.packages) bytes += p.size;
            summary += fmt::format("{}{} {} packages ({:.1f} MiB)", summary.empty() ? "" : ", ", arch,
                                   locked.packages.size(), static_cast<double>(bytes) / (1024.0 * 1024.0));
        }

        if (args.check) {
            std::string existing;
            try {
                existing = util::read_file(lock_path);
            } catch (const Error& e) {
                if (e.code() != ErrorCode::NotFound) throw;
                fmt::print(stderr, "{}: no lock file {}; run slate lock {}\n", spec_path, lock_path.string(), spec_path);
                ++failed_checks;
                continue;
            }
            if (existing == text) {
                fmt::print("{}: up to date ({})\n", lock_path.string(), summary);
                continue;
            }
            ++failed_checks;
            fmt::print("{}: out of date\n", lock_path.string());
            for (const auto& line : build::lock_differences(build::lock_from_json(existing, lock_path.string()), lock))
                fmt::print("  {}\n", line);
            continue;
        }
        util::write_file_atomic(lock_path, text);
        fmt::print("{}: {} -> {}\n", spec_path, summary, lock_path.string());
    }
    if (failed_checks > 0) ctx.exit_code = ExitCheckFailed;
}

}  // namespace

void add_lock_command(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<LockArgs>();
    auto* cmd = app.add_subcommand("lock", "Resolve image specs and write SPEC.lock.json next to each");
    cmd->add_option("specs", args->specs, "Image spec files")->required()->check(CLI::ExistingFile);
    cmd->add_flag("--check", args->check, "Write nothing; exit 3 if a fresh resolve would change a lock file");
    cmd->callback([&ctx, args] { run_lock(ctx, *args); });
}

}  // namespace slate::cli
