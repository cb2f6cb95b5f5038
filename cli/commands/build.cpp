// slate build SPEC.yaml -o OUT [--arch A,...] [--lock FILE] [--format oci|docker-archive]
//             [--source-date-epoch N] [--compression gzip|zstd] [--json] [--test] [--push REF]
//             [--key P.key [--tlog URL] [--builder-id URI] [--db PATH]]
#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "archive_session.hpp"
#include "build_signing.hpp"
#include "signing_keys.hpp"
#include "signing_session.hpp"
#include "commands/commands.hpp"
#include "slate/build/image_build.hpp"
#include "slate/build/image_test.hpp"
#include "slate/build/lock.hpp"
#include "slate/error.hpp"
#include "slate/registry/reference.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/vuln/database.hpp"

namespace slate::cli {

namespace {

using registry::ImageLocation;

struct BuildArgs {
    std::string spec;
    std::string output;
    std::vector<std::string> archs;
    std::string lock;
    std::string format = "oci";
    std::optional<std::int64_t> source_date_epoch;
    std::string compression = "gzip";
    unsigned jobs = 8;
    bool json = false;
    bool test = false;
    std::string push;  // a registry reference, or empty
    std::string key;   // sign the image and attach provenance, SBOMs and the scan
    std::string tlog;
    std::string builder_id{build::DefaultBuilderId};
    std::string db;
};

// The database a signed build scans with: --db, else the default one when
// it exists; none (no scan attestation) otherwise.
std::filesystem::path scan_database(const Context& ctx, const BuildArgs& args, util::LogSink& log) {
    if (!args.db.empty()) return args.db;
    auto path = vuln::default_database_path(ctx.settings.effective_cache_dir());
    if (std::error_code ec; std::filesystem::is_regular_file(path, ec)) return path;
    log.info("no vulnerability database (slate db import): the image gets no scan attestation");
    return {};
}

void print_result(const build::BuildResult& result, const std::string& output, bool json) {
    if (json) {
        nlohmann::ordered_json doc;
        doc["digest"] = result.digest;
        doc["sboms"] = result.sboms;
        doc["images"] = nlohmann::ordered_json::array();
        for (const auto& image : result.images) {
            nlohmann::ordered_json layers = nlohmann::ordered_json::array();
            for (const auto& l : image.layers)
                layers.push_back({{"digest", l.digest}, {"diff_id", l.diff_id}, {"size", l.size}});
            doc["images"].push_back({{"arch", image.arch},
                                     {"manifest_digest", image.manifest_digest},
                                     {"config_digest", image.config_digest},
                                     {"compressed_size", image.compressed_size},
                                     {"uncompressed_size", image.uncompressed_size},
                                     {"packages", image.packages},
                                     {"layers", layers}});
        }
        fmt::print("{}\n", doc.dump(2));
        return;
    }
    for (const auto& image : result.images)
        fmt::print("{}: {} packages, {} layer{}, {:.1f} MiB compressed ({:.1f} MiB uncompressed), {}\n", image.arch,
                   image.packages, image.layers.size(), image.layers.size() == 1 ? "" : "s",
                   static_cast<double>(image.compressed_size) / (1024.0 * 1024.0),
                   static_cast<double>(image.uncompressed_size) / (1024.0 * 1024.0), image.manifest_digest);
    fmt::print("{} -> {}\n", result.digest, output);
    for (const auto& sbom : result.sboms) fmt::print("SBOM: {}\n", sbom);
}

void run_build(Context& ctx, const BuildArgs& args) {
    const std::int64_t started = now_seconds();
    auto spec = build::load_image_spec(args.spec);
    if (args.key.empty() && (!args.tlog.empty() || !args.db.empty()))
        throw Error(ErrorCode::Usage, "--tlog and --db only apply to a signed build", "add --key P.key");
    if (!args.key.empty() && args.format != "oci")
        throw Error(ErrorCode::Usage, "--key needs --format oci", "a docker-archive has nowhere to keep signatures");
    // The key (and its password) before the build, so a wrong password does
    // not cost one.
    std::optional<sign::PrivateKey> key;
    if (!args.key.empty()) key = load_signing_key(args.key);
    if (!args.db.empty() && !std::filesystem::is_regular_file(args.db))
        throw Error(ErrorCode::NotFound, fmt::format("no vulnerability database at {}", args.db),
                    "import feeds first: slate db import FEED... --db " + args.db);
    build::BuildOptions options;
    options.output = args.output;
    options.archs = args.archs;
    options.source_date_epoch = args.source_date_epoch;
    if (args.format == "oci") options.format = build::OutputFormat::Oci;
    else if (args.format == "docker-archive") options.format = build::OutputFormat::DockerArchive;
    else throw Error(ErrorCode::Usage, fmt::format("unknown --format \"{}\"", args.format), "use oci or docker-archive");
    auto compression = oci::parse_compression(args.compression);
    if (!compression || *compression == oci::Compression::None)
        throw Error(ErrorCode::Usage, fmt::format("unknown --compression \"{}\"", args.compression), "use gzip or zstd");
    options.compression = *compression;

    ArchiveSession session(ctx.settings, &spec.archive, {});
    options.fetch.http = session.http_options();
    options.fetch.workers = args.jobs;
    options.fetch.offline = ctx.settings.offline;

    build::Lock lock;
    if (!args.lock.empty()) {
        lock = build::lock_from_json(util::read_file(args.lock), args.lock);
        if (lock.spec_digest != spec.digest)
            throw Error(ErrorCode::Config,
                        fmt::format("{} was made from another version of {} ({}, the spec is now {})", args.lock,
                                    args.spec, lock.spec_digest, spec.digest),
                        fmt::format("run slate lock {} first", args.spec));
    } else {
        // Resolve only what will be built.
        if (!args.archs.empty()) {
            for (const auto& arch : args.archs)
                if (std::find(spec.archs.begin(), spec.archs.end(), arch) == spec.archs.end())
                    throw Error(ErrorCode::Usage, fmt::format("{} is not among the spec's archs", arch),
                                "add it to archs in " + args.spec);
            spec.archs = args.archs;
        }
        lock = build::resolve_lock(spec, session.suites(), session.archive(), session.log());
    }
    if (args.test) {
        // Tests run on the finished layout before it is moved into place: a
        // failing test leaves no output.
        options.before_commit = [&](const std::filesystem::path& layout_dir) {
            const std::string host = build::default_architecture();
            auto archs = options.archs.empty() ? spec.archs : options.archs;
            if (std::find(archs.begin(), archs.end(), host) == archs.end()) {
                session.log().warning(fmt::format("--test: the image has no {} variant to run here", host));
                return;
            }
            auto report = build::run_image_tests(spec, layout_dir, host, session.log());
            if (!report.passed())
                throw Error(ErrorCode::CheckFailed,
                            fmt::format("{} of {} tests of image {} failed", report.failures(), report.outcomes.size(),
                                        spec.name),
                            "the image was not written; see the failures above");
        };
    }
    ImageLocation push_to;
    if (!args.push.empty()) {
        // Checked before building, so a typo does not cost a build.
        push_to = registry::parse_image_location(args.push);
        if (push_to.kind != ImageLocation::Kind::Registry)
            throw Error(ErrorCode::Usage, fmt::format("--push needs a registry reference, not {}", args.push),
                        "write HOST[:PORT]/NAME[:TAG]");
        if (options.format != build::OutputFormat::Oci)
            throw Error(ErrorCode::Usage, "--push needs --format oci", "push the OCI layout; docker-archive is for docker load");
    }
    auto result = build::build_image(spec, lock, session.cache(), options, session.log(), session.progress());
    print_result(result, args.output, args.json && args.push.empty());
    if (!args.push.empty()) {
        TransferArgs transfer_args;
        transfer_args.jobs = std::max(1u, std::min(args.jobs, 16u));
        transfer_args.json = args.json;
        transfer(ctx, transfer_args, registry::parse_image_location("oci:" + args.output), push_to);
    }
    if (key) {
        build::ProvenanceInputs provenance;
        provenance.spec = &spec;
        provenance.spec_text = util::read_file(args.spec);
        provenance.lock = &lock;
        if (!args.lock.empty()) provenance.lock_digest = "sha256:" + util::sha256_file_hex(args.lock);
        provenance.result = &result;
        for (const auto& image : result.images) provenance.archs.push_back(image.arch);
        provenance.source_date_epoch =
            options.source_date_epoch ? *options.source_date_epoch : build::default_source_date_epoch(lock);
        provenance.compression = args.compression;
        provenance.builder_id = args.builder_id;
        provenance.invocation_id = build::random_uuid();
        provenance.started_on = started;
        BuildSigningOptions signing;
        signing.key = &*key;
        signing.database = scan_database(ctx, args, session.log());
        std::optional<TlogSession> tlog;
        if (!args.tlog.empty()) {
            tlog.emplace(ctx.settings, args.tlog);
            signing.tlog = &tlog->client;
        }
        sign_build(ctx.settings, args.push.empty() ? "oci:" + args.output : args.push, result, std::move(provenance),
                   signing, session.log());
    }
}

}  // namespace

void add_build_command(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<BuildArgs>();
    auto* cmd = app.add_subcommand("build", "Build an OCI image from an image spec (or its lock)");
    cmd->add_option("spec", args->spec, "Image spec (.yaml)")->required()->check(CLI::ExistingFile);
    cmd->add_option("-o,--output", args->output, "Output: an OCI layout directory, or a file for docker-archive")
        ->required();
    cmd->add_option("--arch", args->archs, "Architectures to build (default: the spec's)")
        ->delimiter(',')
        ->allow_extra_args(false);
    cmd->add_option("--lock", args->lock, "Build exactly this lock file's packages")->check(CLI::ExistingFile);
    cmd->add_option("--format", args->format, "oci (default) or docker-archive");
    cmd->add_option("--source-date-epoch", args->source_date_epoch,
                    "Timestamp for every file and date in the image (default: from the lock)")
        ->envname("SOURCE_DATE_EPOCH");
    cmd->add_option("--compression", args->compression, "Layer compression: gzip (default) or zstd");
    cmd->add_option("--jobs", args->jobs, "Parallel downloads")->check(CLI::Range(1u, 64u));
    cmd->add_flag("--json", args->json, "Print {digest, images: [...]} as JSON");
    cmd->add_option("--push", args->push, "Push the built image to this registry reference (HOST[:PORT]/NAME[:TAG])");
    cmd->add_option("--key", args->key,
                    "Sign the image and attach SLSA provenance, the SBOMs and the scan (cosign v2 and v3 formats)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--tlog", args->tlog, "With --key: record every signature in this transparency log (slate tlog serve)");
    cmd->add_option("--builder-id", args->builder_id, "With --key: the provenance's builder.id (a URI)");
    cmd->add_option("--db", args->db, "With --key: scan with this database (default: <cache>/vuln/vuln.db when it exists)");
    cmd->add_flag("--test", args->test, "Run the spec's tests on the host's architecture before writing the image");
    cmd->callback([&ctx, args] { run_build(ctx, *args); });
}

}  // namespace slate::cli
