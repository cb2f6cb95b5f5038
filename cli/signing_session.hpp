#pragma once
// What the commands that sign or verify images (sign, attest, verify, build
// --key) need to reach an image and a transparency log.

#include <cstdint>
#include <memory>
#include <string>

#include "registry_session.hpp"
#include "settings.hpp"
#include "slate/sign/image_signing.hpp"
#include "slate/sign/tlog_client.hpp"
#include "slate/util/http.hpp"
#include "terminal.hpp"

namespace slate::cli {

// The image a command works on, and what it needs to reach it.
struct SigningTarget {
    std::unique_ptr<RegistrySession> session;  // registries only
    std::unique_ptr<sign::ArtifactStore> store;
    std::string identity;  // docker-reference / statement subject name
};

// IMAGE as the signing commands take it: a registry reference or an OCI
// layout (oci:DIR[:REF], or a directory). Throws slate::Error (Usage) for a
// docker-archive, which has nowhere to keep signatures.
SigningTarget open_signing_target(const Settings& settings, const std::string& image);

// A transparency-log client for --tlog, with the HTTP client it borrows.
struct TlogSession {
    TerminalLog log;
    TerminalProgress progress;
    util::CurlHttpClient http;
    sign::TlogClient client;

    TlogSession(const Settings& settings, const std::string& url);
};

std::int64_t now_seconds();

}  // namespace slate::cli
