#pragma once
// What the `slate sign` / `attest` / `verify` registry tests share: key pairs
// made by `slate keygen`, images pushed by `slate push`, a registry client for
// looking at (and tampering with) what was written, and documents built by
// hand from cosign's published formats (not with slate's own writers), so that
// verifying them shows slate reads what cosign writes.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "client_support.hpp"
#include "slate/oci/image.hpp"
#include "slate/registry/client.hpp"
#include "slate/sign/keys.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"
#include "support/oci_fixture.hpp"
#include "support/registry_server.hpp"

namespace slate::test {

inline const EnvList& password_env() {
    static const EnvList env{{"SLATE_PASSWORD", "pw"}};
    return env;
}

struct KeyPair {
    std::filesystem::path key;
    std::filesystem::path pub;
};

// `slate keygen --output-prefix DIR/NAME` with the password "pw".
inline KeyPair make_keys(const CliHome& cli, const std::filesystem::path& dir, const std::string& name) {
    std::filesystem::create_directories(dir);
    auto prefix = dir / name;
    auto result = cli.slate({"keygen", "--output-prefix", prefix.string()}, password_env());
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return {prefix.string() + ".key", prefix.string() + ".pub"};
}

struct PushedImage {
    std::string repository;  // "sign/app"
    std::string tag_ref;     // "127.0.0.1:PORT/sign/app:1"
    std::string digest_ref;  // "127.0.0.1:PORT/sign/app@sha256:..."
    TestImage image;
};

// Writes a test image (one platform unless `archs` says more) and pushes it.
inline PushedImage push_image(const CliHome& cli, const RegistryServer& registry, const std::filesystem::path& work,
                              const std::string& repository, std::vector<std::string> archs = {"amd64"},
                              std::uint32_t seed = 1) {
    PushedImage out;
    out.repository = repository;
    out.image = make_test_image(work / ("image-" + std::to_string(seed) + "-" + std::to_string(archs.size())),
                                {.archs = std::move(archs), .seed = seed});
    out.tag_ref = registry.host() + "/" + repository + ":1";
    out.digest_ref = registry.host() + "/" + repository + "@" + out.image.top.digest;
    auto push = cli.slate({"push", "oci:" + out.image.dir.string() + ":latest", out.tag_ref});
    EXPECT_EQ(push.exit_code, 0) << push.err;
    return out;
}

// `slate verify ... --json`: the parsed result (null when it failed).
inline nlohmann::json verify_json(const CliHome& cli, std::vector<std::string> args) {
    args.insert(args.begin(), "verify");
    args.push_back("--json");
    auto result = cli.slate(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    if (result.exit_code != 0) return nullptr;
    return nlohmann::json::parse(result.out);
}

// The locations of the verified signatures in a --json result.
inline std::vector<std::string> verified_locations(const nlohmann::json& result) {
    std::vector<std::string> out;
    if (!result.is_object()) return out;
    for (const auto& signature : result["signatures"])
        if (signature["verified"].get<bool>()) out.push_back(signature["location"].get<std::string>());
    return out;
}

inline std::size_t count_prefix(const std::vector<std::string>& values, const std::string& prefix) {
    std::size_t count = 0;
    for (const auto& value : values) count += value.starts_with(prefix) ? 1 : 0;
    return count;
}

inline std::string sig_tag(const std::string& digest) { return "sha256-" + digest.substr(7) + ".sig"; }
inline std::string att_tag(const std::string& digest) { return "sha256-" + digest.substr(7) + ".att"; }
inline std::string referrers_tag(const std::string& digest) { return "sha256-" + digest.substr(7); }

inline std::string b64(std::string_view bytes) { return util::base64_encode(bytes); }

// Pushes `bytes` as a blob and returns its descriptor.
inline oci::Descriptor put_blob(registry::Client& client, const std::string& repository, std::string_view media_type,
                                std::string_view bytes) {
    oci::Descriptor descriptor = oci::describe(media_type, bytes);
    client.put_blob_bytes(repository, descriptor, bytes);
    return descriptor;
}

inline std::string descriptor_json(const oci::Descriptor& d, const std::string& extra = {}) {
    return R"({"mediaType":")" + d.media_type + R"(","size":)" + std::to_string(d.size) + R"(,"digest":")" + d.digest +
           "\"" + extra + "}";
}

// A cosign v2 signature image (go-containerregistry's serialisation) with
// one layer `layer` (a descriptor_json with its annotations).
inline std::string cosign_v2_image(registry::Client& client, const std::string& repository,
                                   const std::string& layer_digest, const std::string& layer_json) {
    std::string config = R"({"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[")" +
                         layer_digest + R"("]},"config":{}})";
    oci::Descriptor config_descriptor = put_blob(client, repository, oci::media_type::ImageConfig, config);
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
           descriptor_json(config_descriptor) + R"(,"layers":[)" + layer_json + "]}";
}

// PAE as the DSSE protocol defines it, written out here independently.
inline std::string dsse_pae(const std::string& type, const std::string& body) {
    return "DSSEv1 " + std::to_string(type.size()) + " " + type + " " + std::to_string(body.size()) + " " + body;
}

inline sign::PrivateKey cosign_vector_key() {
    return sign::PrivateKey::from_pem(util::read_file(shared_vectors() / "cosign" / "cosign.key"),
                                      [] { return std::string(); });
}
inline std::filesystem::path cosign_vector_pub() { return shared_vectors() / "cosign" / "cosign.pub"; }

}  // namespace slate::test
