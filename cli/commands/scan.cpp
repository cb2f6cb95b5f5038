// slate scan SOURCE [--db PATH] [--format table|json|sarif|cyclonedx|openvex] [-o FILE]
//            [--fail-on SEVERITY] [--ignore-unfixed] [--vex FILE]... [--ignore-file FILE]
//            [--show-negligible] [--show-undetermined] [--platform OS/ARCH] [--distro debian:N]
//
// SOURCE: an image (oci:DIR[:REF], a layout directory, docker-archive:FILE, a
// registry reference), dir:ROOTFS, or an SBOM (sbom:FILE, or any file holding
// an SPDX or CycloneDX JSON document). Exit code 3 when --fail-on is reached.

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <set>

#include "commands/commands.hpp"
#include "registry_session.hpp"
#include "slate/error.hpp"
#include "slate/oci/layout.hpp"
#include "slate/sbom/catalog_json.hpp"
#include "slate/sbom/read.hpp"
#include "slate/sbom/sbom.hpp"
#include "slate/util/fs.hpp"
#include "slate/vuln/match.hpp"
#include "slate/vuln/writers.hpp"
#include "terminal.hpp"

namespace slate::cli {
namespace {

namespace fs = std::filesystem;

struct ScanArgs {
    std::string source;
    std::string db;
    std::string format = "table";
    std::string output;
    std::string fail_on;
    bool ignore_unfixed = false;
    bool show_negligible = false;
    bool show_undetermined = false;
    std::vector<std::string> vex;
    std::string ignore_file;
    std::string platform;
    std::string distro;
    bool no_cache = false;
};

// The host's platform, for choosing one image of an index.
oci::Platform host_platform() {
#if defined(__aarch64__)
    return oci::platform_for_debian_arch("arm64");
#else
    return oci::platform_for_debian_arch("amd64");
#endif
}

// An SBOM given as a file: "sbom:FILE", or a regular file whose first
// non-blank byte opens a JSON object (layouts are directories, docker
// archives are tar files).
std::optional<fs::path> sbom_file(const std::string& source) {
    if (source.starts_with("sbom:")) return fs::path(source.substr(5));
    std::error_code ec;
    if (!fs::is_regular_file(source, ec)) return std::nullopt;
    std::string head = util::read_file_prefix(source, 256);
    auto first = head.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && head[first] == '{') return fs::path(source);
    return std::nullopt;
}

// Which of an image's platforms to scan: --platform, the only one, or this machine's.
std::size_t choose_platform(const std::vector<oci::Platform>& platforms, const std::string& source,
                            const std::string& flag) {
    std::string there;
    for (const auto& platform : platforms) there += (there.empty() ? "" : ", ") + oci::to_string(platform);
    auto find = [&](const oci::Platform& want) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < platforms.size(); ++i)
            if (platforms[i] == want) return i;
        return std::nullopt;
    };
    if (!flag.empty()) {
        if (auto i = find(parse_platform_flag(flag))) return *i;
        throw Error(ErrorCode::NotFound, fmt::format("{} has no image for {}", source, flag), "platforms there: " + there);
    }
    if (platforms.size() == 1) return 0;
    if (auto i = find(host_platform())) return *i;
    throw Error(ErrorCode::Usage, fmt::format("{} has {} platforms and none is this machine's", source, platforms.size()),
                "pick one with --platform (there: " + there + ")");
}

fs::path cached_catalog_path(const Context& ctx, const std::string& digest) {
    return fs::path(ctx.settings.effective_cache_dir()) / "catalogs" / (digest.substr(digest.find(':') + 1) + ".json");
}

std::optional<sbom::Catalog> cached_catalog(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    return sbom::catalog_from_json(util::read_file(path));
}

// A registry image's manifest digest for the chosen platform, from its
// manifests alone (no layers are downloaded).
std::string registry_manifest_digest(const Context& ctx, const ScanArgs& args, const registry::ImageLocation& where) {
    RegistrySession session(ctx.settings, 1);
    util::TempDir scratch(fs::temp_directory_path(), "slate-scan-");
    registry::ImageSource source(where, session.pool(), scratch.path());
    registry::Inspection inspection = registry::inspect_image(source);
    std::vector<oci::Platform> platforms;
    for (const auto& image : inspection.images) platforms.push_back(image.platform);
    return inspection.images.at(choose_platform(platforms, args.source, args.platform)).manifest.digest;
}

// The image's catalog, from the cache when this manifest was cataloged before.
sbom::Catalog image_catalog(const Context& ctx, const ScanArgs& args, TerminalLog& log) {
    registry::ImageLocation where = registry::parse_image_location(args.source);
    std::string name = args.source;
    if (where.kind == registry::ImageLocation::Kind::Layout) name = fs::absolute(where.path).lexically_normal().string();
    // A registry image cached before needs only its manifests: re-matching a
    // fleet when advisories change downloads no layers.
    if (where.kind == registry::ImageLocation::Kind::Registry && !args.no_cache)
        if (auto catalog = cached_catalog(cached_catalog_path(ctx, registry_manifest_digest(ctx, args, where)))) {
            catalog->subject.name = name;
            return std::move(*catalog);
        }

    LocalImage local(ctx.settings, args.source);
    oci::Layout layout = oci::read_layout(local.dir());
    std::vector<oci::Platform> platforms;
    for (const auto& image : layout.images) platforms.push_back(image.platform);
    const oci::LayoutImage& image = layout.images.at(choose_platform(platforms, args.source, args.platform));
    const std::string digest = image.manifest_descriptor.digest;
    const fs::path cached = cached_catalog_path(ctx, digest);
    if (!args.no_cache)
        if (auto catalog = cached_catalog(cached)) {
            catalog->subject.name = name;
            return std::move(*catalog);
        }
    sbom::Catalog catalog = sbom::catalog_layout_image(layout, image, name, layout.ref_name);
    for (const auto& warning : catalog.warnings)
        log.warning(warning.path.empty() ? warning.message : fmt::format("{}: {}", warning.path, warning.message));
    if (!args.no_cache) {
        try {
            fs::create_directories(cached.parent_path());
            util::write_file_atomic(cached, sbom::catalog_to_json(catalog));
        } catch (const std::exception& e) {  // a cache that cannot be written only costs time
            log.warning(fmt::format("cannot cache the catalog of {}: {}", digest, e.what()));
        }
    }
    return catalog;
}

sbom::Catalog load_catalog(const Context& ctx, const ScanArgs& args, TerminalLog& log, std::string& kind) {
    if (args.source.starts_with("dir:")) {
        kind = "directory";
        return sbom::catalog_directory(args.source.substr(4));
    }
    if (auto file = sbom_file(args.source)) {
        kind = "sbom";
        sbom::Catalog catalog = sbom::read_sbom_file(*file);
        for (const auto& warning : catalog.warnings) log.warning(fmt::format("{}: {}", file->string(), warning.message));
        if (catalog.subject.name.empty()) catalog.subject.name = file->string();
        return catalog;
    }
    kind = "image";
    return image_catalog(ctx, args, log);
}

// "debian:12", "debian-12", "12" or "bookworm" -> "12".
std::string release_flag(const std::string& text) {
    if (text.empty()) return {};
    std::string value = text;
    for (const char* prefix : {"debian:", "debian-", "Debian:"})
        if (value.starts_with(prefix)) value = value.substr(std::string_view(prefix).size());
    if (auto version = vuln::debian_version_of(value)) return *version;
    if (!value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) return value;
    throw Error(ErrorCode::Usage, fmt::format("--distro {} is not a Debian release", text), "write debian:12 or bookworm");
}

std::size_t terminal_width() {
    winsize size{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
    if (const char* columns = std::getenv("COLUMNS")) return static_cast<std::size_t>(std::max(40, std::atoi(columns)));
    return 0;  // not a terminal: no limit
}

std::string render(const vuln::ScanReport& report, const ScanArgs& args, std::int64_t now) {
    const std::string& f = args.format;
    if (f == "table") {
        bool to_terminal = (args.output.empty() || args.output == "-") && isatty(STDOUT_FILENO);
        vuln::TableOptions options;
        options.color = to_terminal && std::getenv("NO_COLOR") == nullptr;
        options.width = to_terminal ? terminal_width() : 0;
        return vuln::to_table(report, options);
    }
    if (f == "json") return vuln::to_json(report);
    if (f == "sarif") return vuln::to_sarif(report);
    if (f == "cyclonedx" || f == "cyclonedx-json") return vuln::to_cyclonedx(report, now);
    if (f == "openvex") return vuln::to_openvex(report, now, "slate");
    throw Error(ErrorCode::Usage, fmt::format("unknown --format \"{}\"", f), "use table, json, sarif, cyclonedx or openvex");
}

void write_report(const std::string& text, const std::string& output) {
    if (output.empty() || output == "-")
        fmt::print("{}", text);
    else
        util::write_file_atomic(output, text);
}

void run_scan(Context& ctx, const ScanArgs& args) {
    TerminalLog log(ctx.settings.verbosity());
    std::optional<vuln::Severity> threshold;
    if (!args.fail_on.empty()) {
        threshold = vuln::parse_severity(args.fail_on);
        if (!threshold)
            throw Error(ErrorCode::Usage, fmt::format("--fail-on {} is not a severity", args.fail_on),
                        "use negligible, low, medium, high or critical");
    }
    // A bad --format fails before any work. (Not by rendering an empty report:
    // to_openvex refuses a report without findings.)
    static const std::set<std::string> Formats{"table", "json", "sarif", "cyclonedx", "cyclonedx-json", "openvex"};
    if (!Formats.contains(args.format))
        throw Error(ErrorCode::Usage, fmt::format("unknown --format \"{}\"", args.format),
                    "use table, json, sarif, cyclonedx or openvex");
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();

    vuln::ScanOptions options;
    options.show_negligible = args.show_negligible;
    options.show_undetermined = args.show_undetermined;
    options.ignore_unfixed = args.ignore_unfixed;
    options.release = release_flag(args.distro);
    options.now = now;

    fs::path db_path = args.db.empty() ? vuln::default_database_path(ctx.settings.effective_cache_dir()) : fs::path(args.db);
    vuln::Database db(db_path);
    std::vector<vuln::VexStatement> vex;
    for (const auto& document : db.vex_documents()) {
        auto statements = vuln::parse_openvex(document, db_path.string());
        vex.insert(vex.end(), statements.begin(), statements.end());
    }
    for (const auto& file : args.vex) {
        auto statements = vuln::read_openvex_file(file);
        vex.insert(vex.end(), statements.begin(), statements.end());
    }
    vuln::IgnoreRules ignore;
    if (!args.ignore_file.empty())
        ignore = vuln::read_ignore_file(args.ignore_file);
    else if (std::error_code ec; fs::is_regular_file(".slateignore.yaml", ec))
        ignore = vuln::read_ignore_file(".slateignore.yaml");

    std::string kind;
    sbom::Catalog catalog = load_catalog(ctx, args, log, kind);
    vuln::ScanReport report = vuln::scan_catalog(db, catalog, options, vex, ignore);
    report.target.kind = kind;
    for (const auto& warning : report.warnings) log.warning(warning);

    if (args.format == "openvex" && report.matches.empty() && report.suppressed.empty()) {
        // OpenVEX has no way to say "nothing found": a document needs a statement.
        log.info(fmt::format("no findings in {}: no OpenVEX statements to write", report.target.name));
    } else {
        write_report(render(report, args, now), args.output);
    }

    if (threshold) {
        std::size_t over = 0;
        for (const auto& finding : report.matches)
            if (finding.severity >= *threshold) ++over;
        if (over > 0) {
            log.log(util::LogLevel::Error, fmt::format("{} {} at or above {} (--fail-on {})", over, over == 1 ? "vulnerability" : "vulnerabilities",
                                  vuln::to_string(*threshold), args.fail_on));
            ctx.exit_code = 3;
        }
    }
}

}  // namespace

void add_scan_command(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<ScanArgs>();
    auto* cmd = app.add_subcommand("scan", "Scan an image, a root file system or an SBOM for known vulnerabilities");
    cmd->footer("SOURCE: oci:DIR[:REF], a layout directory, docker-archive:FILE, a registry reference, dir:ROOTFS, or an "
                "SBOM (sbom:FILE or an SPDX/CycloneDX JSON file).\nExit codes: 0 no finding at or above --fail-on, 3 "
                "--fail-on reached, 1 error, 2 usage.\nA .slateignore.yaml in the working directory is applied unless "
                "--ignore-file names another.");
    cmd->add_option("source", args->source, "What to scan")->required();
    cmd->add_option("--db", args->db, "The vulnerability database (default: <cache>/vuln/vuln.db)");
    cmd->add_option("--format", args->format, "table (default), json, sarif, cyclonedx or openvex");
    cmd->add_option("-o,--output", args->output, "Write to this file (default: stdout)");
    cmd->add_option("--fail-on", args->fail_on, "Exit with 3 when a finding is at least this severe");
    cmd->add_flag("--ignore-unfixed", args->ignore_unfixed, "Report only vulnerabilities with a fix");
    cmd->add_option("--vex", args->vex, "An OpenVEX document whose statements suppress findings (repeatable)");
    cmd->add_option("--ignore-file", args->ignore_file, "Ignore rules (default: ./.slateignore.yaml when present)");
    cmd->add_flag("--show-negligible", args->show_negligible, "Also report negligible findings");
    cmd->add_flag("--show-undetermined", args->show_undetermined, "Also report findings Debian has not triaged");
    cmd->add_option("--platform", args->platform, "The image of this platform (default: this machine's)");
    cmd->add_option("--distro", args->distro, "The Debian release to match when the image does not say (debian:12)");
    cmd->add_flag("--no-cache", args->no_cache, "Catalog the image again instead of using the cached catalog");
    cmd->callback([&ctx, args] { run_scan(ctx, *args); });
}

}  // namespace slate::cli
