#pragma once
// Each subcommand lives in its own file and registers itself on the root app.
// A command's callback stores its exit code in Context::exit_code.

#include <CLI/CLI.hpp>

#include "settings.hpp"

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

}  // namespace slate::cli
