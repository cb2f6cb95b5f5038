// `slate sign`, `attest` and `verify` on an OCI layout directory: the
// signatures go into the layout (blobs, legacy tags as index.json ref names,
// referrers as index.json entries with an artifactType), the layout stays
// readable by skopeo and umoci, concurrent writers lose nothing, and changed
// blobs are caught.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/oci_fixture.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Runs programs with a private home and cache, and the key password set.
class Runner {
public:
    util::ProcessResult run(std::vector<std::string> argv) const {
        util::ProcessOptions options;
        options.timeout = std::chrono::seconds(120);
        options.env = {{"HOME", m_home.path().string()},
                       {"XDG_CACHE_HOME", (m_home.path() / "cache").string()},
                       {"SLATE_PASSWORD", "pw"},
                       {"LC_ALL", "C"}};
        return util::run_process(argv, options);
    }
    util::ProcessResult slate(std::vector<std::string> args) const {
        args.insert(args.begin(), slate_binary().string());
        return run(std::move(args));
    }
    std::future<util::ProcessResult> slate_async(std::vector<std::string> args) const {
        return std::async(std::launch::async, [this, args] { return slate(args); });
    }
    const fs::path& home() const { return m_home.path(); }

private:
    TempDir m_home;
};

struct Signed {
    Runner runner;
    TempDir work;
    fs::path key;
    fs::path pub;
    TestImage image;
    std::string location;  // "oci:DIR:latest"

    Signed() {
        auto keygen = runner.slate({"keygen", "--output-prefix", (work.path() / "signer").string()});
        EXPECT_EQ(keygen.exit_code, 0) << keygen.err;
        key = work.path() / "signer.key";
        pub = work.path() / "signer.pub";
        image = make_test_image(work.path() / "layout", {.archs = {"amd64"}});
        location = "oci:" + image.dir.string() + ":latest";
    }
    Json index() const { return Json::parse(util::read_file(image.dir / "index.json")); }
    Json verify(std::vector<std::string> more = {}) const {
        std::vector<std::string> args{"verify", location, "--key", pub.string(), "--json"};
        args.insert(args.end(), more.begin(), more.end());
        auto result = runner.slate(args);
        EXPECT_EQ(result.exit_code, 0) << result.err;
        return result.exit_code == 0 ? Json::parse(result.out) : Json();
    }
};

std::vector<std::string> verified(const Json& result) {
    std::vector<std::string> out;
    if (!result.is_object()) return out;
    for (const auto& signature : result["signatures"])
        if (signature["verified"].get<bool>()) out.push_back(signature["location"].get<std::string>());
    return out;
}

std::string sig_tag(const std::string& digest) { return "sha256-" + digest.substr(7) + ".sig"; }
std::string att_tag(const std::string& digest) { return "sha256-" + digest.substr(7) + ".att"; }

TEST(SignLayout, SignsAttestsAndVerifiesInsideTheLayout) {
    Signed layout;
    ASSERT_EQ(layout.runner.slate({"sign", layout.location, "--key", layout.key.string()}).exit_code, 0);
    util::write_file_atomic(layout.work.path() / "sbom.json", R"({"spdxVersion":"SPDX-2.3","name":"layout"})");
    auto attest = layout.runner.slate({"attest", layout.location, "--key", layout.key.string(), "--type", "spdxjson",
                                       "--predicate", (layout.work.path() / "sbom.json").string()});
    ASSERT_EQ(attest.exit_code, 0) << attest.err;

    // index.json: the image, the two legacy tags and two referrers.
    const std::string digest = layout.image.top.digest;
    Json index = layout.index();
    std::set<std::string> names;
    std::size_t referrers = 0;
    for (const auto& entry : index["manifests"]) {
        if (entry.contains("annotations") && entry["annotations"].contains("org.opencontainers.image.ref.name"))
            names.insert(entry["annotations"]["org.opencontainers.image.ref.name"].get<std::string>());
        if (entry.value("artifactType", "") == "application/vnd.dev.sigstore.bundle.v0.3+json") ++referrers;
        EXPECT_TRUE(fs::exists(oci::blob_path(layout.image.dir, entry["digest"].get<std::string>())));
    }
    EXPECT_EQ(names, (std::set<std::string>{"latest", sig_tag(digest), att_tag(digest)}));
    EXPECT_EQ(referrers, 2u);

    Json signatures = layout.verify();
    EXPECT_EQ(signatures["digest"], digest);
    auto locations = verified(signatures);
    ASSERT_EQ(locations.size(), 2u) << signatures.dump(2);
    EXPECT_TRUE(locations[0].starts_with("referrer sha256:"));
    EXPECT_EQ(locations[1], "tag " + sig_tag(digest) + " layer 0");
    Json attestations = layout.verify({"--attestation", "spdxjson"});
    ASSERT_EQ(verified(attestations).size(), 2u) << attestations.dump(2);
    EXPECT_EQ(attestations["signatures"][0]["predicate"]["name"], "layout");

    // The directory alone (no :REF) means the entry named latest.
    auto by_directory = layout.runner.slate({"verify", layout.image.dir.string(), "--key", layout.pub.string()});
    EXPECT_EQ(by_directory.exit_code, 0) << by_directory.err;
    // slate itself still reads the image by its name.
    EXPECT_EQ(oci::read_layout(layout.image.dir, "latest").top.digest, digest);
    // Signing again keeps one entry per tag name.
    ASSERT_EQ(layout.runner.slate({"sign", layout.location, "--key", layout.key.string()}).exit_code, 0);
    std::size_t sig_entries = 0;
    const Json after = layout.index();
    for (const auto& entry : after["manifests"])
        if (entry.contains("annotations") &&
            entry["annotations"].value("org.opencontainers.image.ref.name", "") == sig_tag(digest))
            ++sig_entries;
    EXPECT_EQ(sig_entries, 1u);
}

TEST(SignLayout, SkopeoAndUmociStillReadTheSignedLayout) {
    if (!util::find_program("skopeo") || !util::find_program("umoci")) GTEST_SKIP() << "needs skopeo and umoci";
    Signed layout;
    ASSERT_EQ(layout.runner.slate({"sign", layout.location, "--key", layout.key.string()}).exit_code, 0);
    const std::string digest = layout.image.top.digest;

    auto copied = layout.runner.run({"skopeo", "--insecure-policy", "copy", layout.location,
                                     "oci:" + (layout.work.path() / "copy").string() + ":latest"});
    ASSERT_EQ(copied.exit_code, 0) << copied.err;
    // The copy is the same image, byte for byte.
    EXPECT_EQ(oci::select_layout_entry(layout.work.path() / "copy", "latest").digest, digest);
    // The signature image is an image skopeo can inspect too.
    auto inspect = layout.runner.run({"skopeo", "inspect", "--raw", "oci:" + layout.image.dir.string() + ":" +
                                                                         sig_tag(digest)});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(Json::parse(inspect.out)["layers"][0]["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    auto listed = layout.runner.run({"umoci", "ls", "--layout", layout.image.dir.string()});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_NE(listed.out.find("latest"), std::string::npos) << listed.out;
    EXPECT_NE(listed.out.find(sig_tag(digest)), std::string::npos) << listed.out;
    auto stat = layout.runner.run({"umoci", "stat", "--image", layout.image.dir.string() + ":latest"});
    EXPECT_EQ(stat.exit_code, 0) << stat.err;
}

TEST(SignLayout, ConcurrentAttestationsAreAllKept) {
    Signed layout;
    constexpr int Writers = 6;
    std::vector<std::future<util::ProcessResult>> running;
    for (int i = 0; i < Writers; ++i) {
        fs::path predicate = layout.work.path() / ("p" + std::to_string(i) + ".json");
        util::write_file_atomic(predicate, R"({"writer":)" + std::to_string(i) + "}");
        running.push_back(layout.runner.slate_async({"attest", layout.location, "--key", layout.key.string(), "--type",
                                                     "custom", "--predicate", predicate.string()}));
    }
    for (auto& writer : running) {
        auto result = writer.get();
        EXPECT_EQ(result.exit_code, 0) << result.err;
    }
    Json result = layout.verify({"--attestation", "custom"});
    std::set<int> referrer_writers;
    std::set<int> tag_writers;
    for (const auto& signature : result["signatures"]) {
        ASSERT_TRUE(signature["verified"].get<bool>()) << signature;
        int writer = signature["predicate"]["writer"].get<int>();
        (signature["location"].get<std::string>().starts_with("referrer") ? referrer_writers : tag_writers).insert(writer);
    }
    EXPECT_EQ(referrer_writers.size(), static_cast<std::size_t>(Writers)) << result.dump(2);
    EXPECT_EQ(tag_writers.size(), static_cast<std::size_t>(Writers)) << result.dump(2);
}

TEST(SignLayout, ChangedBlobsAreCaught) {
    Signed layout;
    ASSERT_EQ(layout.runner.slate({"sign", layout.location, "--key", layout.key.string()}).exit_code, 0);
    oci::Layout read = oci::read_layout(layout.image.dir, "latest");
    const std::string layer = read.images.at(0).manifest.layers.at(0).digest;
    fs::path layer_path = oci::blob_path(layout.image.dir, layer);
    const std::string original = util::read_file(layer_path);
    std::string changed = original;
    changed[changed.size() / 2] = static_cast<char>(changed[changed.size() / 2] ^ 1);

    // One byte of a layer: the layout's layers are hashed on verification.
    util::write_file_atomic(layer_path, changed);
    auto result = layout.runner.slate({"verify", layout.location, "--key", layout.pub.string()});
    EXPECT_EQ(result.exit_code, 3);
    EXPECT_NE(result.err.find("integrity check failed: layer " + layer), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("does not match its digest"), std::string::npos) << result.err;
    util::write_file_atomic(layer_path, original);
    EXPECT_EQ(layout.runner.slate({"verify", layout.location, "--key", layout.pub.string()}).exit_code, 0);

    // One byte of the manifest in place: its bytes no longer hash to the digest index.json names.
    fs::path manifest_path = oci::blob_path(layout.image.dir, layout.image.top.digest);
    std::string manifest = util::read_file(manifest_path);
    manifest[manifest.find("\"size\"") + 1] = 'S';
    util::write_file_atomic(manifest_path, manifest);
    result = layout.runner.slate({"verify", layout.location, "--key", layout.pub.string()});
    EXPECT_EQ(result.exit_code, 3);
    EXPECT_NE(result.err.find("integrity check failed: the manifest " + layout.image.top.digest), std::string::npos)
        << result.err;
}

// An independent verifier: sigstore-js (@sigstore/verify, installed under
// tests/interop by the setup script) accepts every bundle slate stored in
// the layout, given the public key, and refuses each once it is tampered with.
TEST(SignLayout, SigstoreJsVerifiesTheBundlesAndRefusesTamperedOnes) {
    const fs::path verify_js = source_dir() / "tests" / "interop" / "sigstore-js" / "verify.js";
    ASSERT_TRUE(fs::exists(verify_js.parent_path() / "node_modules" / "@sigstore" / "verify") && util::find_program("node"))
        << "sigstore-js is not installed under tests/interop/sigstore-js: run scripts/setup.sh";
    Signed layout;
    ASSERT_EQ(layout.runner.slate({"sign", layout.location, "--key", layout.key.string()}).exit_code, 0);
    util::write_file_atomic(layout.work.path() / "vex.json", R"({"statements":[]})");
    ASSERT_EQ(layout.runner
                  .slate({"attest", layout.location, "--key", layout.key.string(), "--type", "openvex", "--predicate",
                          (layout.work.path() / "vex.json").string()})
                  .exit_code,
              0);
    auto js = [&](const fs::path& bundle) {
        return util::run_process({"node", verify_js.string(), "--bundle", bundle.string(), "--key", layout.pub.string()});
    };
    std::size_t bundles = 0;
    const Json index = layout.index();
    for (const auto& entry : index["manifests"]) {
        if (entry.value("artifactType", "") != "application/vnd.dev.sigstore.bundle.v0.3+json") continue;
        Json manifest = Json::parse(util::read_file(oci::blob_path(layout.image.dir, entry["digest"].get<std::string>())));
        const std::string text =
            util::read_file(oci::blob_path(layout.image.dir, manifest["layers"][0]["digest"].get<std::string>()));
        const fs::path good = layout.work.path() / ("bundle-" + std::to_string(bundles++) + ".json");
        util::write_file_atomic(good, text);
        auto accepted = js(good);
        EXPECT_EQ(accepted.exit_code, 0) << good << "\n" << accepted.err;

        // One character of the signature, then of the payload, changed.
        Json bundle = Json::parse(text);
        ASSERT_TRUE(bundle.contains("dsseEnvelope")) << text;
        for (const char* field : {"signature", "payload"}) {
            Json tampered = bundle;
            std::string& value = field == std::string("payload")
                                     ? tampered["dsseEnvelope"]["payload"].get_ref<std::string&>()
                                     : tampered["dsseEnvelope"]["signatures"][0]["sig"].get_ref<std::string&>();
            value[10] = value[10] == 'A' ? 'B' : 'A';
            const fs::path bad = layout.work.path() / ("tampered-" + std::string(field) + ".json");
            util::write_file_atomic(bad, tampered.dump());
            auto refused = js(bad);
            EXPECT_EQ(refused.exit_code, 1) << field << ": " << refused.out;
            EXPECT_NE(refused.err.find("not verified"), std::string::npos) << refused.err;
        }
    }
    EXPECT_EQ(bundles, 2u) << "a signature and an attestation";
}

}  // namespace
}  // namespace slate::test
