// slate build against the fixture archive: OCI output that validates and
// that real tools accept, reproducibility, and every bad input the build
// must refuse without leaving output behind.
#include <nlohmann/json.hpp>

#include "integration/build_test.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "support/json_schema.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

TEST_F(BuildCommand, MultiArchLayoutValidatesAgainstTheOciSchemas) {
    auto spec = write_spec("app");
    auto out = m_work.path() / "out";
    auto r = build({spec.string(), "-o", out.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto result = nlohmann::json::parse(r.out);
    ASSERT_EQ(result.at("images").size(), 2u);
    for (const auto& image : result.at("images")) {
        EXPECT_EQ(image.at("packages"), 4);  // app, data-common, hello, libc6
        EXPECT_GT(image.at("compressed_size").get<std::uint64_t>(), 0u);
        EXPECT_EQ(image.at("layers").size(), 1u);
    }

    JsonSchemaValidator oci(shared_schemas() / "oci-image");
    EXPECT_EQ(oci.errors("image-layout-schema.json", util::read_file(out / "oci-layout")), "");
    EXPECT_EQ(oci.errors("image-index-schema.json", util::read_file(out / "index.json")), "");
    auto layout = oci::read_layout(out);
    ASSERT_TRUE(layout.index);
    EXPECT_EQ(layout.top.digest, result.at("digest"));
    EXPECT_EQ(oci.errors("image-index-schema.json", util::read_file(layout.blob_path(layout.top.digest))), "");
    ASSERT_EQ(layout.images.size(), 2u);
    for (const auto& image : layout.images) {
        EXPECT_EQ(oci.errors("image-manifest-schema.json",
                             util::read_file(layout.blob_path(image.manifest_descriptor.digest))),
                  "");
        EXPECT_EQ(oci.errors("config-schema.json", util::read_file(layout.blob_path(image.config_descriptor.digest))),
                  "");
        EXPECT_EQ(image.config.config.user, "nonroot");
        EXPECT_EQ(image.config.config.entrypoint, (std::vector<std::string>{"/usr/bin/hello"}));
        EXPECT_EQ(image.manifest.annotations.at("org.opencontainers.image.title"), "app");
    }
    EXPECT_EQ(layout.images[1].platform.variant, "v8");
    oci::verify_layer_blobs(layout);
}

TEST_F(BuildCommand, ReproducibleWhateverTheMachineStateAndSensitiveToTheEpoch) {
    auto spec = write_spec("app, pyapp");
    auto first = build({spec.string(), "-o", (m_work.path() / "one").string(), "--json"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    // A cold cache, another output path, time zone, locale and umask, one download at a time.
    TempDir other_cache;
    util::ProcessResult second;
    {
        auto argv_env = std::vector<std::pair<std::string, std::string>>{{"TZ", "Pacific/Chatham"}, {"LC_ALL", "C.UTF-8"}};
        auto old_umask = ::umask(077);
        second = build({spec.string(), "-o", (m_work.path() / "elsewhere" / "two").string(), "--json", "--jobs", "1"},
                       argv_env, other_cache.path());
        ::umask(old_umask);
    }
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(digest_of(first), digest_of(second));
    // An explicit, different SOURCE_DATE_EPOCH gives a different image.
    auto third = build({spec.string(), "-o", (m_work.path() / "three").string(), "--json"},
                       {{"SOURCE_DATE_EPOCH", "1600000000"}});
    ASSERT_EQ(third.exit_code, 0) << third.err;
    EXPECT_NE(digest_of(first), digest_of(third));
}

TEST_F(BuildCommand, BuildsExactlyALock) {
    auto spec = write_spec("hello");
    auto lock = m_work.path() / "app.lock.json";
    util::ProcessOptions options;
    options.env = {{"SLATE_APT_ROOT", m_apt_root.path().string()}};
    ASSERT_EQ(util::run_process({slate_binary().string(), "--cache-dir", cache().string(), "lock", spec.string()}, options)
                  .exit_code,
              0);
    auto from_lock = build({spec.string(), "--lock", lock.string(), "-o", (m_work.path() / "a").string(), "--json"});
    ASSERT_EQ(from_lock.exit_code, 0) << from_lock.err;
    auto fresh = build({spec.string(), "-o", (m_work.path() / "b").string(), "--json"});
    ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
    EXPECT_EQ(digest_of(from_lock), digest_of(fresh));
    // A lock of another version of the spec is refused.
    write_spec("hello, pyapp");
    auto stale = build({spec.string(), "--lock", lock.string(), "-o", (m_work.path() / "c").string()});
    EXPECT_EQ(stale.exit_code, 1);
    EXPECT_NE(stale.err.find("run slate lock"), std::string::npos) << stale.err;
    expect_nothing_written(m_work.path() / "c");
}

TEST_F(BuildCommand, HashMismatchIsRefusedWithNoOutput) {
    auto spec = write_spec("hello");
    auto deb = "/debian/pool/main/h/hello/hello_1.0-1+b1_amd64.deb";
    m_server->corrupt_next(deb, 5);
    auto out = m_work.path() / "out";
    auto r = build({spec.string(), "-o", out.string(), "--arch", "amd64"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("hello 1.0-1+b1 (amd64)"), std::string::npos) << r.err;
    expect_nothing_written(out);
}

TEST_F(BuildCommand, TruncatedDebIsRefusedWithNoOutput) {
    auto spec = write_spec("hello");
    m_server->truncate_next("/debian/pool/main/h/hello/hello_1.0-1+b1_amd64.deb", 200, /*honest_length=*/true, 5);
    auto out = m_work.path() / "out";
    auto r = build({spec.string(), "-o", out.string(), "--arch", "amd64"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("hello"), std::string::npos) << r.err;
    expect_nothing_written(out);
}

TEST_F(BuildCommand, PackageWithAPathEscapingTheRootIsRefused) {
    auto spec = write_spec("escaper");
    auto out = m_work.path() / "out";
    auto r = build({spec.string(), "-o", out.string(), "--arch", "amd64"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("escapes the image root"), std::string::npos) << r.err;
    expect_nothing_written(out);
}

TEST_F(BuildCommand, ConflictingFilesAreRefused) {
    auto spec = write_spec("hello, hello-clone");
    auto out = m_work.path() / "out";
    auto r = build({spec.string(), "-o", out.string(), "--arch", "amd64"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("file conflict: hello-clone 1.0-1 ships /usr/bin/hello"), std::string::npos) << r.err;
    expect_nothing_written(out);
}

TEST_F(BuildCommand, TheSpecCanLetTheLaterPackageOverwrite) {
    auto spec = write_spec("hello, hello-clone").string();
    auto text = util::read_file(spec);
    auto pos = text.find("  packages: [hello, hello-clone]\n");
    text.insert(pos + std::string("  packages: [hello, hello-clone]\n").size(), "  overwrite: [/usr/bin/hello]\n");
    util::write_file_atomic(spec, text);
    auto out = m_work.path() / "out";
    auto r = build({spec, "-o", out.string(), "--arch", "amd64", "--test"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // hello-clone comes later in install order, so its /usr/bin/hello is the
    // one (the fixture's programs are shell scripts and the image has no
    // shell, so the file is checked rather than run).
    util::write_file_atomic(spec, text + "test:\n  files:\n    - {path: /usr/bin/hello, contains: hello-clone clashes}\n");
    auto tested = build({spec, "-o", out.string(), "--arch", "amd64", "--test"});
    EXPECT_EQ(tested.exit_code, 0) << tested.err;
    EXPECT_NE(tested.err.find("test file /usr/bin/hello (amd64): passed"), std::string::npos) << tested.err;
}

TEST_F(BuildCommand, CollidingUidIsRefused) {
    auto spec = m_work.path() / "uid.yaml";
    util::write_file_atomic(spec, "name: uid\narchive:\n  mirror: " + mirror() +
                                      "\n  suites: [fixture]\n  keyring: [" + keyring().string() +
                                      "]\ncontents:\n  packages: [hello]\narchs: [amd64]\n"
                                      "accounts:\n  users: [{username: admin, uid: 0}]\n");
    auto out = m_work.path() / "out";
    auto r = build({spec.string(), "-o", out.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("admin"), std::string::npos) << r.err;
    expect_nothing_written(out);
}

TEST_F(BuildCommand, PathOutsideTheRootIsRefused) {
    auto spec = write_spec("hello", "paths:\n  - {path: /../etc/evil, type: file, content: x}\n");
    auto out = m_work.path() / "out";
    auto r = build({spec.string(), "-o", out.string(), "--arch", "amd64"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("app.yaml:"), std::string::npos) << r.err;
    expect_nothing_written(out);
}

TEST_F(BuildCommand, FailingTestFailsTheBuildWithNoOutput) {
    auto spec = write_spec("hello", "test:\n  files:\n    - {path: /usr/bin/hello, contains: bonjour}\n");
    auto out = m_work.path() / "out";
    auto r = build({spec.string(), "-o", out.string(), "--arch", "amd64", "--test"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("test file /usr/bin/hello (amd64): FAILED: /usr/bin/hello does not contain \"bonjour\""),
              std::string::npos)
        << r.err;
    expect_nothing_written(out);
}

TEST_F(BuildCommand, DockerArchiveNeedsOneArchitecture) {
    auto spec = write_spec("hello");
    auto out = m_work.path() / "image.tar";
    auto both = build({spec.string(), "-o", out.string(), "--format", "docker-archive"});
    EXPECT_EQ(both.exit_code, 2) << both.err;
    auto one = build({spec.string(), "-o", out.string(), "--format", "docker-archive", "--arch", "amd64"});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_TRUE(fs::is_regular_file(out));
}

}  // namespace
}  // namespace slate::test
