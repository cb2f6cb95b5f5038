// slate sbom SOURCE [--format spdx-json|cyclonedx-json] [-o FILE] [--platform OS/ARCH] [--files]
//
// SOURCE: dir:ROOTFS, an OCI layout (oci:DIR[:REF] or a directory),
// docker-archive:FILE or a registry reference. An image with several platforms
// gives one document per platform plus an index document that links them.
#include <fmt/format.h>

#include "commands/commands.hpp"
#include "registry_session.hpp"
#include "slate/error.hpp"
#include "slate/oci/layout.hpp"
#include "slate/sbom/cyclonedx.hpp"
#include "slate/sbom/sbom.hpp"
#include "slate/sbom/spdx.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::cli {
namespace {

namespace fs = std::filesystem;

struct SbomArgs {
    std::string source;
    std::string format = "spdx-json";
    std::string output;
    std::string platform;
    bool files = false;
};

struct Writer {
    std::string suffix;  // ".spdx.json", ".cdx.json"
    std::function<std::string(const sbom::Catalog&)> document;
    std::function<std::string(const sbom::Subject&)> identity;  // namespace or serial number
    std::function<std::string(const sbom::Subject&, std::int64_t, const std::vector<sbom::PlatformDocument>&)> index;
};

Writer writer_for(const std::string& format, bool files) {
    sbom::DocumentOptions options;
    options.files = files;
    if (format == "spdx-json" || format == "spdx")
        return {".spdx.json", [=](const sbom::Catalog& c) { return sbom::to_spdx_json(c, options); },
                [](const sbom::Subject& s) { return sbom::spdx_namespace(s); },
                [=](const sbom::Subject& s, std::int64_t created, const std::vector<sbom::PlatformDocument>& p) {
                    return sbom::to_spdx_index_json(s, created, p, options);
                }};
    if (format == "cyclonedx-json" || format == "cyclonedx")
        return {".cdx.json", [=](const sbom::Catalog& c) { return sbom::to_cyclonedx_json(c, options); },
                [](const sbom::Subject& s) { return sbom::cyclonedx_serial(s); },
                [=](const sbom::Subject& s, std::int64_t created, const std::vector<sbom::PlatformDocument>& p) {
                    return sbom::to_cyclonedx_index_json(s, created, p, options);
                }};
    throw Error(ErrorCode::Usage, fmt::format("unknown --format \"{}\"", format), "use spdx-json or cyclonedx-json");
}

// "out/python.spdx.json" + linux/arm64/v8 -> "out/python.linux-arm64-v8.spdx.json".
fs::path platform_path(const fs::path& index_path, const std::string& suffix, const std::string& platform) {
    std::string name = index_path.filename().string();
    std::string stem = name;
    for (const std::string& known : {suffix, std::string(".json")})
        if (stem.size() > known.size() && stem.ends_with(known)) {
            stem.resize(stem.size() - known.size());
            break;
        }
    std::string tag = platform;
    std::replace(tag.begin(), tag.end(), '/', '-');
    return index_path.parent_path() / (stem + "." + tag + suffix);
}

void emit(const std::string& output, const std::string& document) {
    if (output.empty() || output == "-") {
        fmt::print("{}", document);
        if (!document.ends_with("\n")) fmt::print("\n");
        return;
    }
    util::write_file_atomic(output, document);
}

void report_warnings(TerminalLog& log, const sbom::Catalog& catalog) {
    for (const auto& warning : catalog.warnings)
        log.warning(warning.path.empty() ? warning.message : fmt::format("{}: {}", warning.path, warning.message));
}

void run_sbom(Context& ctx, const SbomArgs& args) {
    TerminalLog log(ctx.settings.verbosity());
    const Writer writer = writer_for(args.format, args.files);
    sbom::CatalogOptions options;
    options.files = args.files;

    if (args.source.starts_with("dir:")) {
        sbom::Catalog catalog = sbom::catalog_directory(args.source.substr(4), options);
        report_warnings(log, catalog);
        emit(args.output, writer.document(catalog));
        return;
    }

    registry::ImageLocation where = registry::parse_image_location(args.source);
    std::string name, version;
    switch (where.kind) {
        case registry::ImageLocation::Kind::Registry:
            name = where.reference.name();
            version = where.reference.tag;
            break;
        case registry::ImageLocation::Kind::Layout:
            name = fs::absolute(where.path).lexically_normal().filename().string();
            version = where.layout_ref;
            break;
        case registry::ImageLocation::Kind::DockerArchive:
            name = where.path.filename().string();
            break;
    }
    LocalImage local(ctx.settings, args.source);
    oci::Layout layout = oci::read_layout(local.dir());
    if (version.empty()) version = layout.ref_name;

    std::vector<const oci::LayoutImage*> chosen;
    if (!args.platform.empty()) {
        oci::Platform want = parse_platform_flag(args.platform);
        const oci::LayoutImage* image = layout.find(want);
        if (!image) {
            std::string there;
            for (const auto& i : layout.images) there += (there.empty() ? "" : ", ") + oci::to_string(i.platform);
            throw Error(ErrorCode::NotFound, fmt::format("{} has no image for {}", args.source, args.platform),
                        "platforms there: " + there);
        }
        chosen.push_back(image);
    } else {
        for (const auto& image : layout.images) chosen.push_back(&image);
    }

    if (chosen.size() == 1) {
        sbom::Catalog catalog = sbom::catalog_layout_image(layout, *chosen.front(), name, version, options);
        report_warnings(log, catalog);
        emit(args.output, writer.document(catalog));
        return;
    }
    if (args.output.empty() || args.output == "-")
        throw Error(ErrorCode::Usage,
                    fmt::format("{} has {} platforms: an SBOM each and an index that links them", args.source,
                                chosen.size()),
                    "write them to files with -o FILE (FILE gets the index), or pick one with --platform");
    std::vector<sbom::PlatformDocument> platforms;
    std::int64_t created = 0;
    for (const auto* image : chosen) {
        sbom::Catalog catalog = sbom::catalog_layout_image(layout, *image, name, version, options);
        report_warnings(log, catalog);
        std::string document = writer.document(catalog);
        fs::path path = platform_path(args.output, writer.suffix, catalog.subject.platform);
        util::write_file_atomic(path, document);
        log.info(fmt::format("{}: {} packages -> {}", catalog.subject.platform, catalog.packages.size(), path.string()));
        platforms.push_back({catalog.subject, writer.identity(catalog.subject), util::sha256_hex(document)});
        created = std::max(created, catalog.created);
    }
    sbom::Subject index;
    index.name = name;
    index.version = version;
    index.digest = layout.top.digest;
    util::write_file_atomic(args.output, writer.index(index, created, platforms));
}

}  // namespace

void add_sbom_command(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<SbomArgs>();
    auto* cmd = app.add_subcommand("sbom", "Write the SBOM (SPDX or CycloneDX) of an image or a root file system");
    cmd->footer("SOURCE: dir:ROOTFS, an OCI layout (oci:DIR[:REF] or a directory), docker-archive:FILE or a registry "
                "reference.\nAn image with several platforms needs -o FILE: FILE gets the index document, and "
                "FILE's name with .<os>-<arch> inserted gets each platform's.");
    cmd->add_option("source", args->source, "What to catalog")->required();
    cmd->add_option("--format", args->format, "spdx-json (default) or cyclonedx-json");
    cmd->add_option("-o,--output", args->output, "Write to this file (default: stdout)");
    cmd->add_option("--platform", args->platform, "Only this platform's image (OS/ARCH[/VARIANT])");
    cmd->add_flag("--files", args->files, "List every regular file with its SHA-256");
    cmd->callback([&ctx, args] { run_sbom(ctx, *args); });
}

}  // namespace slate::cli
