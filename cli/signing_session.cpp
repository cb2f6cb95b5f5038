#include "signing_session.hpp"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/registry/client.hpp"
#include "slate/registry/reference.hpp"
#include "slate/sign/cosign.hpp"

namespace slate::cli {

namespace fs = std::filesystem;

SigningTarget open_signing_target(const Settings& settings, const std::string& image) {
    registry::ImageLocation where = registry::parse_image_location(image);
    SigningTarget target;
    switch (where.kind) {
    case registry::ImageLocation::Kind::Layout: {
        target.store = sign::make_layout_store(where.path, where.layout_ref);
        // A layout has no repository name; its directory's name stands in
        // (verifiers ignore docker-reference, cosign included).
        fs::path absolute = fs::absolute(where.path).lexically_normal();
        std::string name = absolute.filename().empty() ? absolute.parent_path().filename().string()
                                                       : absolute.filename().string();
        target.identity = where.layout_ref.empty() ? name : name + ":" + where.layout_ref;
        break;
    }
    case registry::ImageLocation::Kind::DockerArchive:
        throw Error(ErrorCode::Usage, fmt::format("cannot sign or verify a docker-archive ({})", image),
                    "push it to a registry or copy it into an OCI layout first: slate copy docker-archive:FILE oci:DIR");
    case registry::ImageLocation::Kind::Registry: {
        target.session = std::make_unique<RegistrySession>(settings, 1);
        const registry::Reference& ref = where.reference;
        registry::Client& client = target.session->pool().client(ref.registry);
        target.store = sign::make_registry_store(client, ref, settings.effective_cache_dir());
        target.identity = sign::cosign::docker_reference(ref.registry, ref.repository);
        break;
    }
    }
    return target;
}

namespace {

util::HttpOptions tlog_http_options(const Settings& settings) {
    util::HttpOptions out;
    out.retries = settings.retries;
    out.ca_file = settings.ca_file;
    return out;
}

}  // namespace

TlogSession::TlogSession(const Settings& settings, const std::string& url)
    : log(settings.verbosity()), http(tlog_http_options(settings), log, progress), client(url, http) {}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace slate::cli
