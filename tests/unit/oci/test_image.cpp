// OCI documents: exact bytes (golden JSON), round trips, and validation of
// everything slate writes against the official OCI image-spec JSON schemas
// (../shared/schemas/oci-image) with python3-jsonschema.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/json_schema.hpp"
#include "support/paths.hpp"

namespace slate::oci {
namespace {

namespace fs = std::filesystem;

const std::string HexA(64, 'a');
const std::string HexB(64, 'b');
const std::string HexC(64, 'c');
const std::string HexD(64, 'd');
constexpr std::int64_t Epoch = 1700000000;  // 2023-11-14T22:13:20Z

Layer gzip_layer() {
    return Layer{"sha256:" + HexA, 1234, "sha256:" + HexB, 5678, Compression::Gzip, "python3 and 12 more"};
}

RuntimeConfig python_runtime() {
    RuntimeConfig rc;
    rc.user = "65532";
    rc.exposed_ports = {"8080/tcp"};
    rc.env = {"PATH=/usr/bin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"};
    rc.entrypoint = {"/usr/bin/python3"};
    rc.cmd = {"-c", "print(1)"};
    rc.working_dir = "/home/nonroot";
    rc.labels = {{"z", "last"}, {"a", "first"}};
    return rc;
}

ImageMetadata titled(const std::string& title) {
    ImageMetadata metadata;
    metadata.created = Epoch;
    metadata.title = title;
    return metadata;
}

ImageConfig python_config() {
    return make_image_config(platform_for_debian_arch("arm64"), Epoch, python_runtime(), {gzip_layer()});
}

// ------------------------------------------------------------ JSON schemas

// The official OCI schemas, checked by python3-jsonschema (tests/support/json_schema.hpp).
class OciSchema : public ::testing::Test {
protected:
    std::string schema_errors(const std::string& schema, std::string_view json) {
        return m_validator.errors(schema, json);
    }

    void expect_valid(const std::string& schema, std::string_view json) {
        EXPECT_EQ(schema_errors(schema, json), "") << schema << " rejects " << json;
    }

    test::JsonSchemaValidator m_validator{test::shared_schemas() / "oci-image"};
};

TEST_F(OciSchema, ConfigManifestAndIndexValidate) {
    ImageConfig config = python_config();
    std::string config_json = to_json(config);
    expect_valid("config-schema.json", config_json);

    ImageMetadata metadata{Epoch, "python", "Python 3 on Debian", "https://example.org/slate", "0123abc", "3.11",
                           "scratch"};
    Layer zstd = gzip_layer();
    zstd.compression = Compression::Zstd;
    Manifest manifest = make_manifest(describe(media_type::ImageConfig, config_json), {gzip_layer(), zstd},
                                      image_annotations(metadata));
    expect_valid("image-manifest-schema.json", to_json(manifest));

    Index index;
    index.manifests.push_back(Descriptor{std::string(media_type::ImageManifest), "sha256:" + HexC, 500,
                                         platform_for_debian_arch("amd64"), {}, {}});
    index.manifests.push_back(Descriptor{std::string(media_type::ImageManifest), "sha256:" + HexD, 501,
                                         platform_for_debian_arch("arm64"), {}, {}});
    expect_valid("image-index-schema.json", to_json(index));
    expect_valid("image-layout-schema.json", OciLayoutContent);
}

TEST_F(OciSchema, MinimalConfigValidates) {
    // No runtime settings, no layers: every optional field left out.
    ImageConfig config = make_image_config(platform_for_debian_arch("amd64"), 0, {}, {});
    expect_valid("config-schema.json", to_json(config));
}

TEST_F(OciSchema, ValidatorRejectsBrokenDocuments) {
    // The validator itself must be able to fail, references included: a
    // manifest without layers, a bad media type (checked through
    // defs-descriptor.json) and a non-string annotation.
    std::string bad = R"({"schemaVersion":2,"config":{"mediaType":"not a media type","digest":"sha256:)" + HexA +
                      R"(","size":1},"layers":[],"annotations":{"a":1}})";
    std::string errors = schema_errors("image-manifest-schema.json", bad);
    EXPECT_NE(errors.find("layers"), std::string::npos) << errors;
    EXPECT_NE(errors.find("config/mediaType"), std::string::npos) << errors;
    EXPECT_NE(errors.find("annotations/a"), std::string::npos) << errors;
    EXPECT_NE(schema_errors("image-layout-schema.json", R"({"imageLayoutVersion":"2.0.0"})"), "");
}

TEST_F(OciSchema, EveryDocumentOfAWrittenLayoutValidates) {
    test::TempDir dir;
    LayoutWriter writer(dir.path() / "image");
    std::vector<Descriptor> manifests;
    for (const char* arch : {"amd64", "arm64"}) {
        std::string layer_bytes = std::string("not really a gzip stream for ") + arch;
        Layer layer{"sha256:" + util::sha256_hex(layer_bytes), layer_bytes.size(), "sha256:" + HexB, 10,
                    Compression::Gzip, ""};
        writer.write_blob(media_type::LayerGzip, layer_bytes);
        ImageConfig config = make_image_config(platform_for_debian_arch(arch), Epoch, python_runtime(), {layer});
        manifests.push_back(writer.write_image(config, {layer}, image_annotations(titled("python"))));
    }
    writer.write_index_json(writer.write_index(manifests), "latest");

    const fs::path root = dir.path() / "image";
    expect_valid("image-layout-schema.json", util::read_file(root / "oci-layout"));
    expect_valid("image-index-schema.json", util::read_file(root / "index.json"));
    Layout layout = read_layout(root);
    ASSERT_TRUE(layout.index.has_value());
    expect_valid("image-index-schema.json", util::read_file(layout.blob_path(layout.top.digest)));
    ASSERT_EQ(layout.images.size(), 2u);
    for (const auto& image : layout.images) {
        expect_valid("image-manifest-schema.json", util::read_file(layout.blob_path(image.manifest_descriptor.digest)));
        expect_valid("config-schema.json", util::read_file(layout.blob_path(image.config_descriptor.digest)));
    }
}

// ------------------------------------------------------------ exact bytes

TEST(ImageConfigJson, GoldenBytes) {
    std::string expected =
        R"({"created":"2023-11-14T22:13:20Z","architecture":"arm64","os":"linux","variant":"v8",)"
        R"("config":{"User":"65532","ExposedPorts":{"8080/tcp":{}},)"
        R"("Env":["PATH=/usr/bin:/bin","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],)"
        R"J("Entrypoint":["/usr/bin/python3"],"Cmd":["-c","print(1)"],"WorkingDir":"/home/nonroot",)J"
        R"("Labels":{"a":"first","z":"last"}},)"
        R"("rootfs":{"type":"layers","diff_ids":["sha256:)" +
        HexB +
        R"("]},)"
        R"("history":[{"created":"2023-11-14T22:13:20Z","created_by":"slate build","comment":"python3 and 12 more"}]})";
    EXPECT_EQ(to_json(python_config()), expected);
}

TEST(ImageConfigJson, OneHistoryEntryPerLayerAtTheEpoch) {
    Layer first = gzip_layer();
    Layer second = gzip_layer();
    second.diff_id = "sha256:" + HexC;
    second.comment = "";
    ImageConfig config = make_image_config(platform_for_debian_arch("amd64"), Epoch, {}, {first, second});
    EXPECT_EQ(config.diff_ids, (std::vector<std::string>{"sha256:" + HexB, "sha256:" + HexC}));
    ASSERT_EQ(config.history.size(), 2u);
    EXPECT_EQ(config.history[1], (HistoryEntry{Epoch, "slate build", "", false}));
    EXPECT_EQ(to_json(config),
              R"({"created":"2023-11-14T22:13:20Z","architecture":"amd64","os":"linux","config":{},)"
              R"("rootfs":{"type":"layers","diff_ids":["sha256:)" + HexB + R"(","sha256:)" + HexC + R"("]},)"
              R"("history":[{"created":"2023-11-14T22:13:20Z","created_by":"slate build","comment":"python3 and 12 more"},)"
              R"({"created":"2023-11-14T22:13:20Z","created_by":"slate build"}]})");
}

TEST(ManifestJson, GoldenBytes) {
    Layer zstd = gzip_layer();
    zstd.compression = Compression::Zstd;
    zstd.digest = "sha256:" + HexC;
    Manifest manifest = make_manifest(Descriptor{std::string(media_type::ImageConfig), "sha256:" + HexD, 321, {}, {}, {}},
                                      {gzip_layer(), zstd},
                                      image_annotations({Epoch, "python", "", "", "", "3.11", ""}));
    std::string expected =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
        R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" + HexD +
        R"(","size":321},"layers":[)"
        R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:)" + HexA +
        R"(","size":1234},)"
        R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"sha256:)" + HexC +
        R"(","size":1234}],)"
        R"("annotations":{"org.opencontainers.image.created":"2023-11-14T22:13:20Z",)"
        R"("org.opencontainers.image.title":"python","org.opencontainers.image.version":"3.11"}})";
    EXPECT_EQ(to_json(manifest), expected);
}

TEST(IndexJson, GoldenBytes) {
    Index index;
    index.manifests.push_back(Descriptor{std::string(media_type::ImageManifest), "sha256:" + HexC, 500,
                                         platform_for_debian_arch("amd64"), {}, {}});
    index.manifests.push_back(Descriptor{std::string(media_type::ImageManifest), "sha256:" + HexD, 501,
                                         platform_for_debian_arch("arm64"), {{"k", "v"}}, {}});
    std::string expected =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
        R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" + HexC +
        R"(","size":500,"platform":{"architecture":"amd64","os":"linux"}},)"
        R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" + HexD +
        R"(","size":501,"platform":{"architecture":"arm64","os":"linux","variant":"v8"},"annotations":{"k":"v"}}]})";
    EXPECT_EQ(to_json(index), expected);
}

TEST(ImageAnnotations, OnlyWhatIsKnownAndAlwaysCreated) {
    EXPECT_EQ(image_annotations(ImageMetadata{}), (Annotations{{"org.opencontainers.image.created", "1970-01-01T00:00:00Z"}}));
    Annotations all = image_annotations({Epoch, "t", "d", "s", "r", "v", "b"});
    EXPECT_EQ(all.size(), 7u);
    EXPECT_EQ(all.at("org.opencontainers.image.base.name"), "b");
    EXPECT_EQ(all.at("org.opencontainers.image.source"), "s");
    EXPECT_EQ(all.at("org.opencontainers.image.revision"), "r");
    EXPECT_EQ(all.at("org.opencontainers.image.description"), "d");
}

TEST(ImageJson, InvalidUtf8IsAConfigError) {
    RuntimeConfig rc;
    rc.labels["bad"] = "\xff\xfe";
    try {
        to_json(make_image_config(platform_for_debian_arch("amd64"), 0, rc, {}));
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Config);
        EXPECT_NE(e.hint().find("UTF-8"), std::string::npos);
    }
}

// ------------------------------------------------------------ reading

TEST(ImageJson, RoundTrips) {
    ImageConfig config = python_config();
    EXPECT_EQ(parse_image_config(to_json(config)), config);

    Manifest manifest = make_manifest(describe(media_type::ImageConfig, to_json(config)), {gzip_layer()},
                                      image_annotations(titled("python")));
    Manifest parsed = parse_manifest(to_json(manifest));
    EXPECT_EQ(to_json(parsed), to_json(manifest));
    ASSERT_EQ(parsed.layers.size(), 1u);
    EXPECT_EQ(parsed.layers[0].media_type, media_type::LayerGzip);
    EXPECT_EQ(parsed.layers[0].hex(), HexA);

    Index index;
    index.manifests.push_back(Descriptor{std::string(media_type::ImageManifest), "sha256:" + HexC, 5,
                                         platform_for_debian_arch("armhf"), {{"a", "b"}}, {}});
    Index parsed_index = parse_index(to_json(index));
    ASSERT_EQ(parsed_index.manifests.size(), 1u);
    EXPECT_EQ(parsed_index.manifests[0].platform, (Platform{"arm", "linux", "v7"}));
    EXPECT_EQ(to_json(parsed_index), to_json(index));
}

TEST(ImageJson, ReadsDockerStyleConfigs) {
    // What docker build writes: nulls, extra fields, nanosecond times with an offset.
    std::string docker = R"({"architecture":"amd64","os":"linux","created":"2023-11-14T23:13:20.123456789+01:00",)"
                         R"("config":{"Hostname":"","Entrypoint":null,"Cmd":["sh"],"Env":["A=1"],"Labels":null,)"
                         R"("Volumes":null,"OnBuild":null},"rootfs":{"type":"layers","diff_ids":["sha256:)" +
                         HexB + R"("]},"history":[{"created":"2023-11-14T22:13:20Z","empty_layer":true}]})";
    ImageConfig config = parse_image_config(docker);
    EXPECT_EQ(config.created, Epoch);
    EXPECT_TRUE(config.config.entrypoint.empty());
    EXPECT_EQ(config.config.cmd, std::vector<std::string>{"sh"});
    EXPECT_EQ(config.config.env, std::vector<std::string>{"A=1"});
    ASSERT_EQ(config.history.size(), 1u);
    EXPECT_TRUE(config.history[0].empty_layer);
}

void expect_parse_error(const std::function<void()>& parse, const std::string& needle) {
    try {
        parse();
        ADD_FAILURE() << "expected a parse error mentioning " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Parse) << e.describe();
        EXPECT_NE(e.message().find(needle), std::string::npos) << e.message();
    }
}

TEST(ImageJson, MalformedDocumentsAreParseErrors) {
    expect_parse_error([] { parse_manifest("{not json", "manifest sha256:x"); }, "manifest sha256:x: not valid JSON");
    expect_parse_error([] { parse_manifest(R"({"schemaVersion":1,"config":{},"layers":[]})"); }, "schemaVersion");
    expect_parse_error(
        [] {
            parse_manifest(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha512:)" + HexA + HexA +
                           R"(","size":1},"layers":[]})");
        },
        "sha512");
    expect_parse_error(
        [] {
            parse_manifest(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:)" + HexA +
                           R"(","size":-1},"layers":[]})");
        },
        "no valid size");
    expect_parse_error([] { parse_index(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]})"); },
                       "not an image index");
    expect_parse_error([] { parse_image_config(R"({"architecture":"amd64","os":"linux"})"); }, "rootfs");
    expect_parse_error([] { parse_image_config(R"({"architecture":"amd64","os":"linux","created":"yesterday","rootfs":{"type":"layers","diff_ids":[]}})"); },
                       "RFC 3339");
    expect_parse_error([] { parse_image_config(R"({"os":"linux","rootfs":{"type":"layers","diff_ids":[]}})"); },
                       "architecture");
}

// ------------------------------------------------------------ platforms and time

TEST(OciPlatform, FromDebianArchitectures) {
    EXPECT_EQ(platform_for_debian_arch("amd64"), (Platform{"amd64", "linux", ""}));
    EXPECT_EQ(platform_for_debian_arch("arm64"), (Platform{"arm64", "linux", "v8"}));
    EXPECT_EQ(platform_for_debian_arch("armhf"), (Platform{"arm", "linux", "v7"}));
    EXPECT_EQ(platform_for_debian_arch("i386"), (Platform{"386", "linux", ""}));
    EXPECT_EQ(platform_for_debian_arch("ppc64el"), (Platform{"ppc64le", "linux", ""}));
    EXPECT_EQ(to_string(platform_for_debian_arch("arm64")), "linux/arm64/v8");
    EXPECT_EQ(to_string(platform_for_debian_arch("amd64")), "linux/amd64");
    try {
        platform_for_debian_arch("x86_64");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Usage);
        EXPECT_NE(e.message().find("x86_64"), std::string::npos);
    }
}

TEST(Rfc3339, AgreesWithGnuDate) {
    for (std::int64_t t : {std::int64_t{0}, Epoch, std::int64_t{951782400} /* 2000-02-29 */, std::int64_t{4102444799}}) {
        auto date = util::run_process({"date", "-u", "-d", "@" + std::to_string(t), "+%Y-%m-%dT%H:%M:%SZ"});
        ASSERT_EQ(date.exit_code, 0) << date.err;
        EXPECT_EQ(format_rfc3339(t) + "\n", date.out);
        EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
    }
}

TEST(Rfc3339, ParsesOffsetsAndFractions) {
    EXPECT_EQ(parse_rfc3339("2023-11-14T23:13:20+01:00"), Epoch);
    EXPECT_EQ(parse_rfc3339("2023-11-14T20:13:20.999-02:00"), Epoch);
    EXPECT_EQ(parse_rfc3339("2023-11-14t22:13:20z"), Epoch);
    for (const char* bad : {"", "2023-11-14", "2023-11-14 22:13:20Z", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z",
                            "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0100", "2023-11-14T22:13:2xZ"})
        EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

}  // namespace
}  // namespace slate::oci
