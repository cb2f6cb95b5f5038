// Running images in bubblewrap: the library's sandbox on a directory holding
// Debian's static busybox (package busybox-static), and `slate run` on OCI
// layouts written with slate's own layout writer, with layers made by
// libarchive (tests/support/hostile_deb.hpp) so hostile ones can be made too.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "slate/build/image_spec.hpp"
#include "slate/build/sandbox.hpp"
#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/hostile_deb.hpp"
#include "support/http_server.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* Passwd =
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
constexpr const char* Group = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\nstaff:x:50:\n";

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// Debian's busybox-static: one static binary, so a directory holding it is a
// complete image.
const std::string& busybox() {
    static const std::string bytes = [] {
        for (const char* path : {"/usr/bin/busybox", "/bin/busybox"})
            if (fs::exists(path)) return util::read_file(path);
        return std::string();
    }();
    return bytes;
}

class SandboxTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(util::find_program("bwrap")) << "bwrap is missing: apt-get install bubblewrap";
        ASSERT_FALSE(busybox().empty()) << "busybox is missing: apt-get install busybox-static";
        m_root = m_dir.path() / "root";
        fs::create_directories(m_root / "bin");
        fs::create_directories(m_root / "etc");
        fs::create_directories(m_root / "home/nonroot");
        util::write_file_atomic(m_root / "bin/busybox", busybox(), 0755);
        fs::create_symlink("busybox", m_root / "bin/sh");
        util::write_file_atomic(m_root / "etc/passwd", Passwd);
        util::write_file_atomic(m_root / "etc/group", Group);
    }

    build::SandboxSpec shell(const std::string& script) const {
        build::SandboxSpec spec;
        spec.root = m_root;
        spec.argv = {"/bin/sh", "-c", script};
        spec.env = {{"PATH", "/bin"}};
        spec.timeout = 30s;
        return spec;
    }

    TempDir m_dir;
    fs::path m_root;
};

TEST_F(SandboxTest, RunsAsTheImageUserWithItsEnvWorkdirAndExitCode) {
    ::setenv("SLATE_TEST_HOST_SECRET", "leaked", 1);
    auto spec = shell("id -u; id -g; pwd; echo \"greeting=$GREETING\"; env; exit 7");
    spec.user = "nonroot";
    spec.workdir = "/home/nonroot";
    spec.env.emplace_back("GREETING", "hello world");
    auto r = build::run_in_sandbox(spec);
    ::unsetenv("SLATE_TEST_HOST_SECRET");
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_TRUE(r.out.starts_with("65532\n65532\n/home/nonroot\ngreeting=hello world\n")) << r.out;
    EXPECT_FALSE(contains(r.out, "leaked")) << "the host's environment leaked into the sandbox";
    EXPECT_FALSE(contains(r.out, "HOME=")) << r.out;
}

TEST_F(SandboxTest, ResolvesUsersAndGroupsThroughTheImage) {
    auto run_as = [&](const std::string& user) {
        auto spec = shell("echo $(id -u):$(id -g)");
        spec.user = user;
        auto r = build::run_in_sandbox(spec);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out;
    };
    EXPECT_EQ(run_as(""), "0:0\n");
    EXPECT_EQ(run_as("nonroot"), "65532:65532\n");
    EXPECT_EQ(run_as("nonroot:staff"), "65532:50\n");
    EXPECT_EQ(run_as("1234:5678"), "1234:5678\n");
    EXPECT_EQ(run_as("65534"), "65534:65534\n");  // listed: its passwd gid
    EXPECT_EQ(run_as("4321"), "4321:0\n");        // not listed: gid 0, as runc
    EXPECT_THROW(build::run_in_sandbox([&] {
        auto spec = shell("true");
        spec.user = "nosuchuser";
        return spec;
    }()), Error);
}

TEST_F(SandboxTest, OnlyTheImageIsVisible) {
    util::write_file_atomic(m_dir.path() / "host-only", "secret");
    auto r = build::run_in_sandbox(shell("ls -a /"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, ".\n..\nbin\ndev\netc\nhome\nproc\ntmp\n");
    // Neither the host's system nor the directory around the root.
    for (const auto& path : {std::string("/usr"), std::string("/etc/os-release"), (m_dir.path() / "host-only").string()}) {
        auto spec = shell("test -e \"$1\"; echo $?");
        spec.argv.push_back("sh");
        spec.argv.push_back(path);
        r = build::run_in_sandbox(spec);
        EXPECT_EQ(r.out, "1\n") << path << " is visible in the sandbox";
    }
    // A PID namespace of its own: pid 1 is bubblewrap's init, not the host's.
    r = build::run_in_sandbox(shell("cat /proc/1/comm"));
    EXPECT_TRUE(r.out.starts_with("bwrap\n")) << r.out;
}

TEST_F(SandboxTest, RootIsReadOnlyAndTmpIsPrivate) {
    auto r = build::run_in_sandbox(shell("touch /etc/x 2>/dev/null && echo wrote-etc; touch /newfile 2>/dev/null && "
                                         "echo wrote-root; touch /tmp/ok && echo wrote-tmp; stat -c %a /tmp"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "wrote-tmp\n1777\n");
    EXPECT_FALSE(fs::exists(m_root / "etc/x"));

    auto spec = shell("echo changed > /home/nonroot/file");
    spec.writable = true;
    r = build::run_in_sandbox(spec);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(util::read_file(m_root / "home/nonroot/file"), "changed\n");
}

TEST_F(SandboxTest, NetworkIsOffUnlessAsked) {
    TempDir site;
    util::write_file_atomic(site.path() / "hello.txt", "hello from the host\n");
    HttpServer server(site.path());
    const std::string fetch = fmt::format("wget -q -O - {}/hello.txt", server.url());

    auto r = build::run_in_sandbox(shell(fetch));
    EXPECT_EQ(r.exit_code, 1) << "the sandbox reached the host's loopback: " << r.out;
    EXPECT_TRUE(contains(r.err, "Connection refused"));
    EXPECT_EQ(server.request_count("/hello.txt"), 0u);
    // Its own loopback works (a server inside can be tested from inside).
    r = build::run_in_sandbox(shell("ip -o addr show lo | grep -c 127.0.0.1; ip -o link | grep -vc ': lo:'"));
    EXPECT_EQ(r.out, "1\n0\n") << r.err;

    auto spec = shell(fetch);
    spec.network = true;
    r = build::run_in_sandbox(spec);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "hello from the host\n");
}

TEST_F(SandboxTest, RootHasDockersCapabilitiesOthersNone) {
    auto spec = shell("grep CapEff /proc/self/status");
    auto r = build::run_in_sandbox(spec);
    EXPECT_EQ(r.out, "CapEff:\t00000000a80425fb\n") << r.err;  // Docker's default set
    spec.user = "nonroot";
    r = build::run_in_sandbox(spec);
    EXPECT_EQ(r.out, "CapEff:\t0000000000000000\n") << r.err;
}

TEST_F(SandboxTest, TimeoutKillsTheSandbox) {
    auto spec = shell("sleep 60");
    spec.timeout = 1s;
    auto start = std::chrono::steady_clock::now();
    auto r = build::run_in_sandbox(spec);
    EXPECT_TRUE(r.timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);

    start = std::chrono::steady_clock::now();
    EXPECT_EQ(build::run_in_sandbox_streaming(spec), 124);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST_F(SandboxTest, StreamingReturnsTheExitCodeAndThePid) {
    int pid = 0;
    EXPECT_EQ(build::run_in_sandbox_streaming(shell("exit 3"), [&](int p) { pid = p; }), 3);
    EXPECT_GT(pid, 0);
    EXPECT_EQ(build::run_in_sandbox_streaming(shell("kill -TERM $$")), 128 + 15);
}

TEST_F(SandboxTest, ImageFilesAreReadInsideTheRootNeverOnTheHost) {
    // etc/passwd climbs out of the root with a relative link: inside the image
    // ".." stops at "/", so the host file next to the root is never read.
    util::write_file_atomic(m_dir.path() / "outside-passwd", "evil:x:4242:4242::/:/bin/sh\n");
    fs::remove(m_root / "etc/passwd");
    fs::create_symlink("../../../outside-passwd", m_root / "etc/passwd");
    EXPECT_THROW(build::resolve_sandbox_user(m_root, "evil"), Error);
    // An absolute link is resolved inside the image too.
    util::write_file_atomic(m_root / "etc/real-passwd", Passwd);
    fs::remove(m_root / "etc/passwd");
    fs::create_symlink("/etc/real-passwd", m_root / "etc/passwd");
    EXPECT_EQ(build::resolve_sandbox_user(m_root, "nonroot").uid, 65532u);
    EXPECT_EQ(build::resolve_sandbox_user(m_root, "nonroot").home, "/home/nonroot");
}

TEST_F(SandboxTest, MissingWorkdirAndEmptyCommandAreClearErrors) {
    auto spec = shell("true");
    spec.workdir = "/no/such/dir";
    auto r = build::run_in_sandbox(spec);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.err, "/no/such/dir"));
    spec.argv.clear();
    EXPECT_THROW(build::run_in_sandbox(spec), Error);
}

// ------------------------------------------------------------------ slate run

std::string foreign_arch() { return build::default_architecture() == "arm64" ? "amd64" : "arm64"; }

oci::Layer store_layer(const oci::LayoutWriter& writer, const std::vector<TarItem>& items, DebCompression compression) {
    std::string plain = make_tar(items, DebCompression::None, TarFormat::Pax);
    std::string blob = compression == DebCompression::None ? plain : make_tar(items, compression, TarFormat::Pax);
    auto kind = compression == DebCompression::Zstd   ? oci::Compression::Zstd
                : compression == DebCompression::Gzip ? oci::Compression::Gzip
                                                      : oci::Compression::None;
    auto stored = writer.write_blob(oci::layer_media_type(kind), blob);
    return oci::Layer{stored.digest, stored.size, "sha256:" + util::sha256_hex(plain), plain.size(), kind, ""};
}

std::vector<TarItem> base_layer() {
    return {TarItem::directory("./"),
            TarItem::directory("./bin"),
            TarItem::file("./bin/busybox", busybox(), 0755),
            TarItem::symlink("./bin/sh", "busybox"),
            TarItem::directory("./etc"),
            TarItem::file("./etc/passwd", Passwd),
            TarItem::file("./etc/group", Group),
            TarItem::file("./etc/motd", "welcome\n"),
            TarItem::directory("./opt"),
            TarItem::file("./opt/old", "from the base\n"),
            TarItem::special(TarItem::Kind::CharDevice, "./etc/null", 1, 3),
            TarItem::directory("./home"),
            TarItem::directory("./home/nonroot", 0700)};
}

// Writes a layout holding one image per architecture, made of `layers`.
void write_layout(const fs::path& dir, const std::vector<std::vector<TarItem>>& layers,
                  const std::vector<std::string>& archs) {
    oci::LayoutWriter writer(dir);
    std::vector<oci::Layer> stored;
    for (std::size_t i = 0; i < layers.size(); ++i)
        stored.push_back(store_layer(writer, layers[i], i % 2 ? DebCompression::Zstd : DebCompression::Gzip));
    oci::RuntimeConfig runtime;
    runtime.user = "nonroot";
    runtime.env = {"PATH=/bin", "APP_MODE=test"};
    runtime.working_dir = "/app";
    runtime.entrypoint = {"/bin/sh", "-c"};
    runtime.cmd = {"echo default-cmd; exit 5"};
    oci::ImageMetadata metadata;
    metadata.created = 1700000000;
    std::vector<oci::Descriptor> manifests;
    for (const auto& arch : archs) {
        auto config = oci::make_image_config(oci::platform_for_debian_arch(arch), 1700000000, runtime, stored);
        manifests.push_back(writer.write_image(config, stored, oci::image_annotations(metadata)));
    }
    writer.write_index_json(manifests.size() == 1 ? manifests.front() : writer.write_index(manifests), "latest");
}

class SlateRunTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(util::find_program("bwrap")) << "bwrap is missing: apt-get install bubblewrap";
        ASSERT_FALSE(busybox().empty()) << "busybox is missing: apt-get install busybox-static";
    }
    util::ProcessResult slate_run(const fs::path& layout, std::vector<std::string> args = {}) const {
        std::vector<std::string> argv{slate_binary().string(), "run", layout.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.env = {{"TMPDIR", m_tmp.path().string()}};
        options.timeout = 60s;
        return util::run_process(argv, options);
    }
    bool tmp_is_empty() const { return fs::is_empty(m_tmp.path()); }

    TempDir m_dir;
    TempDir m_tmp;  // slate's TMPDIR: the unpacked image must be gone afterwards
};

TEST_F(SlateRunTest, RunsTheImageWithItsConfig) {
    auto layout = m_dir.path() / "image";
    std::vector<TarItem> app{TarItem::directory("./app"),
                             TarItem::file("./app/data", "app data\n"),
                             TarItem::file("./etc/.wh.motd", ""),
                             TarItem::file("./opt/.wh..wh..opq", ""),
                             TarItem::file("./opt/new", "from the app layer\n")};
    write_layout(layout, {base_layer(), app}, {build::default_architecture(), foreign_arch()});

    auto r = slate_run(layout);
    EXPECT_EQ(r.exit_code, 5) << r.err;
    EXPECT_EQ(r.out, "default-cmd\n");

    r = slate_run(layout, {"--", "id -u; pwd; echo $APP_MODE $HOME; cat data; test -e /etc/motd || echo motd-gone; "
                                 "ls /opt; test -e /etc/null || echo no-device"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "65532\n/app\ntest /home/nonroot\napp data\nmotd-gone\nnew\nno-device\n");
    EXPECT_TRUE(tmp_is_empty());

    r = slate_run(layout, {"--user", "0", "-e", "APP_MODE=override", "--workdir", "/opt", "--",
                           "echo $(id -u) $APP_MODE $(pwd)"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "0 override /opt\n");
    EXPECT_TRUE(tmp_is_empty());
}

TEST_F(SlateRunTest, ForeignArchitectureIsRefused) {
    auto layout = m_dir.path() / "image";
    write_layout(layout, {base_layer()}, {foreign_arch()});
    auto r = slate_run(layout, {"--", "true"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.err, fmt::format("cannot run {} images on {} without emulation", foreign_arch(),
                                            build::default_architecture())));

    auto native = m_dir.path() / "native";
    write_layout(native, {base_layer()}, {build::default_architecture()});
    r = slate_run(native, {"--arch", foreign_arch(), "--", "true"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(contains(r.err, "without emulation"));
    EXPECT_TRUE(tmp_is_empty());
}

TEST_F(SlateRunTest, LayersFollowImageSymlinksInsideTheRootNeverOnTheHost) {
    // Layer 1 plants symlinks: one to a directory of the image, one to a host
    // directory. Layer 2 writes through both, as container runtimes allow:
    // each must land inside the image, whatever the link says.
    TempDir victim;
    util::write_file_atomic(victim.path() / "keep", "host file\n");
    auto layout = m_dir.path() / "image";
    auto base = base_layer();
    base.push_back(TarItem::directory("./srv"));
    base.push_back(TarItem::directory("./srv/data"));
    base.push_back(TarItem::symlink("./data", "/srv/data"));
    base.push_back(TarItem::symlink("./escape", victim.path().string()));
    base.push_back(TarItem::symlink("./up", "../../../../.."));
    write_layout(layout,
                 {base,
                  {TarItem::file("./data/file", "through the link\n"), TarItem::file("./escape/pwned", "owned\n"),
                   TarItem::file("./up/etc/motd", "replaced\n"), TarItem::file("./escape/.wh.keep", "")}},
                 {build::default_architecture()});
    auto r = slate_run(layout, {"--", "cat /srv/data/file /etc/motd"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "through the link\nreplaced\n");
    EXPECT_EQ(util::read_file(victim.path() / "keep"), "host file\n");
    EXPECT_FALSE(fs::exists(victim.path() / "pwned")) << "a layer wrote onto the host";
    EXPECT_TRUE(tmp_is_empty());

    // A hard link to a host file through the link finds nothing to link to.
    write_layout(layout, {base, {TarItem::hardlink("./stolen", "escape/keep")}}, {build::default_architecture()});
    r = slate_run(layout, {"--", "cat /stolen"});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_TRUE(contains(r.err, "stolen")) << r.err;
    EXPECT_EQ(fs::hard_link_count(victim.path() / "keep"), 1u);
    EXPECT_TRUE(tmp_is_empty());
}

TEST_F(SlateRunTest, PathsLeavingTheRootAreRefused) {
    for (const auto& name : {std::string("../outside"), std::string("./a/../../outside"), std::string("/abs")}) {
        auto layout = m_dir.path() / "image";
        fs::remove_all(layout);
        auto base = base_layer();
        base.push_back(TarItem::file(name, "x"));
        write_layout(layout, {base}, {build::default_architecture()});
        auto r = slate_run(layout, {"--", "true"});
        EXPECT_EQ(r.exit_code, 1) << name;
        EXPECT_TRUE(contains(r.err, name)) << r.err;
        EXPECT_TRUE(tmp_is_empty());
        EXPECT_FALSE(fs::exists(m_tmp.path().parent_path() / "outside"));
    }
}

TEST_F(SlateRunTest, DamagedLayerIsRefused) {
    auto layout = m_dir.path() / "image";
    write_layout(layout, {base_layer()}, {build::default_architecture()});
    auto image = oci::read_layout(layout).images.at(0);
    auto blob = oci::blob_path(layout, image.manifest.layers.at(0).digest);
    std::string bytes = util::read_file(blob);
    bytes[bytes.size() - 3] ^= 0x01;  // the gzip trailer: the tar still reads, the digest does not match
    fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
    util::write_file_atomic(blob, bytes);
    auto r = slate_run(layout, {"--", "true"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, image.manifest.layers.at(0).digest)) << r.err;
    EXPECT_TRUE(tmp_is_empty());
}

}  // namespace
}  // namespace slate::test
