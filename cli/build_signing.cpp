#include "build_signing.hpp"

#include <fmt/format.h>

#include "signing_session.hpp"
#include "slate/error.hpp"
#include "slate/registry/reference.hpp"
#include "slate/sbom/read.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/sign/image_signing.hpp"
#include "slate/util/fs.hpp"
#include "slate/vuln/database.hpp"
#include "slate/vuln/match.hpp"
#include "slate/vuln/vex.hpp"
#include "slate/vuln/writers.hpp"

namespace slate::cli {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view SlsaProvenanceV1 = "https://slsa.dev/provenance/v1";
constexpr std::string_view SpdxDocument = "https://spdx.dev/Document";
constexpr std::string_view CosignVulnV1 = "https://cosign.sigstore.dev/attestation/vuln/v1";

// One platform's manifest of the built image, as a signing target: the
// layout entry build_image names after the architecture, or the pushed
// repository at the manifest's digest.
std::string platform_image(const std::string& image, const build::BuiltImage& built) {
    registry::ImageLocation where = registry::parse_image_location(image);
    if (where.kind == registry::ImageLocation::Kind::Registry)
        return where.reference.with_digest(built.manifest_digest).to_string();
    return "oci:" + where.path.string() + ":" + built.arch;
}

void attest(const Settings& settings, const std::string& image, std::string_view predicate_type, Json predicate,
            const BuildSigningOptions& options, bool recursive, util::LogSink& log) {
    SigningTarget target = open_signing_target(settings, image);
    sign::AttestOptions attest;
    attest.key = options.key;
    attest.identity = target.identity;
    attest.predicate_type = std::string(predicate_type);
    attest.predicate = std::move(predicate);
    attest.recursive = recursive;
    attest.tlog = options.tlog;
    attest.created = now_seconds();
    auto report = sign::attest_image(*target.store, attest);
    for (const auto& manifest : report.manifests)
        log.info(fmt::format("attested {} {} ({})", manifest.digest, predicate_type, manifest.referrer));
}

// The scan of one platform's SBOM, as cosign's vuln predicate.
Json scan_predicate(vuln::Database& db, const std::vector<vuln::VexStatement>& vex, const std::string& sbom_path,
                    const build::BuiltImage& built, util::LogSink& log) {
    vuln::ScanOptions scan;
    scan.now = now_seconds();
    sbom::Catalog catalog = sbom::read_sbom_file(sbom_path);
    vuln::ScanReport report = vuln::scan_catalog(db, catalog, scan, vex, {});
    report.target.digest = built.manifest_digest;
    report.target.kind = "image";
    for (const auto& warning : report.warnings) log.warning(warning);
    log.info(fmt::format("{}: {} vulnerabilities ({} suppressed)", built.arch, report.summary.matches,
                         report.summary.suppressed));
    return Json::parse(vuln::to_cosign_vuln(report, scan.now, now_seconds()));
}

}  // namespace

void sign_build(const Settings& settings, const std::string& image, const build::BuildResult& result,
                build::ProvenanceInputs provenance, const BuildSigningOptions& options, util::LogSink& log) {
    if (!options.key) throw Error(ErrorCode::Internal, "sign_build needs a key");
    try {
        // The signature: the index and, recursively, every platform manifest,
        // so an image pulled by its platform digest verifies too.
        {
            SigningTarget target = open_signing_target(settings, image);
            sign::SignOptions sign;
            sign.key = options.key;
            sign.identity = target.identity;
            sign.recursive = true;
            sign.tlog = options.tlog;
            sign.created = now_seconds();
            auto report = sign::sign_image(*target.store, sign);
            log.info(fmt::format("signed {} ({} manifest{})", image, report.manifests.size(),
                                 report.manifests.size() == 1 ? "" : "s"));
        }

        provenance.finished_on = now_seconds();
        attest(settings, image, SlsaProvenanceV1, build::slsa_provenance(provenance), options, true, log);

        // build_image writes one SBOM per image in `images` order, then (with
        // several) the index document: each goes to the manifest it describes.
        const bool single = result.images.size() == 1;
        if (result.sboms.size() != result.images.size() + (single ? 0 : 1))
            throw Error(ErrorCode::Internal, "the build's SBOMs do not match its images");
        for (std::size_t i = 0; i < result.images.size(); ++i) {
            std::string target = single ? image : platform_image(image, result.images[i]);
            attest(settings, target, SpdxDocument, Json::parse(util::read_file(result.sboms[i])), options, false, log);
        }
        if (!single)
            attest(settings, image, SpdxDocument, Json::parse(util::read_file(result.sboms.back())), options, false,
                   log);

        if (!options.database.empty()) {
            vuln::Database db(options.database);
            std::vector<vuln::VexStatement> vex;
            for (const auto& document : db.vex_documents()) {
                auto statements = vuln::parse_openvex(document, options.database.string());
                vex.insert(vex.end(), statements.begin(), statements.end());
            }
            for (std::size_t i = 0; i < result.images.size(); ++i) {
                std::string target = single ? image : platform_image(image, result.images[i]);
                attest(settings, target, CosignVulnV1, scan_predicate(db, vex, result.sboms[i], result.images[i], log),
                       options, false, log);
            }
        }
    } catch (Error& e) {
        e.add_context(fmt::format("while signing {} and attaching its provenance", image));
        throw;
    }
}

}  // namespace slate::cli
