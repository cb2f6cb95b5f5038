// slate: the command-line front end over libslate. Parses, calls, renders.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <system_error>

#include <fmt/format.h>

#include "commands/commands.hpp"
#include "slate/error.hpp"

namespace {

// Exit codes (documented in the README).
constexpr int ExitError = 1;
constexpr int ExitUsage = 2;
constexpr int ExitCheckFailed = 3;
constexpr int ExitInterrupted = 130;
constexpr int ExitBrokenPipe = 141;  // 128 + SIGPIPE, what a shell reports for a program killed by it

volatile std::sig_atomic_t g_interrupted = 0;

}  // namespace

int main(int argc, char** argv) {
    using namespace slate;
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGINT, [](int) {
        g_interrupted = 1;
        std::_Exit(ExitInterrupted);
    });

    cli::Context ctx;
    CLI::App app{"slate: minimal, reproducible container images from Debian's signed archive"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "slate " SLATE_VERSION);
    cli::add_settings_flags(app, ctx.settings);
    cli::add_deb_command(app, ctx);
    cli::add_resolve_command(app, ctx);
    cli::add_lock_command(app, ctx);
    cli::add_build_command(app, ctx);
    cli::add_run_command(app, ctx);
    cli::add_test_command(app, ctx);
    cli::add_sbom_command(app, ctx);
    cli::add_advisories_command(app, ctx);
    cli::add_db_command(app, ctx);
    cli::add_scan_command(app, ctx);
    cli::add_keygen_command(app, ctx);
    cli::add_verify_bundle_command(app, ctx);
    cli::add_tlog_command(app, ctx);
    cli::add_sign_commands(app, ctx);
    cli::add_registry_commands(app, ctx);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : ExitUsage;
    } catch (const Error& e) {
        fmt::print(stderr, "error: {}\n", e.describe());
        if (e.code() == ErrorCode::Usage) return ExitUsage;
        return e.code() == ErrorCode::CheckFailed ? ExitCheckFailed : ExitError;
    } catch (const std::system_error& e) {
        // The reader of our output went away (`slate sbom ... | head`): stop quietly, as SIGPIPE would.
        if (e.code().value() == EPIPE) return ExitBrokenPipe;
        fmt::print(stderr, "error: internal: {}\n", e.what());
        return ExitError;
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: internal: {}\n", e.what());
        return ExitError;
    }
    return ctx.exit_code;
}
