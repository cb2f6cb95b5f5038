// slate advisories mine --suite CODENAME [--image SPEC.yaml]... [--packages P,...] [--arch A] -o DIR
//
// Mines OSV records from the changelogs of a Debian release's newest source
// versions (vuln/mine.hpp). The release's suites are those the host's apt
// sources name for the codename (e.g. bookworm, bookworm-updates,
// bookworm-security; backports and proposed-updates are left out: they are
// not what the release ships); with --mirror (or an image spec's
// archive.mirror) and no such apt sources, CODENAME, CODENAME-updates and
// CODENAME-security on that mirror, the last two skipped when the mirror
// lacks them.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "archive_session.hpp"
#include "commands/commands.hpp"
#include "slate/build/image_spec.hpp"
#include "slate/build/lock.hpp"
#include "slate/deb/apt_sources.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/text.hpp"
#include "slate/vuln/advisory.hpp"
#include "slate/vuln/mine.hpp"

namespace slate::cli {
namespace {

namespace fs = std::filesystem;

struct MineArgs {
    std::string suite;
    std::vector<std::string> images;
    std::vector<std::string> packages;
    std::vector<std::string> components;
    std::string arch;
    std::string output;
};

bool belongs_to(const std::string& suite, const std::string& codename) {
    if (suite == codename) return true;
    if (!suite.starts_with(codename + "-") && !suite.starts_with(codename + "/")) return false;
    // Backports carry newer upstream versions whose changelogs come from
    // testing, and proposed-updates is not released yet: neither is the release.
    return !suite.ends_with("-backports") && !suite.ends_with("-backports-sloppy") &&
           !suite.ends_with("-proposed-updates");
}

// Debian's codenames and those the apt sources name, close to `codename`.
std::string codename_hint(const std::string& codename, const std::vector<deb::AptSource>& host) {
    std::vector<std::string> known;
    for (int v = 8; v <= 15; ++v)
        if (auto name = vuln::debian_codename_of(std::to_string(v))) known.push_back(*name);
    known.emplace_back("sid");
    for (const auto& source : host)
        for (const auto& suite : source.suites) known.push_back(suite.substr(0, suite.find_first_of("-/")));
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(2, codename.size() / 3) + 1;
    for (const auto& name : known) {
        auto d = util::suggestion_distance(codename, name);
        if (d < best_distance) {
            best = name;
            best_distance = d;
        }
    }
    std::string hint = best.empty() ? "" : fmt::format("did you mean {}? ", best);
    return hint + "--suite takes a release codename (bookworm, trixie, ...); its suites come from the host's apt "
                  "sources, or from --mirror";
}

struct ReleaseSuites {
    std::vector<std::string> suites;
    bool guessed = false;  // the convention, not the apt sources: -updates/-security may be absent
};

ReleaseSuites release_suites(const Settings& settings, const std::string& codename, bool have_mirror) {
    auto host = deb::read_apt_sources(settings.apt_root);
    ReleaseSuites out;
    for (const auto& source : host) {
        if (!source.enabled || std::find(source.types.begin(), source.types.end(), "deb") == source.types.end()) continue;
        for (const auto& suite : source.suites)
            if (belongs_to(suite, codename) && std::find(out.suites.begin(), out.suites.end(), suite) == out.suites.end())
                out.suites.push_back(suite);
    }
    if (!out.suites.empty()) return out;
    if (!have_mirror)
        throw Error(ErrorCode::NotFound,
                    fmt::format("unknown suite {}: the host's apt sources name no suite of that release", codename),
                    codename_hint(codename, host));
    out.suites = {codename, codename + "-updates", codename + "-security"};
    out.guessed = true;
    return out;
}

// "12" for bookworm; else the major number of the release's Version ("12.4").
std::string release_number(const std::string& codename, const deb::SuiteRelease& release) {
    if (auto version = vuln::debian_version_of(codename)) return *version;
    const std::string& version = release.release.version;
    std::string major = version.substr(0, version.find('.'));
    if (!major.empty() && std::all_of(major.begin(), major.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return major;
    throw Error(ErrorCode::Config,
                fmt::format("cannot tell which Debian release {} is: it is not a known codename and its Release file "
                            "has no Version", codename),
                "use a Debian release codename such as bookworm");
}

// The binary packages of an image: its lock file's when it is current, else
// a fresh resolve over the release's suites.
std::vector<std::string> image_packages(const build::ImageSpec& spec, const fs::path& spec_path, const std::string& arch,
                                        ArchiveSession& session, const std::vector<deb::SuiteRelease>& releases) {
    const fs::path lock_path = build::lock_path_for(spec_path);
    std::vector<std::string> names;
    if (fs::exists(lock_path)) {
        auto lock = build::lock_from_json(util::read_file(lock_path), lock_path.string());
        auto locked = lock.archs.find(arch);
        if (lock.spec_digest == spec.digest && locked != lock.archs.end()) {
            for (const auto& p : locked->second.packages) names.push_back(p.name);
            session.log().info(fmt::format("{}: {} packages from {}", spec_path.string(), names.size(), lock_path.string()));
            return names;
        }
        session.log().info(fmt::format("{} is out of date or has no {}; resolving {}", lock_path.string(), arch,
                                       spec_path.string()));
    }
    auto result = build::resolve_arch(session.archive(), releases, build::request_from_spec(spec), arch, session.log());
    for (const auto& p : result.packages) names.push_back(p.name);
    session.log().info(fmt::format("{}: {} packages resolved", spec_path.string(), names.size()));
    return names;
}

void run_mine(Context& ctx, const MineArgs& args) {
    const std::string& codename = args.suite;
    const bool names_suite = codename.find('/') != std::string::npos || codename.ends_with("-security") ||
                             codename.ends_with("-updates") || codename.ends_with("-backports") ||
                             (codename.find('-') != std::string::npos &&
                              vuln::debian_version_of(codename.substr(0, codename.find('-'))));
    if (names_suite)
        throw Error(ErrorCode::Usage, fmt::format("--suite {} names a suite, not a release", codename),
                    fmt::format("give the release's codename, --suite {}: its updates and security suites are read too",
                                codename.substr(0, codename.find_first_of("-/"))));
    if (args.images.empty() && args.packages.empty())
        throw Error(ErrorCode::Usage, "nothing to mine", "name packages with --packages or an image spec with --image");
    vuln::check_records_dir(args.output);  // before any download

    std::vector<build::ImageSpec> specs;
    for (const auto& path : args.images) specs.push_back(build::load_image_spec(path));
    const build::ArchiveSpec* archive_spec = specs.empty() ? nullptr : &specs.front().archive;
    const bool have_mirror = !ctx.settings.mirror.empty() || (archive_spec && !archive_spec->mirror.empty());
    const auto planned = release_suites(ctx.settings, codename, have_mirror);
    const std::string arch = args.arch.empty() ? build::default_architecture() : args.arch;

    ArchiveSession session(ctx.settings, archive_spec, {planned.suites, args.components});
    std::vector<deb::SuiteRelease> releases;
    for (const auto& source : session.suites()) {
        try {
            releases.push_back(session.archive().fetch_release(source));
        } catch (const Error& e) {
            if (e.code() != ErrorCode::NotFound) throw;
            if (source.suite == codename)
                throw Error(ErrorCode::NotFound, fmt::format("unknown suite {}: {}", codename, e.message()),
                            codename_hint(codename, {}));
            if (!planned.guessed) throw;
            session.log().info(fmt::format("{} has no suite {}; mining without it", source.mirror, source.suite));
        }
    }
    const std::string release = release_number(codename, releases.front());

    std::vector<std::vector<deb::LoadedIndex>> loaded;
    std::vector<const deb::LoadedIndex*> indices;
    for (const auto& r : releases) loaded.push_back(session.archive().load_packages(r, arch));
    for (const auto& per_suite : loaded)
        for (const auto& index : per_suite) indices.push_back(&index);

    std::vector<std::string> names = args.packages;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        auto more = image_packages(specs[i], args.images[i], arch, session, releases);
        names.insert(names.end(), more.begin(), more.end());
    }

    build::FetchOptions fetch;
    fetch.http = session.http_options();
    fetch.offline = ctx.settings.offline;
    vuln::ChangelogMiner miner(session.cache(), fetch, session.log(), session.progress());
    auto result = miner.mine(indices, names, release);
    vuln::write_records(args.output, result.records);
    fmt::print(stderr, "mined {} advisories for {} source packages into {}\n", result.records.size(),
               result.sources.size(), args.output);
}

}  // namespace

void add_advisories_command(CLI::App& app, Context& ctx) {
    auto* advisories = app.add_subcommand("advisories", "Make vulnerability advisories from Debian's own records");
    advisories->require_subcommand(1);

    auto args = std::make_shared<MineArgs>();
    auto* mine = advisories->add_subcommand(
        "mine", "Write OSV records of the CVEs each package's Debian changelog says its uploads fixed");
    mine->add_option("--suite", args->suite, "The release codename, e.g. bookworm (its -updates and -security suites are read too)")
        ->required();
    mine->add_option("--image", args->images, "Mine every source package of this image spec (repeatable)")
        ->check(CLI::ExistingFile);
    mine->add_option("--packages", args->packages, "Binary or source package names")->delimiter(',')->allow_extra_args(false);
    mine->add_option("--component", args->components, "Components to use (default: the apt sources')")
        ->delimiter(',')
        ->allow_extra_args(false);
    mine->add_option("--arch", args->arch, "Architecture whose indices are read (default: the host's)");
    mine->add_option("-o,--output", args->output, "Directory to write the records to (<id>.json each); replaced as a whole")
        ->required();
    mine->callback([&ctx, args] { run_mine(ctx, *args); });
}

}  // namespace slate::cli
