// Interop of slate's OCI image layouts and docker archives with independent
// implementations: skopeo (containers/image) and umoci. The images are built
// here from a hand-made root file system: GNU tar makes the layer, gzip or
// zstd compresses it, and libslate's LayoutWriter stores it the way the build
// pipeline does.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "slate/oci/docker_archive.hpp"
#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::oci {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr std::int64_t Epoch = 1700000000;

util::ProcessResult run(const std::vector<std::string>& argv) {
    util::ProcessOptions options;
    options.timeout = std::chrono::seconds(120);
    options.env = {{"LC_ALL", "C"}};  // messages the tests look for are in English
    return util::run_process(argv, options);
}

// Runs a tool that must succeed; returns its standard output.
std::string must(const std::vector<std::string>& argv) {
    auto result = run(argv);
    std::string line;
    for (const auto& arg : argv) line += arg + " ";
    EXPECT_EQ(result.exit_code, 0) << line << "\n" << result.err;
    return result.out;
}

void write_text(const fs::path& path, const std::string& text, fs::perms perms = fs::perms(0644)) {
    fs::create_directories(path.parent_path());
    util::write_file_atomic(path, text);
    fs::permissions(path, perms);
}

// A small root file system: files, an executable, a symlink, a directory.
void make_rootfs(const fs::path& root, const std::string& arch) {
    write_text(root / "etc" / "hello.txt", "hello from slate\n");
    write_text(root / "etc" / "arch", arch + "\n");
    write_text(root / "usr" / "bin" / "tool", "#!/bin/sh\necho tool\n", fs::perms(0755));
    fs::create_directories(root / "tmp");
    fs::permissions(root / "tmp", fs::perms(01777));
    fs::create_symlink("usr/bin", root / "bin");
}

// The layer as GNU tar writes it (sorted, numeric root owners, one mtime),
// compressed by the gzip or zstd command, streamed into the layout.
Layer make_layer(const LayoutWriter& writer, const fs::path& root, const fs::path& scratch, Compression compression) {
    fs::path tar = scratch / "layer.tar";
    must({"tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@" + std::to_string(Epoch),
          "--format=gnu", "-C", root.string(), "-cf", tar.string(), "."});
    fs::path blob = scratch / "layer.blob";
    if (compression == Compression::Gzip) must({"sh", "-c", "gzip -n -9 -c \"$0\" > \"$1\"", tar.string(), blob.string()});
    else must({"zstd", "-q", "-19", "-f", tar.string(), "-o", blob.string()});

    BlobWriter stream = writer.begin_blob();
    std::string bytes = util::read_file(blob);
    for (std::size_t i = 0; i < bytes.size(); i += 4096) stream.write(std::string_view(bytes).substr(i, 4096));
    std::string digest = "sha256:" + util::sha256_file_hex(blob);
    Descriptor stored = stream.commit(layer_media_type(compression), digest);
    return Layer{stored.digest, stored.size, "sha256:" + util::sha256_file_hex(tar), fs::file_size(tar), compression,
                 "hand-made root file system"};
}

RuntimeConfig runtime() {
    RuntimeConfig rc;
    rc.user = "65532:65532";
    rc.env = {"PATH=/usr/bin:/bin", "GREETING=hello"};
    rc.entrypoint = {"/usr/bin/tool"};
    rc.cmd = {"--flag"};
    rc.working_dir = "/tmp";
    rc.labels = {{"org.example.kind", "test"}};
    rc.exposed_ports = {"8080/tcp"};
    return rc;
}

struct BuiltImage {
    Descriptor top;
    std::vector<Descriptor> manifests;
    std::vector<Layer> layers;  // one per architecture
};

BuiltImage build_image(const fs::path& layout_dir, const fs::path& scratch,
                       const std::vector<std::pair<std::string, Compression>>& archs) {
    LayoutWriter writer(layout_dir);
    BuiltImage built;
    for (const auto& [arch, compression] : archs) {
        fs::path root = scratch / ("rootfs-" + arch);
        make_rootfs(root, arch);
        Layer layer = make_layer(writer, root, scratch, compression);
        ImageConfig config = make_image_config(platform_for_debian_arch(arch), Epoch, runtime(), {layer});
        ImageMetadata metadata;
        metadata.created = Epoch;
        metadata.title = "interop";
        metadata.version = "1.0";
        built.manifests.push_back(writer.write_image(config, {layer}, image_annotations(metadata)));
        built.layers.push_back(layer);
    }
    built.top = built.manifests.size() == 1 ? built.manifests.front() : writer.write_index(built.manifests);
    writer.write_index_json(built.top, "latest");
    return built;
}

class OciInterop : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* tool : {"skopeo", "umoci", "tar", "gzip", "zstd"})
            if (!util::find_program(tool)) GTEST_FAIL() << tool << " is not installed (apt-get install skopeo umoci zstd)";
    }

    // Unpacks with umoci and returns the bundle's root file system.
    fs::path umoci_unpack(const std::string& image, const fs::path& bundle) {
        must({"umoci", "unpack", "--rootless", "--image", image, bundle.string()});
        return bundle / "rootfs";
    }

    void expect_rootfs(const fs::path& rootfs, const std::string& arch) {
        EXPECT_EQ(util::read_file(rootfs / "etc" / "hello.txt"), "hello from slate\n");
        EXPECT_EQ(util::read_file(rootfs / "etc" / "arch"), arch + "\n");
        EXPECT_EQ(fs::read_symlink(rootfs / "bin"), "usr/bin");
        EXPECT_EQ(util::read_file(rootfs / "bin" / "tool"), "#!/bin/sh\necho tool\n");
        struct stat st {};
        ASSERT_EQ(::stat((rootfs / "usr" / "bin" / "tool").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0755u);
        ASSERT_EQ(::stat((rootfs / "tmp").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 01777u);
    }

    test::TempDir m_dir;
};

TEST_F(OciInterop, SkopeoReadsASinglePlatformLayout) {
    fs::path image = m_dir.path() / "image";
    BuiltImage built = build_image(image, m_dir.path(), {{"amd64", Compression::Gzip}});
    std::string ref = "oci:" + image.string() + ":latest";

    Json inspect = Json::parse(must({"skopeo", "inspect", ref}));
    EXPECT_EQ(inspect["Digest"], built.top.digest);
    EXPECT_EQ(inspect["Architecture"], "amd64");
    EXPECT_EQ(inspect["Os"], "linux");
    EXPECT_EQ(inspect["Created"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(inspect["Layers"], Json::array({built.layers[0].digest}));
    EXPECT_EQ(inspect["Env"], Json(runtime().env));
    EXPECT_EQ(inspect["Labels"]["org.example.kind"], "test");

    // skopeo hands back our bytes untouched.
    Layout layout = read_layout(image);
    EXPECT_EQ(must({"skopeo", "inspect", "--raw", ref}), util::read_file(layout.blob_path(built.top.digest)));
    EXPECT_EQ(must({"skopeo", "inspect", "--config", "--raw", ref}),
              util::read_file(layout.blob_path(layout.images[0].config_descriptor.digest)));
}

TEST_F(OciInterop, UmociUnpacksTheImage) {
    fs::path image = m_dir.path() / "image";
    build_image(image, m_dir.path(), {{"amd64", Compression::Gzip}});
    fs::path bundle = m_dir.path() / "bundle";
    expect_rootfs(umoci_unpack(image.string() + ":latest", bundle), "amd64");

    // umoci turns the image config into the runtime spec.
    Json spec = Json::parse(util::read_file(bundle / "config.json"));
    EXPECT_EQ(spec["process"]["args"], Json::array({"/usr/bin/tool", "--flag"}));
    EXPECT_EQ(spec["process"]["cwd"], "/tmp");
    for (const auto& variable : runtime().env)
        EXPECT_NE(std::find(spec["process"]["env"].begin(), spec["process"]["env"].end(), Json(variable)),
                  spec["process"]["env"].end())
            << variable;
    EXPECT_EQ(spec["annotations"]["org.opencontainers.image.exposedPorts"], "8080/tcp");
    EXPECT_EQ(spec["annotations"]["org.opencontainers.image.created"], "2023-11-14T22:13:20Z");
}

TEST_F(OciInterop, ZstdLayersDecompressToTheirDiffIds) {
    // umoci 0.4.7 (Debian 12) does not read zstd layers; skopeo does. It
    // recompresses the layer with gzip, and umoci then checks the unpacked
    // tar against the diff_id slate wrote.
    fs::path image = m_dir.path() / "image";
    BuiltImage built = build_image(image, m_dir.path(), {{"amd64", Compression::Zstd}});
    Json manifest = Json::parse(must({"skopeo", "inspect", "--raw", "oci:" + image.string() + ":latest"}));
    EXPECT_EQ(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
    fs::path gzipped = m_dir.path() / "gzipped";
    must({"skopeo", "copy", "--dest-compress-format", "gzip", "oci:" + image.string() + ":latest",
          "oci:" + gzipped.string() + ":latest"});
    Layout converted = read_layout(gzipped);
    ASSERT_EQ(converted.images.size(), 1u);
    EXPECT_EQ(converted.images[0].manifest.layers[0].media_type, media_type::LayerGzip);
    EXPECT_EQ(converted.images[0].config.diff_ids, (std::vector<std::string>{built.layers[0].diff_id}));
    expect_rootfs(umoci_unpack(gzipped.string() + ":latest", m_dir.path() / "bundle"), "amd64");
}

TEST_F(OciInterop, UmociRefusesAWrongDiffId) {
    // The positive tests mean something only if the tools check what slate
    // writes: a config whose diff_id does not match the layer is refused.
    fs::path image = m_dir.path() / "image";
    fs::path root = m_dir.path() / "rootfs";
    make_rootfs(root, "amd64");
    LayoutWriter writer(image);
    Layer layer = make_layer(writer, root, m_dir.path(), Compression::Gzip);
    layer.diff_id = "sha256:" + util::sha256_hex("not the layer");
    ImageConfig config = make_image_config(platform_for_debian_arch("amd64"), Epoch, runtime(), {layer});
    writer.write_index_json(writer.write_image(config, {layer}, {}), "latest");
    auto result = run({"umoci", "unpack", "--rootless", "--image", image.string() + ":latest",
                       (m_dir.path() / "bundle").string()});
    EXPECT_NE(result.exit_code, 0);
    EXPECT_NE(result.err.find("diffid mismatch"), std::string::npos) << result.err;
}

TEST_F(OciInterop, SkopeoCopiesTheLayoutToADockerArchive) {
    fs::path image = m_dir.path() / "image";
    BuiltImage built = build_image(image, m_dir.path(), {{"amd64", Compression::Gzip}});
    fs::path tarball = m_dir.path() / "copied.tar";
    must({"skopeo", "copy", "oci:" + image.string() + ":latest", "docker-archive:" + tarball.string() + ":slate/interop:1.0"});
    Json inspect = Json::parse(must({"skopeo", "inspect", "docker-archive:" + tarball.string()}));
    EXPECT_EQ(inspect["Architecture"], "amd64");
    EXPECT_EQ(inspect["Env"], Json(runtime().env));
    // A docker archive's layers are known by their diff_ids.
    EXPECT_EQ(inspect["Layers"], Json::array({built.layers[0].diff_id}));
}

TEST_F(OciInterop, SkopeoReadsSlatesDockerArchive) {
    fs::path image = m_dir.path() / "image";
    BuiltImage built = build_image(image, m_dir.path(), {{"amd64", Compression::Gzip}});
    fs::path tarball = m_dir.path() / "out" / "image.tar";
    write_docker_archive(image, platform_for_debian_arch("amd64"), tarball, "slate/interop:1.0");

    // The entries Docker 25 writes, sorted; nothing else.
    Layout layout = read_layout(image);
    const LayoutImage& img = layout.images[0];
    std::vector<std::string> blobs{std::string(img.manifest_descriptor.hex()), std::string(img.config_descriptor.hex()),
                                   std::string(built.layers[0].digest.substr(7))};
    std::sort(blobs.begin(), blobs.end());
    std::string expected_listing = "blobs/\nblobs/sha256/\n";
    for (const auto& hex : blobs) expected_listing += "blobs/sha256/" + hex + "\n";
    expected_listing += "index.json\nmanifest.json\noci-layout\n";
    EXPECT_EQ(must({"tar", "-tf", tarball.string()}), expected_listing);
    Json manifest_json = Json::parse(must({"tar", "-xOf", tarball.string(), "manifest.json"}));
    ASSERT_EQ(manifest_json.size(), 1u);
    EXPECT_EQ(manifest_json[0]["Config"], "blobs/sha256/" + std::string(img.config_descriptor.hex()));
    EXPECT_EQ(manifest_json[0]["RepoTags"], Json::array({"slate/interop:1.0"}));
    EXPECT_EQ(manifest_json[0]["Layers"], Json::array({"blobs/sha256/" + built.layers[0].digest.substr(7)}));

    std::string archive = "docker-archive:" + tarball.string();
    Json inspect = Json::parse(must({"skopeo", "inspect", archive}));
    EXPECT_EQ(inspect["Architecture"], "amd64");
    EXPECT_EQ(inspect["Layers"], Json::array({built.layers[0].diff_id}));
    EXPECT_EQ(inspect["Env"], Json(runtime().env));
    EXPECT_EQ(inspect["Labels"]["org.example.kind"], "test");
    // skopeo reads the config from the archive byte for byte.
    EXPECT_EQ(must({"skopeo", "inspect", "--config", "--raw", archive}),
              util::read_file(layout.blob_path(img.config_descriptor.digest)));

    // Copied out of the archive (skopeo decompresses the layer and checks its
    // diff_id), the image unpacks to the same files.
    fs::path copied = m_dir.path() / "copied";
    must({"skopeo", "copy", archive, "oci:" + copied.string() + ":copied"});
    expect_rootfs(umoci_unpack(copied.string() + ":copied", m_dir.path() / "bundle"), "amd64");

    // The same tarball is an OCI archive too, holding our manifest as is.
    EXPECT_EQ(must({"skopeo", "inspect", "--raw", "oci-archive:" + tarball.string() + ":1.0"}),
              util::read_file(layout.blob_path(img.manifest_descriptor.digest)));
}

TEST_F(OciInterop, MultiPlatformIndex) {
    fs::path image = m_dir.path() / "image";
    BuiltImage built =
        build_image(image, m_dir.path(), {{"amd64", Compression::Gzip}, {"arm64", Compression::Zstd}});
    std::string ref = "oci:" + image.string() + ":latest";

    // The index, as skopeo sees it.
    std::string raw = must({"skopeo", "inspect", "--raw", ref});
    EXPECT_EQ(raw, util::read_file(blob_path(image, built.top.digest)));
    Json index = Json::parse(raw);
    ASSERT_EQ(index["manifests"].size(), 2u);
    EXPECT_EQ(index["manifests"][1]["platform"], Json::parse(R"({"architecture":"arm64","os":"linux","variant":"v8"})"));

    // skopeo picks each platform's image from the index.
    Json amd = Json::parse(must({"skopeo", "--override-arch", "amd64", "inspect", ref}));
    EXPECT_EQ(amd["Architecture"], "amd64");
    EXPECT_EQ(amd["Layers"], Json::array({built.layers[0].digest}));
    Json arm = Json::parse(must({"skopeo", "--override-arch", "arm64", "--override-variant", "v8", "inspect", ref}));
    EXPECT_EQ(arm["Architecture"], "arm64");
    EXPECT_EQ(arm["Layers"], Json::array({built.layers[1].digest}));

    // Copying every platform keeps every digest: nothing needed rewriting.
    fs::path copy = m_dir.path() / "copy";
    must({"skopeo", "copy", "--all", ref, "oci:" + copy.string() + ":all"});
    Layout copied = read_layout(copy, "all");
    EXPECT_EQ(copied.top.digest, built.top.digest);
    ASSERT_EQ(copied.images.size(), 2u);
    EXPECT_EQ(copied.images[1].manifest_descriptor.digest, built.manifests[1].digest);
    verify_layer_blobs(copied);

    // A docker archive of the arm64 image, read by skopeo.
    fs::path tarball = m_dir.path() / "arm64.tar";
    write_docker_archive(image, platform_for_debian_arch("arm64"), tarball, "slate/interop:arm64");
    Json inspect = Json::parse(must({"skopeo", "inspect", "docker-archive:" + tarball.string()}));
    EXPECT_EQ(inspect["Architecture"], "arm64");
    EXPECT_EQ(inspect["Layers"], Json::array({built.layers[1].diff_id}));

    // umoci 0.4.7 finds two manifests under "latest" and calls the tag
    // ambiguous; skopeo takes one platform's manifest out, unchanged, and
    // umoci unpacks that (the amd64 one: umoci 0.4.7 reads no zstd).
    fs::path single = m_dir.path() / "single";
    must({"skopeo", "--override-arch", "amd64", "copy", ref, "oci:" + single.string() + ":amd64"});
    EXPECT_EQ(read_layout(single).top.digest, built.manifests[0].digest);
    expect_rootfs(umoci_unpack(single.string() + ":amd64", m_dir.path() / "bundle"), "amd64");
}

}  // namespace
}  // namespace slate::oci
