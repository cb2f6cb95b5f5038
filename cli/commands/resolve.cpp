// slate resolve [SPEC.yaml] [--suite S,...] [--arch A] [--json] [PKG...]
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "archive_session.hpp"
#include "commands/commands.hpp"
#include "slate/build/lock.hpp"
#include "slate/error.hpp"

namespace slate::cli {

namespace {

struct ResolveArgs {
    std::vector<std::string> positional;
    std::vector<std::string> suites;
    std::vector<std::string> components;
    std::vector<std::string> exclude;
    std::string arch;
    bool json = false;
    bool recommends = false;
};

bool looks_like_spec(const std::string& arg) {
    return arg.ends_with(".yaml") || arg.ends_with(".yml");
}

void print_json(const deb::ResolveResult& result) {
    nlohmann::ordered_json doc;
    doc["arch"] = result.arch;
    doc["packages"] = nlohmann::ordered_json::array();
    for (const auto& p : result.packages) doc["packages"].push_back(build::package_json(p));
    fmt::print("{}\n", doc.dump(2));
}

void print_table(const deb::ResolveResult& result) {
    std::size_t name_w = 4, version_w = 7, arch_w = 4;
    std::uint64_t total = 0;
    for (const auto& p : result.packages) {
        name_w = std::max(name_w, p.name.size());
        version_w = std::max(version_w, p.version.size());
        arch_w = std::max(arch_w, p.arch.size());
        total += p.size;
    }
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {}\n", "NAME", name_w, "VERSION", version_w, "ARCH", arch_w, "SUITE");
    for (const auto& p : result.packages)
        fmt::print("{:<{}}  {:<{}}  {:<{}}  {}\n", p.name, name_w, p.version, version_w, p.arch, arch_w, p.suite);
    fmt::print("{} packages for {}, {:.1f} MiB to download\n", result.packages.size(), result.arch,
               static_cast<double>(total) / (1024.0 * 1024.0));
}

void run_resolve(Context& ctx, const ResolveArgs& args) {
    std::optional<build::ImageSpec> spec;
    std::vector<std::string> packages;
    for (const auto& arg : args.positional) {
        if (looks_like_spec(arg)) {
            if (spec) throw Error(ErrorCode::Usage, "slate resolve takes one image spec at a time");
            spec = build::load_image_spec(arg);
        } else {
            packages.push_back(arg);
        }
    }
    deb::ResolveRequest request;
    std::string arch = args.arch;
    if (spec) {
        request = build::request_from_spec(*spec);
        if (arch.empty()) {
            auto host = build::default_architecture();
            arch = std::find(spec->archs.begin(), spec->archs.end(), host) != spec->archs.end() ? host : spec->archs.front();
        }
    }
    if (arch.empty()) arch = build::default_architecture();
    request.packages.insert(request.packages.end(), packages.begin(), packages.end());
    request.exclude.insert(request.exclude.end(), args.exclude.begin(), args.exclude.end());
    request.recommends = request.recommends || args.recommends;
    if (request.packages.empty())
        throw Error(ErrorCode::Usage, "nothing to resolve", "name packages or an image spec: slate resolve python3");

    ArchiveSession session(ctx.settings, spec ? &spec->archive : nullptr, {args.suites, args.components});
    std::vector<deb::SuiteRelease> releases;
    for (const auto& source : session.suites()) releases.push_back(session.archive().fetch_release(source));
    auto result = build::resolve_arch(session.archive(), releases, request, arch, session.log());
    if (args.json) print_json(result);
    else print_table(result);
}

}  // namespace

void add_resolve_command(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<ResolveArgs>();
    auto* cmd = app.add_subcommand("resolve", "Resolve packages (or an image spec) to the exact set of .debs");
    cmd->add_option("spec_or_packages", args->positional, "An image spec (.yaml) and/or package names");
    cmd->add_option("--suite", args->suites, "Suites to use (default: the spec's, else the host's)")->delimiter(',')->allow_extra_args(false);
    cmd->add_option("--component", args->components, "Components to use (default: main)")->delimiter(',')->allow_extra_args(false);
    cmd->add_option("--arch", args->arch, "Architecture to resolve for (default: the host's)");
    cmd->add_option("--exclude", args->exclude, "Leave these packages out of the closure")->delimiter(',')->allow_extra_args(false);
    cmd->add_flag("--recommends", args->recommends, "Also install Recommends");
    cmd->add_flag("--json", args->json, "Print JSON: {arch, packages: [...]} in install order");
    cmd->callback([&ctx, args] { run_resolve(ctx, *args); });
}

}  // namespace slate::cli
