#include "commands/commands.hpp"
namespace slate::cli {
void add_resolve_command(CLI::App&, Context&) {}
void add_lock_command(CLI::App&, Context&) {}
}  // namespace slate::cli
