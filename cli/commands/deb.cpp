// slate deb ...: Debian helpers (compare-versions).
#include "commands/commands.hpp"

namespace slate::cli {

void add_deb_command(CLI::App& app, Context&) {
    auto* deb = app.add_subcommand("deb", "Debian helpers");
    deb->require_subcommand(1);
}

}  // namespace slate::cli
