// Reading docker-archive tarballs into OCI layouts: slate's own archives
// (Docker 25's OCI form), legacy archives as skopeo writes them (an
// independent implementation, containers/image) and as older `docker save`
// wrote them (hand-made here), and hostile or damaged archives, which must
// give a clear error and leave nothing behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "slate/error.hpp"
#include "slate/oci/compress.hpp"
#include "slate/oci/docker_archive.hpp"
#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/expect.hpp"
#include "support/hostile_deb.hpp"
#include "support/paths.hpp"

namespace slate::oci {
namespace {

namespace fs = std::filesystem;
using test::DebCompression;
using test::TarItem;
constexpr std::int64_t Epoch = 1700000000;

std::string sha256(const std::string& bytes) { return "sha256:" + util::sha256_hex(bytes); }

// A real layer: a tar of `files`, compressed and streamed into the layout the
// way the build pipeline does it.
Layer store_layer(const LayoutWriter& writer, const std::vector<TarItem>& files, Compression compression) {
    std::string tar = test::make_tar(files, DebCompression::None, test::TarFormat::Pax);
    BlobWriter blob = writer.begin_blob();
    LayerCompressor compressor(compression, [&](std::string_view bytes) { blob.write(bytes); });
    compressor.write(tar);
    CompressedLayer done = compressor.finish();
    blob.commit(layer_media_type(compression), done.digest);
    return Layer{done.digest, done.size, done.diff_id, done.uncompressed_size, compression, "test layer"};
}

struct SourceImage {
    Descriptor manifest;
    Descriptor config;
    std::vector<Layer> layers;
};

// A single-platform layout with two layers, named "latest".
SourceImage write_source_layout(const fs::path& dir, Compression second = Compression::Zstd) {
    LayoutWriter writer(dir);
    SourceImage image;
    image.layers.push_back(store_layer(
        writer, {TarItem::directory("etc/"), TarItem::file("etc/hello", "hello\n")}, Compression::Gzip));
    image.layers.push_back(store_layer(
        writer, {TarItem::directory("app/"), TarItem::file("app/run", "#!/bin/sh\n", 0755)}, second));
    RuntimeConfig runtime;
    runtime.entrypoint = {"/app/run"};
    ImageConfig config = make_image_config(platform_for_debian_arch("amd64"), Epoch, runtime, image.layers);
    ImageMetadata metadata;
    metadata.created = Epoch;
    image.manifest = writer.write_image(config, image.layers, image_annotations(metadata));
    writer.write_index_json(image.manifest, "latest");
    image.config = read_layout(dir).images.at(0).config_descriptor;
    return image;
}

std::vector<std::string> directory_names(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// read_docker_archive must fail with `code`, mention `needle`, and leave the
// directory holding the archive as it was (no layout, no temporary directory).
void expect_refused(const fs::path& archive, ErrorCode code, const std::string& needle, std::size_t index = 0) {
    std::vector<std::string> before = directory_names(archive.parent_path());
    Error e = test::error_from([&] { read_docker_archive(archive, archive.parent_path() / "layout", index); });
    EXPECT_EQ(e.code(), code) << e.describe();
    EXPECT_NE(e.describe().find(needle), std::string::npos) << e.describe();
    EXPECT_EQ(directory_names(archive.parent_path()), before);
}

std::string must(const std::vector<std::string>& argv) {
    util::ProcessOptions options;
    options.timeout = std::chrono::seconds(120);
    util::ProcessResult result = util::run_process(argv, options);
    EXPECT_EQ(result.exit_code, 0) << argv.at(0) << " " << argv.at(1) << ": " << result.err;
    return result.out;
}

// ---------------------------------------------------------------- the OCI form

TEST(ReadDockerArchive, SlateArchiveRoundTrips) {
    test::TempDir dir;
    SourceImage source = write_source_layout(dir.path() / "source");
    fs::path archive = dir.path() / "work" / "image.tar";
    fs::create_directories(archive.parent_path());
    write_docker_archive(dir.path() / "source", {}, archive, "slate/test:1.0");

    fs::path out = dir.path() / "work" / "layout";
    Layout layout = read_docker_archive(archive, out);
    EXPECT_EQ(layout.dir, out);
    EXPECT_EQ(layout.top.digest, source.manifest.digest);
    EXPECT_EQ(layout.ref_name, "1.0");
    EXPECT_EQ(layout.top.annotations.at("io.containerd.image.name"), "docker.io/slate/test:1.0");
    ASSERT_EQ(layout.images.size(), 1u);
    EXPECT_EQ(layout.images[0].config_descriptor.digest, source.config.digest);
    ASSERT_EQ(layout.images[0].manifest.layers.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        const Descriptor& layer = layout.images[0].manifest.layers[i];
        EXPECT_EQ(layer.digest, source.layers[i].digest);
        EXPECT_EQ(util::read_file(layout.blob_path(layer.digest)),
                  util::read_file(blob_path(dir.path() / "source", layer.digest)));
    }
    EXPECT_NO_THROW(verify_layer_blobs(layout));
    // The layout appeared under its name; no temporary directory is left.
    EXPECT_EQ(directory_names(archive.parent_path()), (std::vector<std::string>{"image.tar", "layout"}));
    EXPECT_EQ(fs::status(out).permissions() & fs::perms::all, fs::perms(0755));
}

TEST(ReadDockerArchive, AcceptsAnEmptyTargetDirectoryAndRefusesAFullOne) {
    test::TempDir dir;
    write_source_layout(dir.path() / "source");
    fs::path archive = dir.path() / "image.tar";
    write_docker_archive(dir.path() / "source", {}, archive, "");
    fs::create_directory(dir.path() / "layout");
    Layout layout = read_docker_archive(archive, dir.path() / "layout");
    EXPECT_EQ(layout.ref_name, "");  // untagged
    EXPECT_TRUE(fs::exists(dir.path() / "layout" / "index.json"));

    std::string index_before = util::read_file(dir.path() / "layout" / "index.json");
    Error e = test::error_from([&] { read_docker_archive(archive, dir.path() / "layout"); });
    EXPECT_EQ(e.code(), ErrorCode::Usage) << e.describe();
    EXPECT_EQ(util::read_file(dir.path() / "layout" / "index.json"), index_before);
}

TEST(ReadDockerArchive, OciBlobThatDoesNotMatchItsNameIsAnIntegrityError) {
    test::TempDir dir;
    std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
    std::string hex = std::string(64, 'a');  // not the digest of `config`
    std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                           R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
                           hex + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[]})";
    std::string index = R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                        R"("digest":")" + sha256(manifest) + R"(","size":)" + std::to_string(manifest.size()) + "}]}";
    util::write_file_atomic(dir.path() / "bad.tar",
                            test::make_tar({TarItem::file("blobs/sha256/" + hex, config),
                                            TarItem::file("blobs/sha256/" + sha256(manifest).substr(7), manifest),
                                            TarItem::file("index.json", index),
                                            TarItem::file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})")},
                                           DebCompression::None));
    expect_refused(dir.path() / "bad.tar", ErrorCode::Integrity, "blobs/sha256/" + hex);
}

TEST(ReadDockerArchive, SeveralImagesInTheOciFormPickOne) {
    // Docker 25 saves several images as one layout whose index.json lists each.
    test::TempDir dir;
    fs::path source = dir.path() / "source";
    LayoutWriter writer(source);
    std::vector<Descriptor> manifests;
    for (const std::string arch : {"amd64", "arm64"}) {
        Layer layer = store_layer(writer, {TarItem::file("etc/arch", arch + "\n")}, Compression::Gzip);
        ImageConfig config = make_image_config(platform_for_debian_arch(arch), Epoch, {}, {layer});
        manifests.push_back(writer.write_image(config, {layer}, {}));
    }
    writer.write_index_json(manifests[0], "first", {{manifests[1], "second"}});
    fs::path archive = dir.path() / "work" / "two.tar";
    fs::create_directory(archive.parent_path());
    must({"tar", "-C", source.string(), "-cf", archive.string(), "."});

    Layout layout = read_docker_archive(archive, dir.path() / "second", 1);
    EXPECT_EQ(layout.top.digest, manifests[1].digest);
    EXPECT_EQ(layout.ref_name, "second");
    EXPECT_EQ(layout.images.at(0).platform, platform_for_debian_arch("arm64"));
    EXPECT_EQ(parse_index(util::read_file(dir.path() / "second" / "index.json")).manifests.size(), 1u);
    EXPECT_EQ(read_docker_archive(archive, dir.path() / "first").top.digest, manifests[0].digest);
    expect_refused(archive, ErrorCode::Usage, "images in this archive: 0 (first), 1 (second)", 5);
}

TEST(ReadDockerArchive, TruncatedArchiveIsAParseError) {
    test::TempDir dir;
    write_source_layout(dir.path() / "source");
    write_docker_archive(dir.path() / "source", {}, dir.path() / "full.tar", "a/b:c");
    std::string bytes = util::read_file(dir.path() / "full.tar");
    fs::create_directory(dir.path() / "t");
    // Cut inside the first blob's data (after the directory entries and its header).
    util::write_file_atomic(dir.path() / "t" / "cut.tar", bytes.substr(0, 3 * 512 + 100));
    expect_refused(dir.path() / "t" / "cut.tar", ErrorCode::Parse, "runcated");
}

TEST(ReadDockerArchive, NotATarMissingFileAndNoManifest) {
    test::TempDir dir;
    util::write_file_atomic(dir.path() / "text.tar", std::string(4096, 'x'));
    expect_refused(dir.path() / "text.tar", ErrorCode::Parse, "not a tar archive");
    expect_refused(dir.path() / "absent.tar", ErrorCode::NotFound, "no such file");
    util::write_file_atomic(dir.path() / "plain.tar",
                            test::make_tar({TarItem::file("hello.txt", "hi\n")}, DebCompression::None));
    expect_refused(dir.path() / "plain.tar", ErrorCode::Parse, "neither manifest.json nor index.json");
    util::write_file_atomic(dir.path() / "badjson.tar",
                            test::make_tar({TarItem::file("manifest.json", "[{\"Config\":")}, DebCompression::None));
    expect_refused(dir.path() / "badjson.tar", ErrorCode::Parse, "malformed manifest.json");
}

// ---------------------------------------------------------------- the legacy form

TEST(ReadDockerArchive, ReadsSkopeosLegacyArchive) {
    if (!util::find_program("skopeo")) GTEST_FAIL() << "skopeo is not installed (apt-get install skopeo)";
    test::TempDir dir;
    // skopeo's docker-archive writer refuses zstd layers.
    SourceImage source = write_source_layout(dir.path() / "source", Compression::None);
    fs::path archive = dir.path() / "legacy.tar";
    must({"skopeo", "copy", "--quiet", "oci:" + (dir.path() / "source").string() + ":latest",
          "docker-archive:" + archive.string() + ":slate/legacy:2.0"});
    // skopeo writes the legacy form, with "<id>/layer.tar -> ../<hex>.tar"
    // symbolic links for old tools, which the reader must step over.
    std::string listing = must({"tar", "-tvf", archive.string()});
    ASSERT_NE(listing.find("manifest.json"), std::string::npos) << listing;
    ASSERT_EQ(listing.find("index.json"), std::string::npos) << listing;
    ASSERT_NE(listing.find("/layer.tar -> ../"), std::string::npos) << listing;

    fs::path out = dir.path() / "read";
    Layout layout = read_docker_archive(archive, out);
    ASSERT_EQ(layout.images.size(), 1u);
    const LayoutImage& image = layout.images[0];
    // The config is kept byte for byte: same digest (image ID), same diff_ids.
    EXPECT_EQ(image.config_descriptor.digest, source.config.digest);
    EXPECT_EQ(util::read_file(layout.blob_path(image.config_descriptor.digest)),
              util::read_file(blob_path(dir.path() / "source", source.config.digest)));
    ASSERT_EQ(image.config.diff_ids.size(), 2u);
    ASSERT_EQ(image.manifest.layers.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(image.config.diff_ids[i], source.layers[i].diff_id);
        // skopeo decompressed the layers: stored as plain tars, digest = diff_id.
        EXPECT_EQ(image.manifest.layers[i].media_type, media_type::LayerTar);
        EXPECT_EQ(image.manifest.layers[i].digest, source.layers[i].diff_id);
        EXPECT_EQ(image.manifest.layers[i].size, source.layers[i].uncompressed_size);
    }
    EXPECT_NO_THROW(verify_layer_blobs(layout));
    EXPECT_EQ(layout.ref_name, "2.0");
    EXPECT_EQ(layout.top.annotations.at("io.containerd.image.name"), "docker.io/slate/legacy:2.0");

    // skopeo reads the new layout back (it checks every blob's digest on copy).
    EXPECT_EQ(must({"skopeo", "inspect", "--config", "--raw", "oci:" + out.string() + ":2.0"}),
              util::read_file(layout.blob_path(image.config_descriptor.digest)));
    must({"skopeo", "copy", "--quiet", "oci:" + out.string() + ":2.0", "oci:" + (dir.path() / "copy").string() + ":x"});
}

// A legacy archive as `docker save` before 25 wrote it for two images: the
// layers in "<id>/layer.tar", a layer shared by both images stored once and
// linked from the second image's directory.
struct LegacyArchive {
    std::string base_tar = test::make_tar({TarItem::file("etc/base", "base\n")}, DebCompression::None);
    std::string app_tar = test::make_tar({TarItem::file("app/x", "app\n")}, DebCompression::None);

    static std::string config(const std::vector<std::string>& diff_ids) {
        nlohmann::json doc = {{"architecture", "amd64"},
                              {"os", "linux"},
                              {"created", "2024-01-02T03:04:05.123456789Z"},
                              {"config", {{"Env", nlohmann::json::array({"PATH=/usr/bin"})}}},
                              {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
        return doc.dump();
    }
    std::string one = config({sha256(base_tar)});
    std::string two = config({sha256(base_tar), sha256(app_tar)});

    std::vector<TarItem> items(const std::string& manifest_json) const {
        return {TarItem::directory("./"),
                TarItem::directory("./1111/"),
                TarItem::file("./1111/layer.tar", base_tar),
                TarItem::directory("./2222/"),
                TarItem::symlink("./2222/layer.tar", "../1111/layer.tar"),
                TarItem::directory("./3333/"),
                TarItem::file("./3333/layer.tar", app_tar),
                TarItem::file("./one.json", one),
                TarItem::file("./two.json", two),
                TarItem::file("./manifest.json", manifest_json)};
    }
    static std::string manifest() {
        return R"([{"Config":"one.json","RepoTags":["a/one:1"],"Layers":["1111/layer.tar"]},)"
               R"({"Config":"two.json","RepoTags":["a/two:2","a/two:latest"],"Layers":["2222/layer.tar","3333/layer.tar"]}])";
    }
};

TEST(ReadDockerArchive, LegacyArchivePicksAnImageAndFollowsLinksInside) {
    test::TempDir dir;
    LegacyArchive legacy;
    fs::path archive = dir.path() / "old.tar";
    util::write_file_atomic(archive, test::make_tar(legacy.items(LegacyArchive::manifest()), DebCompression::None));

    Layout layout = read_docker_archive(archive, dir.path() / "two", 1);
    ASSERT_EQ(layout.images.size(), 1u);
    EXPECT_EQ(layout.images[0].config_descriptor.digest, sha256(legacy.two));
    EXPECT_EQ(layout.images[0].config.created, 1704164645);
    ASSERT_EQ(layout.images[0].manifest.layers.size(), 2u);
    EXPECT_EQ(layout.images[0].manifest.layers[0].digest, sha256(legacy.base_tar));
    EXPECT_EQ(layout.images[0].manifest.layers[1].digest, sha256(legacy.app_tar));
    EXPECT_EQ(layout.ref_name, "2");
    EXPECT_EQ(layout.top.annotations.at("io.containerd.image.name"), "docker.io/a/two:2");
    EXPECT_NO_THROW(verify_layer_blobs(layout));

    Layout first = read_docker_archive(archive, dir.path() / "one");
    EXPECT_EQ(first.images.at(0).config_descriptor.digest, sha256(legacy.one));
    EXPECT_EQ(first.ref_name, "1");

    fs::create_directory(dir.path() / "range");
    fs::copy_file(archive, dir.path() / "range" / "old.tar");
    expect_refused(dir.path() / "range" / "old.tar", ErrorCode::Usage, "0 (a/one:1), 1 (a/two:2, a/two:latest)", 2);
}

TEST(ReadDockerArchive, GzipLayerIsStoredCompressedAndCheckedUncompressed) {
    test::TempDir dir;
    LegacyArchive legacy;
    std::string gz;
    LayerCompressor compressor(Compression::Gzip, [&](std::string_view bytes) { gz.append(bytes); });
    compressor.write(legacy.base_tar);
    compressor.finish();
    ASSERT_EQ(gz.substr(0, 2), "\x1f\x8b");
    std::string manifest = R"([{"Config":"one.json","RepoTags":null,"Layers":["base.tar.gz"]}])";
    util::write_file_atomic(dir.path() / "gz.tar", test::make_tar({TarItem::file("base.tar.gz", gz),
                                                                    TarItem::file("one.json", legacy.one),
                                                                    TarItem::file("manifest.json", manifest)},
                                                                   DebCompression::None));
    Layout layout = read_docker_archive(dir.path() / "gz.tar", dir.path() / "layout");
    const Descriptor& layer = layout.images.at(0).manifest.layers.at(0);
    EXPECT_EQ(layer.media_type, media_type::LayerGzip);
    EXPECT_EQ(layer.digest, sha256(gz));
    EXPECT_EQ(layout.images[0].config.diff_ids.at(0), sha256(legacy.base_tar));
    EXPECT_EQ(layout.ref_name, "");

    // The same gzip file standing for a layer whose diff_id is another one.
    std::string other = LegacyArchive::config({sha256(legacy.app_tar)});
    fs::create_directory(dir.path() / "bad");
    util::write_file_atomic(dir.path() / "bad" / "gz.tar", test::make_tar({TarItem::file("base.tar.gz", gz),
                                                                            TarItem::file("one.json", other),
                                                                            TarItem::file("manifest.json", manifest)},
                                                                           DebCompression::None));
    expect_refused(dir.path() / "bad" / "gz.tar", ErrorCode::Integrity, "base.tar.gz");

    // Gzip data cut short.
    fs::create_directory(dir.path() / "cut");
    util::write_file_atomic(dir.path() / "cut" / "gz.tar",
                            test::make_tar({TarItem::file("base.tar.gz", gz.substr(0, gz.size() - 10)),
                                            TarItem::file("one.json", legacy.one),
                                            TarItem::file("manifest.json", manifest)},
                                           DebCompression::None));
    expect_refused(dir.path() / "cut" / "gz.tar", ErrorCode::Parse, "gzip");
}

TEST(ReadDockerArchive, LayerNotMatchingItsDiffIdIsAnIntegrityError) {
    test::TempDir dir;
    LegacyArchive legacy;
    std::vector<TarItem> items = legacy.items(LegacyArchive::manifest());
    // The second image's own layer is replaced by other bytes of the same size.
    std::string tampered = legacy.app_tar;
    tampered[0] ^= 1;
    items[6] = TarItem::file("./3333/layer.tar", tampered);
    util::write_file_atomic(dir.path() / "tampered.tar", test::make_tar(items, DebCompression::None));
    expect_refused(dir.path() / "tampered.tar", ErrorCode::Integrity, "3333/layer.tar", 1);
    // The first image does not use that layer.
    EXPECT_NO_THROW(read_docker_archive(dir.path() / "tampered.tar", dir.path() / "one", 0));
}

TEST(ReadDockerArchive, ManifestNamingAMissingFileIsAParseError) {
    test::TempDir dir;
    LegacyArchive legacy;
    std::string manifest = R"([{"Config":"one.json","RepoTags":[],"Layers":["9999/layer.tar"]}])";
    util::write_file_atomic(dir.path() / "missing.tar", test::make_tar(legacy.items(manifest), DebCompression::None));
    expect_refused(dir.path() / "missing.tar", ErrorCode::Parse, "\"9999/layer.tar\", which is not a file");
}

// ---------------------------------------------------------------- hostile members

TEST(ReadDockerArchive, RefusesHostileMembers) {
    test::TempDir dir;
    LegacyArchive legacy;
    struct Case {
        TarItem item;
        std::string needle;
    };
    std::vector<Case> cases = {
        {TarItem::file("../evil", "x"), "\"../evil\" has an absolute path or a \"..\" component"},
        {TarItem::file("./1111/../../evil", "x"), "\"./1111/../../evil\" has an absolute path"},
        {TarItem::file("/etc/evil", "x"), "\"/etc/evil\" has an absolute path"},
        {TarItem::symlink("./passwd", "/etc/passwd"), "\"passwd\" is a symbolic link to \"/etc/passwd\", outside"},
        {TarItem::symlink("./1111/passwd", "/etc/passwd"), "\"1111/passwd\" is a symbolic link to \"/etc/passwd\""},
        {TarItem::symlink("./1111/up", "../../etc"), "\"1111/up\" is a symbolic link to \"../../etc\", outside"},
        {TarItem::hardlink("./hard", "../outside"), "\"hard\" is a hard link to \"../outside\", outside"},
        {TarItem::special(TarItem::Kind::CharDevice, "./null", 1, 3), "\"null\" is a device, FIFO or socket"},
        {TarItem::special(TarItem::Kind::Fifo, "./pipe"), "\"pipe\" is a device, FIFO or socket"},
        {TarItem::file("./one.json", legacy.one), "\"one.json\" appears twice"},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(cases[i].needle);
        std::vector<TarItem> items = legacy.items(LegacyArchive::manifest());
        items.insert(items.begin() + 4, cases[i].item);
        fs::path sub = dir.path() / std::to_string(i);
        fs::create_directory(sub);
        util::write_file_atomic(sub / "hostile.tar", test::make_tar(items, DebCompression::None));
        expect_refused(sub / "hostile.tar", ErrorCode::Parse, cases[i].needle);
    }
}

TEST(ReadDockerArchive, RefusesLinksAsBlobsOrAsTheManifest) {
    test::TempDir dir;
    LegacyArchive legacy;
    std::vector<TarItem> items = legacy.items(LegacyArchive::manifest());
    items.back() = TarItem::symlink("./manifest.json", "one.json");
    fs::create_directory(dir.path() / "a");
    util::write_file_atomic(dir.path() / "a" / "link.tar", test::make_tar(items, DebCompression::None));
    expect_refused(dir.path() / "a" / "link.tar", ErrorCode::Parse, "\"manifest.json\" is not a regular file");

    // OCI form: a blob that is a link to another member.
    test::TempDir source;
    write_source_layout(source.path() / "image");
    Layout layout = read_layout(source.path() / "image");
    std::string hex(layout.images[0].manifest.layers[0].hex());
    std::string index = util::read_file(source.path() / "image" / "index.json");
    fs::create_directory(dir.path() / "b");
    util::write_file_atomic(dir.path() / "b" / "oci.tar",
                            test::make_tar({TarItem::file("elsewhere", "x"),
                                            TarItem::symlink("blobs/sha256/" + hex, "../../elsewhere"),
                                            TarItem::file("index.json", index),
                                            TarItem::file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})")},
                                           DebCompression::None));
    expect_refused(dir.path() / "b" / "oci.tar", ErrorCode::Parse, "blobs must be regular files");
}

}  // namespace
}  // namespace slate::oci
