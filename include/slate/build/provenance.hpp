#pragma once
// SLSA Provenance v1 (https://slsa.dev/spec/v1.0/provenance) for an image
// slate built: what was asked for (the spec, byte for byte, and its digest),
// exactly what went in (every .deb by URI and SHA-256, every suite's
// InRelease by digest), who built it and when.
//
// The predicate is what `slate attest --type slsaprovenance1` and
// `slate build --key` put in an in-toto Statement about the image.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/build/image_build.hpp"
#include "slate/build/image_spec.hpp"
#include "slate/build/lock.hpp"

namespace slate::build {

// The buildType of slate's provenance: how to read externalParameters.
inline constexpr std::string_view SlateBuildType = "https://slate.dev/build/image/v1";
inline constexpr std::string_view DefaultBuilderId = "urn:slate:builder:local";

struct ProvenanceInputs {
    const ImageSpec* spec = nullptr;
    std::string spec_text;               // the spec file's exact bytes (its digest is spec->digest)
    const Lock* lock = nullptr;
    std::string lock_digest;             // "sha256:<hex>" of the lock file when the build used --lock, else ""
    const BuildResult* result = nullptr;
    std::vector<std::string> archs;      // the architectures built
    std::int64_t source_date_epoch = 0;
    std::string compression;             // "gzip" / "zstd"
    std::string builder_id{DefaultBuilderId};
    std::string invocation_id;           // unique per run (random_uuid())
    std::int64_t started_on = 0;         // Unix seconds
    std::int64_t finished_on = 0;
};

// The provenance predicate (not the Statement around it). Deterministic for
// equal inputs: dependencies are listed per architecture in install order,
// suites in the lock's order.
nlohmann::ordered_json slsa_provenance(const ProvenanceInputs& inputs);

// A random (version 4) UUID, for invocation ids.
std::string random_uuid();

}  // namespace slate::build
