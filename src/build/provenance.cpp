#include "slate/build/provenance.hpp"

#include <array>
#include <set>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/util/hash.hpp"

namespace slate::build {

namespace {

using Json = nlohmann::ordered_json;

// "sha256:<hex>" -> {"sha256": "<hex>"}, the in-toto DigestSet form.
Json digest_set(std::string_view digest) {
    constexpr std::string_view Prefix = "sha256:";
    if (!digest.starts_with(Prefix) || !util::is_sha256_hex(digest.substr(Prefix.size())))
        throw Error(ErrorCode::Internal, fmt::format("provenance: \"{}\" is not a sha256 digest", digest));
    return Json{{"sha256", std::string(digest.substr(Prefix.size()))}};
}

Json external_parameters(const ProvenanceInputs& in) {
    Json spec{{"path", in.spec->path.generic_string()},
              {"digest", digest_set(in.spec->digest)},
              {"content", in.spec_text}};
    Json params{{"spec", std::move(spec)}};
    if (!in.lock_digest.empty()) params["lock"] = Json{{"digest", digest_set(in.lock_digest)}};
    params["archs"] = in.archs;
    params["sourceDateEpoch"] = in.source_date_epoch;
    params["compression"] = in.compression;
    return params;
}

// Every suite's InRelease (what the package indices were verified against),
// then every .deb of every architecture built, each once.
Json resolved_dependencies(const ProvenanceInputs& in) {
    Json deps = Json::array();
    for (const auto& suite : in.lock->suites) {
        deps.push_back(Json{{"uri", suite.mirror + "/dists/" + suite.suite + "/InRelease"},
                            {"digest", Json{{"sha256", suite.inrelease_sha256}}},
                            {"name", suite.suite + "/InRelease"},
                            {"annotations", Json{{"date", suite.date}, {"components", suite.components}}}});
    }
    std::set<std::string> seen;  // an arch:all package is in every architecture's list
    for (const auto& arch : in.archs) {
        auto it = in.lock->archs.find(arch);
        if (it == in.lock->archs.end())
            throw Error(ErrorCode::Internal, fmt::format("provenance: the lock has no architecture {}", arch));
        for (const auto& package : it->second.packages) {
            if (!seen.insert(package.sha256).second) continue;
            deps.push_back(Json{{"uri", package.mirror + "/" + package.filename},
                                {"digest", Json{{"sha256", package.sha256}}},
                                {"name", fmt::format("{}_{}_{}.deb", package.name, package.version, package.arch)},
                                {"annotations", Json{{"suite", package.suite},
                                                     {"source", package.source},
                                                     {"sourceVersion", package.source_version}}}});
        }
    }
    return deps;
}

Json byproducts(const ProvenanceInputs& in) {
    Json out = Json::array();
    for (const auto& image : in.result->images)
        out.push_back(Json{{"name", "manifest-" + image.arch},
                           {"digest", digest_set(image.manifest_digest)},
                           {"mediaType", "application/vnd.oci.image.manifest.v1+json"}});
    return out;
}

}  // namespace

Json slsa_provenance(const ProvenanceInputs& in) {
    if (!in.spec || !in.lock || !in.result)
        throw Error(ErrorCode::Internal, "provenance: spec, lock and build result are required");
    Json build_definition{{"buildType", std::string(SlateBuildType)},
                          {"externalParameters", external_parameters(in)},
                          {"internalParameters", Json{{"slateVersion", SLATE_VERSION}}},
                          {"resolvedDependencies", resolved_dependencies(in)}};
    Json run_details{{"builder", Json{{"id", in.builder_id}, {"version", Json{{"slate", SLATE_VERSION}}}}},
                     {"metadata", Json{{"invocationId", in.invocation_id},
                                       {"startedOn", oci::format_rfc3339(in.started_on)},
                                       {"finishedOn", oci::format_rfc3339(in.finished_on)}}},
                     {"byproducts", byproducts(in)}};
    return Json{{"buildDefinition", std::move(build_definition)}, {"runDetails", std::move(run_details)}};
}

std::string random_uuid() {
    std::array<unsigned char, 16> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw Error(ErrorCode::Internal, "the system's random number generator failed");
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
    std::string hex = util::to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4), hex.substr(16, 4),
                       hex.substr(20));
}

}  // namespace slate::build
