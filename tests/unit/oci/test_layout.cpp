// OCI image layout directories: writing blobs (in memory and streamed),
// images, indexes and index.json, and reading them back with every check
// read_layout promises. Interop with skopeo and umoci is in
// tests/integration/test_oci_interop.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "slate/error.hpp"
#include "slate/oci/docker_archive.hpp"
#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/paths.hpp"

namespace slate::oci {
namespace {

namespace fs = std::filesystem;
constexpr std::int64_t Epoch = 1700000000;

// Stores `bytes` as a layer blob the way the build pipeline does: streamed
// through a BlobWriter, checked against the digest the compressor reported.
// The diff_id is that of some uncompressed bytes: the layout never looks
// inside layers.
Layer store_layer(const LayoutWriter& writer, const std::string& bytes, Compression compression) {
    BlobWriter blob = writer.begin_blob();
    for (std::size_t i = 0; i < bytes.size(); i += 7) blob.write(std::string_view(bytes).substr(i, 7));
    std::string digest = "sha256:" + util::sha256_hex(bytes);
    Descriptor stored = blob.commit(layer_media_type(compression), digest);
    return Layer{stored.digest, stored.size, "sha256:" + util::sha256_hex("diff of " + bytes), bytes.size() * 3,
                 compression, ""};
}

RuntimeConfig runtime() {
    RuntimeConfig rc;
    rc.entrypoint = {"/bin/sh"};
    rc.env = {"PATH=/usr/bin"};
    return rc;
}

// A layout with one image per Debian architecture; returns index.json's
// top descriptor.
Descriptor write_layout(const fs::path& dir, const std::vector<std::string>& archs, const std::string& ref = "latest") {
    LayoutWriter writer(dir);
    std::vector<Descriptor> manifests;
    ImageMetadata metadata;
    metadata.created = Epoch;
    metadata.title = "test";
    for (const auto& arch : archs) {
        Layer base = store_layer(writer, "base layer for " + arch, Compression::Gzip);
        Layer app = store_layer(writer, "app layer for " + arch, Compression::Zstd);
        ImageConfig config = make_image_config(platform_for_debian_arch(arch), Epoch, runtime(), {base, app});
        manifests.push_back(writer.write_image(config, {base, app}, image_annotations(metadata)));
    }
    Descriptor top = manifests.size() == 1 ? manifests.front() : writer.write_index(manifests);
    writer.write_index_json(top, ref);
    return top;
}

std::vector<std::string> directory_names(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

void expect_error(const std::function<void()>& action, ErrorCode code, const std::string& needle) {
    try {
        action();
        ADD_FAILURE() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.describe();
        EXPECT_NE(e.describe().find(needle), std::string::npos) << e.describe();
    }
}

TEST(LayoutWriter, CreatesTheLayoutSkeleton) {
    test::TempDir dir;
    LayoutWriter writer(dir.path() / "out" / "image");
    EXPECT_EQ(util::read_file(dir.path() / "out" / "image" / "oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
    EXPECT_TRUE(fs::is_directory(dir.path() / "out" / "image" / "blobs" / "sha256"));
    EXPECT_FALSE(fs::exists(dir.path() / "out" / "image" / "index.json"));
}

TEST(LayoutWriter, BlobsAreNamedByTheirSha256) {
    test::TempDir dir;
    LayoutWriter writer(dir.path());
    Descriptor blob = writer.write_blob(media_type::ImageConfig, "{}");
    EXPECT_EQ(blob.digest, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    EXPECT_EQ(blob.size, 2u);
    EXPECT_EQ(util::read_file(dir.path() / "blobs" / "sha256" / std::string(blob.hex())), "{}");
    EXPECT_TRUE(writer.has_blob(blob));
    blob.size = 3;
    EXPECT_FALSE(writer.has_blob(blob));
}

TEST(BlobWriter, StreamsAndHashes) {
    test::TempDir dir;
    LayoutWriter writer(dir.path());
    std::string bytes(200000, 'x');
    Layer layer = store_layer(writer, bytes, Compression::Gzip);
    EXPECT_EQ(layer.size, bytes.size());
    EXPECT_EQ(util::read_file(writer.blob_path(layer.digest)), bytes);
    // Only the blob itself: no temporary file left behind.
    EXPECT_EQ(directory_names(dir.path() / "blobs" / "sha256"), std::vector<std::string>{util::sha256_hex(bytes)});
}

TEST(BlobWriter, DigestMismatchStoresNothing) {
    test::TempDir dir;
    LayoutWriter writer(dir.path());
    BlobWriter blob = writer.begin_blob();
    blob.write("compressed bytes");
    expect_error([&] { blob.commit(media_type::LayerGzip, "sha256:" + util::sha256_hex("other bytes")); },
                 ErrorCode::Integrity, "not the expected");
    EXPECT_TRUE(fs::is_empty(dir.path() / "blobs" / "sha256"));
}

TEST(BlobWriter, AbandonedBlobLeavesNothing) {
    test::TempDir dir;
    LayoutWriter writer(dir.path());
    {
        BlobWriter blob = writer.begin_blob();
        blob.write("half a layer");
        BlobWriter moved = std::move(blob);
        moved.write(" and more");
    }
    EXPECT_TRUE(fs::is_empty(dir.path() / "blobs" / "sha256"));
}

TEST(LayoutWriter, RefusesImagesWhoseLayersAreNotStored) {
    test::TempDir dir;
    LayoutWriter writer(dir.path());
    Layer stored = store_layer(writer, "stored", Compression::Gzip);
    Layer missing{"sha256:" + util::sha256_hex("missing"), 7, "sha256:" + util::sha256_hex("m"), 7,
                  Compression::Gzip, ""};
    ImageConfig config = make_image_config(platform_for_debian_arch("amd64"), Epoch, {}, {stored, missing});
    expect_error([&] { writer.write_image(config, {stored, missing}, {}); }, ErrorCode::Internal, "is not in the image layout");
    ImageConfig other = make_image_config(platform_for_debian_arch("amd64"), Epoch, {}, {stored});
    Layer changed = stored;
    changed.diff_id = "sha256:" + util::sha256_hex("something else");
    expect_error([&] { writer.write_image(other, {changed}, {}); }, ErrorCode::Internal, "diff_id");
}

TEST(OciLayout, SinglePlatformRoundTrip) {
    test::TempDir dir;
    Descriptor top = write_layout(dir.path(), {"arm64"}, "1.0");
    EXPECT_EQ(top.media_type, media_type::ImageManifest);

    // index.json names the manifest directly, without a platform.
    Index index_json = parse_index(util::read_file(dir.path() / "index.json"));
    ASSERT_EQ(index_json.manifests.size(), 1u);
    EXPECT_EQ(index_json.manifests[0].digest, top.digest);
    EXPECT_FALSE(index_json.manifests[0].platform.has_value());
    EXPECT_EQ(index_json.manifests[0].annotations.at("org.opencontainers.image.ref.name"), "1.0");

    Layout layout = read_layout(dir.path());
    EXPECT_EQ(layout.ref_name, "1.0");
    EXPECT_FALSE(layout.index.has_value());
    ASSERT_EQ(layout.images.size(), 1u);
    const LayoutImage& image = layout.images[0];
    EXPECT_EQ(image.platform, platform_for_debian_arch("arm64"));  // from the config
    EXPECT_EQ(image.config.config, runtime());
    ASSERT_EQ(image.manifest.layers.size(), 2u);
    EXPECT_EQ(image.manifest.layers[0].media_type, media_type::LayerGzip);
    EXPECT_EQ(image.manifest.layers[1].media_type, media_type::LayerZstd);
    EXPECT_EQ(util::read_file(layout.blob_path(image.manifest.layers[1].digest)), "app layer for arm64");
    EXPECT_EQ(image.manifest.annotations.at("org.opencontainers.image.title"), "test");
    EXPECT_EQ(read_layout(dir.path(), "1.0").top.digest, top.digest);
    verify_layer_blobs(layout);
}

TEST(OciLayout, MultiPlatformRoundTrip) {
    test::TempDir dir;
    Descriptor top = write_layout(dir.path(), {"amd64", "arm64"});
    EXPECT_EQ(top.media_type, media_type::ImageIndex);
    Layout layout = read_layout(dir.path(), "latest");
    ASSERT_TRUE(layout.index.has_value());
    ASSERT_EQ(layout.images.size(), 2u);
    EXPECT_EQ(layout.images[0].platform, platform_for_debian_arch("amd64"));
    EXPECT_EQ(layout.images[1].platform, platform_for_debian_arch("arm64"));

    const LayoutImage* arm = layout.find({"arm64", "linux", ""});
    ASSERT_NE(arm, nullptr);
    EXPECT_EQ(arm->config.platform.variant, "v8");
    EXPECT_EQ(layout.find({"arm64", "linux", "v8"}), arm);
    EXPECT_EQ(layout.find({"arm64", "linux", "v7"}), nullptr);
    EXPECT_EQ(layout.find({"riscv64", "linux", ""}), nullptr);
}

TEST(OciLayout, SameInputsSameBytes) {
    test::TempDir one;
    test::TempDir two;
    Descriptor a = write_layout(one.path() / "x", {"amd64", "arm64"});
    Descriptor b = write_layout(two.path() / "somewhere" / "else", {"amd64", "arm64"});
    EXPECT_EQ(a.digest, b.digest);
    EXPECT_EQ(util::read_file(one.path() / "x" / "index.json"),
              util::read_file(two.path() / "somewhere" / "else" / "index.json"));
    EXPECT_EQ(directory_names(one.path() / "x" / "blobs" / "sha256"),
              directory_names(two.path() / "somewhere" / "else" / "blobs" / "sha256"));
}

TEST(OciLayout, RefNamesFollowTheLayoutGrammar) {
    for (const char* good : {"latest", "3.11", "python-3.11", "v1.0.0+build", "a--b", "repo/name:tag", "x@y"})
        EXPECT_TRUE(is_valid_ref_name(good)) << good;
    for (const char* bad : {"", "-latest", "latest-", "a..b", "a b", "a//b", "/a", "a/", "é"})
        EXPECT_FALSE(is_valid_ref_name(bad)) << bad;
    test::TempDir dir;
    LayoutWriter writer(dir.path());
    Descriptor blob = writer.write_blob(media_type::ImageManifest, "{}");
    expect_error([&] { writer.write_index_json(blob, "bad name"); }, ErrorCode::Usage, "bad name");
    EXPECT_FALSE(fs::exists(dir.path() / "index.json"));
}

TEST(OciLayout, HostileDigestsNameNothingOutsideTheLayout) {
    expect_error([] { blob_path("/layout", "sha256:../../../etc/passwd"); }, ErrorCode::Parse, "malformed digest");
    test::TempDir dir;
    write_layout(dir.path(), {"amd64"});
    std::string index = util::read_file(dir.path() / "index.json");
    auto at = index.find("sha256:");
    util::write_file_atomic(dir.path() / "index.json", index.replace(at, 71, "sha256:../../../../../../etc/passwd"));
    expect_error([&] { read_layout(dir.path()); }, ErrorCode::Parse, "digest");
}

TEST(OciLayout, MissingLayoutOrReferenceIsNotFound) {
    test::TempDir dir;
    expect_error([&] { read_layout(dir.path() / "nope"); }, ErrorCode::NotFound, "does not exist");
    fs::create_directories(dir.path() / "empty");
    expect_error([&] { read_layout(dir.path() / "empty"); }, ErrorCode::NotFound, "is not an OCI image layout");
    write_layout(dir.path() / "image", {"amd64"}, "stable");
    expect_error([&] { read_layout(dir.path() / "image", "latest"); }, ErrorCode::NotFound,
                 "references in this layout: stable");
    // An unfinished layout (no index.json yet) is not a layout.
    LayoutWriter unfinished(dir.path() / "unfinished");
    expect_error([&] { read_layout(dir.path() / "unfinished"); }, ErrorCode::NotFound, "no oci-layout or index.json");
}

TEST(OciLayout, DamagedBlobsAreIntegrityErrors) {
    test::TempDir dir;
    write_layout(dir.path(), {"amd64"});
    Layout layout = read_layout(dir.path());
    const LayoutImage& image = layout.images[0];

    // A config edited in place: same size, different bytes.
    fs::path config = layout.blob_path(image.config_descriptor.digest);
    std::string original = util::read_file(config);
    std::string edited = original;
    edited[edited.find("/bin/sh")] = '_';
    util::write_file_atomic(config, edited);
    expect_error([&] { read_layout(dir.path()); }, ErrorCode::Integrity, "does not match its digest");
    util::write_file_atomic(config, original);

    // A truncated layer, then a missing one.
    fs::path layer = layout.blob_path(image.manifest.layers[0].digest);
    std::string layer_bytes = util::read_file(layer);
    util::write_file_atomic(layer, layer_bytes.substr(0, 3));
    expect_error([&] { read_layout(dir.path()); }, ErrorCode::Integrity, "has 3 bytes instead of");
    fs::remove(layer);
    expect_error([&] { read_layout(dir.path()); }, ErrorCode::Integrity, "is missing");

    // A layer with the right size but other bytes: only hashing finds it.
    std::string flipped = layer_bytes;
    flipped[0] ^= 1;
    util::write_file_atomic(layer, flipped);
    Layout reread = read_layout(dir.path());
    expect_error([&] { verify_layer_blobs(reread); }, ErrorCode::Integrity, image.manifest.layers[0].digest);
}

TEST(DockerArchive, RepoTagsFollowDockersGrammar) {
    for (const char* good : {"python:3", "slate/python:3.11", "localhost:5000/a/b:latest", "Registry.Example:443/x:y",
                             "a__b/c-d--e:TAG_1.x"})
        EXPECT_TRUE(is_valid_repo_tag(good)) << good;
    for (const char* bad : {"python", "Python:3", "a:", ":tag", "a:-tag", "a@sha256:abc", "a//b:c", "a:b:c"})
        EXPECT_FALSE(is_valid_repo_tag(bad)) << bad;
    EXPECT_EQ(normalize_repo_tag("python:3"), "docker.io/library/python:3");
    EXPECT_EQ(normalize_repo_tag("slate/python:3"), "docker.io/slate/python:3");
    EXPECT_EQ(normalize_repo_tag("localhost:5000/x:1"), "localhost:5000/x:1");
    EXPECT_EQ(normalize_repo_tag("ghcr.io/o/x:1"), "ghcr.io/o/x:1");
}

TEST(DockerArchive, BadTagOrPlatformWritesNothing) {
    test::TempDir dir;
    write_layout(dir.path() / "image", {"amd64", "arm64"});
    fs::path out = dir.path() / "out" / "image.tar";
    expect_error([&] { write_docker_archive(dir.path() / "image", platform_for_debian_arch("amd64"), out, "NoTag"); },
                 ErrorCode::Usage, "NAME:TAG");
    expect_error([&] { write_docker_archive(dir.path() / "image", platform_for_debian_arch("armhf"), out, "a:b"); },
                 ErrorCode::NotFound, "platforms in this image: linux/amd64, linux/arm64/v8");
    EXPECT_FALSE(fs::exists(out));
    if (fs::exists(out.parent_path())) {
        EXPECT_TRUE(fs::is_empty(out.parent_path()));
    }
}

TEST(DockerArchive, DamagedLayerWritesNothing) {
    test::TempDir dir;
    write_layout(dir.path() / "image", {"amd64"});
    Layout layout = read_layout(dir.path() / "image");
    fs::path layer = layout.blob_path(layout.images[0].manifest.layers[1].digest);
    std::string bytes = util::read_file(layer);
    bytes[0] ^= 1;
    util::write_file_atomic(layer, bytes);
    fs::path out = dir.path() / "image.tar";
    expect_error([&] { write_docker_archive(dir.path() / "image", {}, out, "a:b"); }, ErrorCode::Integrity,
                 "while writing the docker archive");
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(directory_names(dir.path()), std::vector<std::string>{"image"});
}

TEST(DockerArchive, SameLayoutSameBytes) {
    test::TempDir dir;
    write_layout(dir.path() / "a", {"amd64", "arm64"});
    write_layout(dir.path() / "b", {"amd64", "arm64"});
    write_docker_archive(dir.path() / "a", platform_for_debian_arch("arm64"), dir.path() / "a.tar", "x/y:z");
    write_docker_archive(dir.path() / "b", platform_for_debian_arch("arm64"), dir.path() / "b.tar", "x/y:z");
    std::string a = util::read_file(dir.path() / "a.tar");
    EXPECT_EQ(a, util::read_file(dir.path() / "b.tar"));
    EXPECT_EQ(a.size() % 512, 0u);
    EXPECT_NE(a.find(R"([{"Config":"blobs/sha256/)"), std::string::npos);
}

}  // namespace
}  // namespace slate::oci
