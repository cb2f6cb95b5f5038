#pragma once
// `slate build --key`: signs the image it built and attaches what is known
// about it: SLSA Provenance v1, the SPDX SBOM of every platform, and (when a
// vulnerability database is configured) the scan of every platform, each an
// in-toto attestation stored as cosign v2 and v3 read them.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "settings.hpp"
#include "slate/build/image_build.hpp"
#include "slate/build/lock.hpp"
#include "slate/build/provenance.hpp"
#include "slate/sign/keys.hpp"
#include "slate/util/log.hpp"

namespace slate::sign {
class TlogClient;
}

namespace slate::cli {

struct BuildSigningOptions {
    const sign::PrivateKey* key = nullptr;
    sign::TlogClient* tlog = nullptr;       // may be null
    // The vulnerability database to scan with; empty: none, no scan attestation.
    std::filesystem::path database;
};

// `image`: where the build is now ("oci:OUT" or the --push reference).
// `provenance` describes the build (its finished_on is set here).
void sign_build(const Settings& settings, const std::string& image, const build::BuildResult& result,
                build::ProvenanceInputs provenance, const BuildSigningOptions& options, util::LogSink& log);

}  // namespace slate::cli
