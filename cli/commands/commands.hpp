#pragma once
// Each subcommand lives in its own file and registers itself on the root app.
// A command's callback stores its exit code in Context::exit_code.

#include <CLI/CLI.hpp>

#include "settings.hpp"
#include "slate/registry/transfer.hpp"

namespace slate::cli {

struct Context {
    Settings settings;
    int exit_code = 0;
};

void add_deb_command(CLI::App& app, Context& ctx);
void add_resolve_command(CLI::App& app, Context& ctx);
void add_lock_command(CLI::App& app, Context& ctx);
void add_build_command(CLI::App& app, Context& ctx);
void add_run_command(CLI::App& app, Context& ctx);
void add_test_command(CLI::App& app, Context& ctx);
void add_sbom_command(CLI::App& app, Context& ctx);
void add_advisories_command(CLI::App& app, Context& ctx);
void add_db_command(CLI::App& app, Context& ctx);
void add_scan_command(CLI::App& app, Context& ctx);
void add_keygen_command(CLI::App& app, Context& ctx);
void add_verify_bundle_command(CLI::App& app, Context& ctx);
void add_tlog_command(CLI::App& app, Context& ctx);
void add_sign_commands(CLI::App& app, Context& ctx);  // sign, attest, verify (sign.cpp)

// "linux/arm64/v8" -> Platform (registry.cpp); Usage error when malformed.
oci::Platform parse_platform_flag(const std::string& text);
// push, pull, copy, inspect, tags, login, logout (registry.cpp).
void add_registry_commands(CLI::App& app, Context& ctx);

// Copying an image between locations, as `slate copy` does (registry.cpp);
// `slate build --push` uses it too.
struct TransferArgs {
    std::string source;
    std::string destination;
    std::string platform;
    unsigned jobs = 4;
    std::uint64_t chunk_size = 0;  // 0: the library's default
    bool json = false;
};
registry::TransferReport transfer(Context& ctx, const TransferArgs& args, const registry::ImageLocation& source,
                                  const registry::ImageLocation& destination);

}  // namespace slate::cli
