#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "slate/build/image_spec.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/paths.hpp"

namespace slate::build {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

// A valid spec with only the required keys; error tests append to it, so their
// line numbers start at 4.
constexpr std::string_view Minimal = "name: demo\ncontents:\n  packages: [base-files]\n";

// The message of the Config error parsing `yaml` throws (as "spec.yaml").
std::string error_of(std::string_view yaml) {
    try {
        parse_image_spec(yaml, "spec.yaml");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Config) << e.message();
        return e.message();
    }
    ADD_FAILURE() << "expected an error for:\n" << yaml;
    return {};
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.starts_with(prefix); }

std::string with_minimal(std::string_view extra) { return std::string(Minimal) + std::string(extra); }

fs::path spec_dir() { return test::source_dir() / "tests" / "unit" / "build" / "specs"; }

// ------------------------------------------------------------------ valid specs

TEST(ImageSpec, FullExampleParsesIntoExpectedValues) {
    ImageSpec spec = load_image_spec(spec_dir() / "full.yaml");
    EXPECT_EQ(spec.name, "full-example");
    EXPECT_EQ(spec.description, "An image that sets every key");

    EXPECT_EQ(spec.archive.mirror, "http://127.0.0.1:8080/debian");
    EXPECT_EQ(spec.archive.security_mirror, "http://127.0.0.1:8080/debian-security");
    EXPECT_EQ(spec.archive.suites, (Strings{"bookworm", "bookworm-updates", "bookworm-security"}));
    EXPECT_EQ(spec.archive.components, (Strings{"main", "contrib"}));
    ASSERT_EQ(spec.archive.keyring.size(), 2u);
    EXPECT_EQ(spec.archive.keyring[0], spec_dir() / "keys/archive.gpg");  // made relative to the spec's directory
    EXPECT_EQ(spec.archive.keyring[1], "/usr/share/keyrings/debian-archive-keyring.gpg");

    EXPECT_EQ(spec.contents.packages,
              (Strings{"base-files", "ca-certificates=20230311", "libc6:arm64", "python3:amd64=3.11.2-1+b1"}));
    EXPECT_EQ(spec.contents.exclude, (Strings{"dpkg", "perl-base"}));
    EXPECT_TRUE(spec.contents.recommends);
    EXPECT_EQ(spec.archs, (Strings{"amd64", "arm64", "riscv64"}));

    ASSERT_EQ(spec.accounts.users.size(), 2u);
    const UserAccount& nonroot = spec.accounts.users[0];
    EXPECT_EQ(nonroot.username, "nonroot");
    EXPECT_EQ(nonroot.uid, 65532u);
    EXPECT_EQ(nonroot.gid, 65532u);
    EXPECT_EQ(nonroot.home, "/home/nonroot");
    EXPECT_EQ(nonroot.shell, "/sbin/nologin");
    const UserAccount& app = spec.accounts.users[1];
    EXPECT_EQ(app.uid, 1000u);
    EXPECT_EQ(app.gid, 100u);
    EXPECT_EQ(app.home, "/srv/app");
    EXPECT_EQ(app.shell, "/bin/sh");
    ASSERT_EQ(spec.accounts.groups.size(), 1u);
    EXPECT_EQ(spec.accounts.groups[0].groupname, "nonroot");
    EXPECT_EQ(spec.accounts.groups[0].gid, 65532u);
    EXPECT_EQ(spec.accounts.groups[0].members, (Strings{"nonroot", "app"}));
    EXPECT_EQ(spec.accounts.run_as, "nonroot");

    EXPECT_EQ(spec.entrypoint, (Strings{"/usr/bin/python3", "-c", "print(\"hello world\")"}));
    EXPECT_EQ(spec.cmd, (Strings{"--verbose", "two words"}));
    EXPECT_EQ(spec.environment,
              (std::map<std::string, std::string>{{"LANG", "C.UTF-8"}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}}));
    EXPECT_EQ(spec.work_dir, "/srv/app");

    ASSERT_EQ(spec.paths.size(), 4u);
    EXPECT_EQ(spec.paths[0].path, "/srv/app");
    EXPECT_EQ(spec.paths[0].type, PathType::Directory);
    EXPECT_EQ(spec.paths[0].mode, 0750u);
    EXPECT_EQ(spec.paths[0].uid, 1000u);
    EXPECT_EQ(spec.paths[0].gid, 100u);
    EXPECT_TRUE(spec.paths[0].recursive);
    EXPECT_EQ(spec.paths[1].type, PathType::File);
    EXPECT_EQ(spec.paths[1].content, "listen = 8080\n");
    EXPECT_EQ(spec.paths[1].mode, 0600u);
    EXPECT_FALSE(spec.paths[1].uid.has_value());
    EXPECT_EQ(spec.paths[2].type, PathType::Symlink);
    EXPECT_EQ(spec.paths[2].source, "python3");
    EXPECT_EQ(spec.paths[3].type, PathType::Permissions);
    EXPECT_EQ(spec.paths[3].mode, 01777u);

    EXPECT_EQ(spec.paths_exclude, (Strings{"/usr/share/doc/*", "/usr/share/man/*"}));
    EXPECT_EQ(spec.annotations.at("org.opencontainers.image.title"), "full-example");
    EXPECT_EQ(spec.layering.strategy, LayeringStrategy::Origin);
    EXPECT_EQ(spec.layering.budget, 5);

    ASSERT_EQ(spec.test.commands.size(), 2u);
    EXPECT_EQ(spec.test.commands[0].name, "python runs");
    EXPECT_EQ(spec.test.commands[0].command, "python3 -c 'print(42)'");
    EXPECT_EQ(spec.test.commands[0].expect_exit, 0);
    EXPECT_EQ(spec.test.commands[0].expect_output, "^42");
    EXPECT_EQ(spec.test.commands[1].expect_exit, 127);
    EXPECT_EQ(spec.path, spec_dir() / "full.yaml");
}

TEST(ImageSpec, DefaultsApplyWhenKeysAreLeftOut) {
    ImageSpec spec = parse_image_spec(with_minimal("accounts:\n  users:\n    - {username: svc, uid: 70}\n"
                                                   "paths:\n  - {path: /a, type: directory}\n"
                                                   "  - {path: /b, type: file}\n"
                                                   "  - {path: /c, type: symlink, source: /a}\n"),
                                      "spec.yaml");
    EXPECT_EQ(spec.description, "");
    EXPECT_EQ(spec.archive.mirror, "");
    EXPECT_EQ(spec.archive.security_mirror, "");
    EXPECT_TRUE(spec.archive.suites.empty());
    EXPECT_EQ(spec.archive.components, (Strings{"main"}));
    EXPECT_TRUE(spec.archive.keyring.empty());
    EXPECT_TRUE(spec.contents.exclude.empty());
    EXPECT_FALSE(spec.contents.recommends);
    EXPECT_EQ(spec.archs, (Strings{default_architecture()}));
    EXPECT_EQ(default_architecture(), "amd64");  // the machines slate's tests run on
    const UserAccount& svc = spec.accounts.users.at(0);
    EXPECT_EQ(svc.gid, 70u);
    EXPECT_EQ(svc.home, "/home/svc");
    EXPECT_EQ(svc.shell, "/sbin/nologin");
    EXPECT_EQ(spec.accounts.run_as, "");
    EXPECT_EQ(spec.paths.at(0).mode, 0755u);
    EXPECT_EQ(spec.paths.at(1).mode, 0644u);
    EXPECT_EQ(spec.paths.at(2).mode, 0777u);
    EXPECT_FALSE(spec.paths.at(0).recursive);
    EXPECT_TRUE(spec.entrypoint.empty());
    EXPECT_TRUE(spec.cmd.empty());
    EXPECT_TRUE(spec.environment.empty());
    EXPECT_EQ(spec.work_dir, "");
    EXPECT_EQ(spec.layering.strategy, LayeringStrategy::Single);
    EXPECT_EQ(spec.layering.budget, 10);
    EXPECT_TRUE(spec.test.commands.empty());
    EXPECT_EQ(spec.path, "spec.yaml");
}

TEST(ImageSpec, KeyWithNoValueIsTheSameAsLeavingItOut) {
    ImageSpec spec = parse_image_spec(with_minimal("paths-exclude:\narchs:\ndescription: ~\n"), "spec.yaml");
    EXPECT_TRUE(spec.paths_exclude.empty());
    EXPECT_EQ(spec.archs, (Strings{"amd64"}));
}

TEST(ImageSpec, EntrypointAndCmdTakeAStringOrAList) {
    auto parse = [](std::string_view extra) { return parse_image_spec(with_minimal(extra), "spec.yaml"); };
    EXPECT_EQ(parse("entrypoint:\n  command: [/bin/app, --flag]\n").entrypoint, (Strings{"/bin/app", "--flag"}));
    EXPECT_EQ(parse("entrypoint: [/bin/app, a b]\n").entrypoint, (Strings{"/bin/app", "a b"}));
    EXPECT_EQ(parse("entrypoint: /bin/app  --x   y\n").entrypoint, (Strings{"/bin/app", "--x", "y"}));
    EXPECT_EQ(parse("entrypoint: {command: 'sh -c \"echo \\\"hi there\\\"\"'}\n").entrypoint,
              (Strings{"sh", "-c", "echo \"hi there\""}));
    EXPECT_EQ(parse("entrypoint: {command: a\\ b c}\n").entrypoint, (Strings{"a b", "c"}));
    EXPECT_EQ(parse("cmd: serve --port 80\n").cmd, (Strings{"serve", "--port", "80"}));
    EXPECT_EQ(parse("cmd: [serve, --port=80]\n").cmd, (Strings{"serve", "--port=80"}));
    EXPECT_EQ(error_of(with_minimal("cmd: \"a 'b\"\n")), "spec.yaml:4:6: cmd: unterminated ' quote");
    EXPECT_EQ(error_of(with_minimal("cmd: {a: b}\n")),
              "spec.yaml:4:6: cmd: expected a string or a list of strings, got a map");
}

TEST(ImageSpec, PermissionsAcceptOctalForms) {
    auto mode_of = [](std::string_view value) {
        std::string yaml = with_minimal("paths:\n  - path: /x\n    type: directory\n    permissions: ");
        yaml += value;
        yaml += "\n";
        return parse_image_spec(yaml, "spec.yaml").paths.at(0).mode;
    };
    EXPECT_EQ(mode_of("0o755"), 0755u);
    EXPECT_EQ(mode_of("0755"), 0755u);
    EXPECT_EQ(mode_of("\"0755\""), 0755u);
    EXPECT_EQ(mode_of("'750'"), 0750u);
    EXPECT_EQ(mode_of("0o4755"), 04755u);
}

TEST(ImageSpec, DigestIsOfTheExactBytes) {
    std::string text = with_minimal("");
    ImageSpec a = parse_image_spec(text, "a.yaml");
    EXPECT_EQ(a.digest, "sha256:" + util::sha256_hex(text));
    // The same spec with a comment: same values, different bytes, different digest.
    ImageSpec b = parse_image_spec(text + "# comment\n", "a.yaml");
    EXPECT_EQ(b.contents.packages, a.contents.packages);
    EXPECT_NE(b.digest, a.digest);

    test::TempDir dir;
    util::write_file_atomic(dir.path() / "x.yaml", text);
    EXPECT_EQ(load_image_spec(dir.path() / "x.yaml").digest, "sha256:" + util::sha256_file_hex(dir.path() / "x.yaml"));
}

TEST(ImageSpec, MissingFileIsNotFound) {
    test::TempDir dir;
    try {
        load_image_spec(dir.path() / "nope.yaml");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
        EXPECT_NE(e.message().find("nope.yaml"), std::string::npos);
    }
}

TEST(ImageSpec, ErrorsNameTheFileTheyWereLoadedFrom) {
    test::TempDir dir;
    util::write_file_atomic(dir.path() / "bad.yaml", "name: demo\n");
    try {
        load_image_spec(dir.path() / "bad.yaml");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.message(), (dir.path() / "bad.yaml").string() +
                                   ":1:1: missing required key 'contents' at the top level");
        EXPECT_FALSE(e.hint().empty());
    }
}

TEST(PackageRequest, SplitsNameArchAndVersion) {
    PackageRequest r = parse_package_request("libc6:arm64=2.36-9+deb12u4");
    EXPECT_EQ(r.name, "libc6");
    EXPECT_EQ(r.arch, "arm64");
    EXPECT_EQ(r.version, "2.36-9+deb12u4");
    r = parse_package_request("g++=4:12.2.0-3");
    EXPECT_EQ(r.name, "g++");
    EXPECT_EQ(r.arch, "");
    EXPECT_EQ(r.version, "4:12.2.0-3");
    EXPECT_EQ(parse_package_request("tzdata:all").arch, "all");
    EXPECT_THROW(parse_package_request("x"), Error);
    EXPECT_THROW(parse_package_request("foo=abc"), Error);
    EXPECT_THROW(parse_package_request("foo:sparc"), Error);
    EXPECT_TRUE(is_valid_package_name("libstdc++6"));
    EXPECT_FALSE(is_valid_package_name("-foo"));
    EXPECT_FALSE(is_valid_package_name("Foo"));
    EXPECT_FALSE(is_valid_package_name("foo_bar"));
}

// ------------------------------------------------------------------ errors, each at its line:column

TEST(ImageSpecErrors, MalformedYaml) {
    std::string message = error_of("name: demo\ncontents:\n  packages: [base-files\n");
    EXPECT_PRED2(starts_with, message, "spec.yaml:4:1: invalid YAML: ") << message;
    message = error_of("name: demo\n\tcontents: x\n");
    EXPECT_PRED2(starts_with, message, "spec.yaml:2:") << message;
}

TEST(ImageSpecErrors, EmptyOrSeveralDocuments) {
    EXPECT_EQ(error_of(""), "spec.yaml:1:1: the spec is empty; it needs at least 'name' and 'contents.packages'");
    EXPECT_EQ(error_of("# nothing\n"), "spec.yaml:1:1: the spec is empty; it needs at least 'name' and 'contents.packages'");
    EXPECT_EQ(error_of(with_minimal("---\nname: other\n")),
              "spec.yaml:5:1: the file holds more than one YAML document; a spec is exactly one");
    EXPECT_EQ(error_of("- a\n- b\n"), "spec.yaml:1:1: expected a map with the keys name, description, archive, "
                                      "contents, archs, accounts, entrypoint, cmd, environment, work-dir, paths, "
                                      "paths-exclude, annotations, layering, test, got a list");
}

TEST(ImageSpecErrors, UnknownKeySuggestsTheClosest) {
    EXPECT_EQ(error_of("nmae: demo\n"),
              "spec.yaml:1:1: unknown key 'nmae' at the top level; did you mean 'name'? Allowed keys here: name, "
              "description, archive, contents, archs, accounts, entrypoint, cmd, environment, work-dir, paths, "
              "paths-exclude, annotations, layering, test.");
    EXPECT_EQ(error_of("name: demo\ncontents:\n  pakages: [a]\n"),
              "spec.yaml:3:3: contents: unknown key 'pakages' in contents; did you mean 'packages'? "
              "Allowed keys here: packages, exclude, recommends, overwrite.");
    EXPECT_PRED2(starts_with, error_of(with_minimal("workdir: /app\n")),
              "spec.yaml:4:1: unknown key 'workdir' at the top level; did you mean 'work-dir'?");
    EXPECT_EQ(error_of(with_minimal("accounts:\n  run_as: 0\n")),
              "spec.yaml:5:3: accounts: unknown key 'run_as' in accounts; did you mean 'run-as'? "
              "Allowed keys here: users, groups, run-as.");
    // Nothing close: no suggestion, but still the list.
    EXPECT_EQ(error_of(with_minimal("archive:\n  frobnicate: 1\n")),
              "spec.yaml:5:3: archive: unknown key 'frobnicate' in archive. "
              "Allowed keys here: mirror, security-mirror, suites, components, keyring.");
    EXPECT_PRED2(starts_with, error_of(with_minimal("paths:\n  - path: /a\n    typ: file\n")),
              "spec.yaml:6:5: paths[0]: unknown key 'typ' in paths[0]; did you mean 'type'? Allowed keys here: path, "
              "type, content,");
}

TEST(ImageSpecErrors, DuplicateKeys) {
    EXPECT_EQ(error_of(with_minimal("name: again\n")), "spec.yaml:4:1: duplicate key 'name' (first set at line 1)");
    EXPECT_EQ(error_of("name: demo\ncontents:\n  packages: [a1]\n  recommends: true\n  packages: [b1]\n"),
              "spec.yaml:5:3: contents: duplicate key 'packages' (first set at line 3)");
    EXPECT_EQ(error_of(with_minimal("environment:\n  A: 1\n  A: 2\n")),
              "spec.yaml:6:3: environment: duplicate key 'A' (first set at line 5)");
}

TEST(ImageSpecErrors, WrongType) {
    EXPECT_EQ(error_of("name: demo\ncontents:\n  packages: {a: b}\n"),
              "spec.yaml:3:13: contents.packages: expected a list of strings, got a map");
    EXPECT_EQ(error_of("name: demo\ncontents:\n  packages: base-files\n"),
              "spec.yaml:3:13: contents.packages: expected a list of strings, got 'base-files'");
    EXPECT_EQ(error_of("name: demo\ncontents:\n  packages:\n    - a1\n    - [b1]\n"),
              "spec.yaml:5:7: contents.packages[1]: expected a string, got a list");
    EXPECT_EQ(error_of("name: [demo]\ncontents: {packages: [a1]}\n"),
              "spec.yaml:1:7: name: expected a string, got a list");
    EXPECT_EQ(error_of(with_minimal("archs: amd64\n")), "spec.yaml:4:8: archs: expected a list of strings, got 'amd64'");
    EXPECT_EQ(error_of("name: demo\ncontents: [a1]\n"),
              "spec.yaml:2:11: contents: expected a map with the keys packages, exclude, recommends, overwrite, got a list");
    EXPECT_EQ(error_of("name: demo\ncontents:\n  packages: [a1]\n  recommends: yes\n"),
              "spec.yaml:4:15: contents.recommends: expected true or false, got 'yes'");
    EXPECT_EQ(error_of(with_minimal("layering:\n  budget: many\n")),
              "spec.yaml:5:11: layering.budget: expected a whole number, got 'many'");
    EXPECT_EQ(error_of(with_minimal("accounts:\n  users:\n    - username: a\n      uid: -1\n")),
              "spec.yaml:7:12: accounts.users[0].uid: must be between 0 and 4294967294, got -1");
    EXPECT_EQ(error_of(with_minimal("environment: [A=1]\n")),
              "spec.yaml:4:14: environment: expected a map of strings, got a list");
    EXPECT_PRED2(starts_with, error_of(with_minimal("environment:\n  A:\n")),
              "spec.yaml:5:3: environment.A: expected a string, got nothing");
}

TEST(ImageSpecErrors, MissingRequiredKey) {
    EXPECT_EQ(error_of("contents:\n  packages: [a1]\n"), "spec.yaml:1:1: missing required key 'name' at the top level");
    EXPECT_EQ(error_of("name: demo\ncontents:\n  exclude: [a1]\n"),
              "spec.yaml:3:3: contents: missing required key 'packages' in contents");
    EXPECT_EQ(error_of("name:\ncontents:\n  packages: [a1]\n"), "spec.yaml:1:1: name: a value is required here");
    EXPECT_EQ(error_of(with_minimal("accounts:\n  users:\n    - uid: 5\n")),
              "spec.yaml:6:7: accounts.users[0]: missing required key 'username' in accounts.users[0]");
    EXPECT_EQ(error_of(with_minimal("paths:\n  - path: /l\n    type: symlink\n")),
              "spec.yaml:5:5: paths[0]: missing required key 'source' in paths[0]");
    EXPECT_EQ(error_of(with_minimal("paths:\n  - path: /l\n    type: permissions\n")),
              "spec.yaml:5:5: paths[0]: missing required key 'permissions' in paths[0]");
}

TEST(ImageSpecErrors, InvalidPackages) {
    EXPECT_EQ(error_of("name: demo\ncontents:\n  packages: []\n"),
              "spec.yaml:3:13: contents.packages: the package list is empty; list at least one package to install");
    std::string message = error_of("name: demo\ncontents:\n  packages:\n    - base-files\n    - Python3\n");
    EXPECT_PRED2(starts_with, message, "spec.yaml:5:7: contents.packages[1]: 'Python3' is not a valid Debian package name")
        << message;
    EXPECT_NE(message.find("did you mean 'python3'?"), std::string::npos) << message;
    message = error_of("name: demo\ncontents:\n  packages: [a1, 'python3=latest']\n");
    EXPECT_PRED2(starts_with, message, "spec.yaml:3:18: contents.packages[1]: 'python3=latest' has an invalid version 'latest'")
        << message;
    EXPECT_EQ(error_of("name: demo\ncontents:\n  packages: [a1, b1, a1]\n"),
              "spec.yaml:3:22: contents.packages[2]: package 'a1' is listed twice (first at line 3)");
    EXPECT_EQ(error_of("name: demo\ncontents:\n  packages: [a1]\n  exclude: [a1]\n"),
              "spec.yaml:4:13: contents.exclude[0]: 'a1' is both in contents.packages and contents.exclude");
    message = error_of("name: demo\ncontents:\n  packages: [a1]\n  exclude: [b_1]\n");
    EXPECT_PRED2(starts_with, message, "spec.yaml:4:13: contents.exclude[0]: 'b_1' is not a valid Debian package name")
        << message;
}

TEST(ImageSpecErrors, InvalidArchitecture) {
    EXPECT_EQ(error_of(with_minimal("archs: [amd64, x86_64]\n")),
              "spec.yaml:4:16: archs[1]: 'x86_64' is not a supported architecture; Debian calls it 'amd64'. "
              "Supported: amd64, arm64, armhf, i386, ppc64el, s390x, riscv64, armel, mips64el");
    EXPECT_EQ(error_of(with_minimal("archs:\n  - arm46\n")),
              "spec.yaml:5:5: archs[0]: 'arm46' is not a supported architecture; did you mean 'arm64'? "
              "Supported: amd64, arm64, armhf, i386, ppc64el, s390x, riscv64, armel, mips64el");
    EXPECT_EQ(error_of(with_minimal("archs: [amd64, amd64]\n")),
              "spec.yaml:4:16: archs[1]: architecture 'amd64' is listed twice (first at line 4)");
    EXPECT_EQ(error_of(with_minimal("archs: []\n")), "spec.yaml:4:8: archs: must list at least one architecture");
}

TEST(ImageSpecErrors, InvalidPathsAndNames) {
    EXPECT_EQ(error_of(with_minimal("work-dir: app\n")), "spec.yaml:4:11: work-dir: must be an absolute path, got 'app'");
    EXPECT_EQ(error_of(with_minimal("paths:\n  - {path: /a/../../etc, type: directory}\n")),
              "spec.yaml:5:12: paths[0].path: '/a/../../etc' must not contain '..'");
    EXPECT_EQ(error_of(with_minimal("paths:\n  - {path: /a, type: dir}\n")),
              "spec.yaml:5:22: paths[0].type: unknown path type 'dir'. Allowed: directory, file, symlink, permissions.");
    EXPECT_EQ(error_of(with_minimal("paths:\n  - {path: /a, type: fiel}\n")),
              "spec.yaml:5:22: paths[0].type: unknown path type 'fiel'; did you mean 'file'? "
              "Allowed: directory, file, symlink, permissions.");
    EXPECT_EQ(error_of(with_minimal("paths:\n  - {path: /a, type: directory, content: x}\n")),
              "spec.yaml:5:42: paths[0].content: 'content' does not apply to a path of type directory");
    EXPECT_PRED2(starts_with, error_of(with_minimal("paths-exclude: [usr/share/doc]\n")),
              "spec.yaml:4:17: paths-exclude[0]: 'usr/share/doc' must be an absolute glob");
    EXPECT_PRED2(starts_with, error_of("name: My_Image\ncontents: {packages: [a1]}\n"),
              "spec.yaml:1:7: name: 'My_Image' is not a valid image name");
    EXPECT_PRED2(starts_with, error_of(with_minimal("archive:\n  mirror: ftp.example/debian\n")),
              "spec.yaml:5:11: archive.mirror: 'ftp.example/debian' is not a mirror URL");
    EXPECT_EQ(error_of(with_minimal("archive:\n  components: []\n")),
              "spec.yaml:5:15: archive.components: must list at least one component");
}

TEST(ImageSpecErrors, BadOctalPermissions) {
    std::string prefix = with_minimal("paths:\n  - path: /x\n    type: file\n    permissions: ");
    EXPECT_EQ(error_of(prefix + "0o789\n"), "spec.yaml:7:18: paths[0].permissions: '0o789' is not octal permissions");
    EXPECT_EQ(error_of(prefix + "rwxr-xr-x\n"),
              "spec.yaml:7:18: paths[0].permissions: 'rwxr-xr-x' is not octal permissions");
    EXPECT_EQ(error_of(prefix + "755\n"),
              "spec.yaml:7:18: paths[0].permissions: 755 is ambiguous: YAML reads it as a decimal number");
    EXPECT_EQ(error_of(prefix + "0o17777\n"), "spec.yaml:7:18: paths[0].permissions: '0o17777' is more than 0o7777");
}

TEST(ImageSpecErrors, DuplicateAccounts) {
    std::string users = with_minimal("accounts:\n  users:\n    - {username: app, uid: 10}\n");
    EXPECT_EQ(error_of(users + "    - {username: app, uid: 11}\n"),
              "spec.yaml:7:18: accounts.users[1].username: username 'app' is listed twice (first at line 6)");
    EXPECT_EQ(error_of(users + "    - {username: web, uid: 10}\n"),
              "spec.yaml:7:28: accounts.users[1].uid: uid '10' is listed twice (first at line 6)");
    std::string groups = with_minimal("accounts:\n  groups:\n    - {groupname: g, gid: 5}\n");
    EXPECT_EQ(error_of(groups + "    - {groupname: h, gid: 5}\n"),
              "spec.yaml:7:27: accounts.groups[1].gid: gid '5' is listed twice (first at line 6)");
    EXPECT_PRED2(starts_with, error_of(with_minimal("accounts:\n  users:\n    - {username: Admin, uid: 1}\n")),
              "spec.yaml:6:18: accounts.users[0].username: 'Admin' is not a valid username");
}

TEST(ImageSpecErrors, RunAsMustBeDeclaredOrNumeric) {
    std::string users = with_minimal("accounts:\n  users:\n    - {username: nonroot, uid: 65532}\n");
    EXPECT_EQ(parse_image_spec(users + "  run-as: nonroot\n", "s").accounts.run_as, "nonroot");
    EXPECT_EQ(parse_image_spec(users + "  run-as: 65532\n", "s").accounts.run_as, "65532");
    EXPECT_EQ(parse_image_spec(users + "  run-as: '65532:65532'\n", "s").accounts.run_as, "65532:65532");
    EXPECT_EQ(parse_image_spec(users + "  run-as: root\n", "s").accounts.run_as, "root");
    EXPECT_EQ(error_of(users + "  run-as: nonrot\n"),
              "spec.yaml:7:11: accounts.run-as: 'nonrot' is not a user declared under accounts.users; "
              "did you mean 'nonroot'?");
}

TEST(ImageSpecErrors, TestCommands) {
    std::string prefix = with_minimal("test:\n  commands:\n    - name: t\n      command: /bin/true\n");
    EXPECT_EQ(parse_image_spec(prefix, "s").test.commands.at(0).command, "/bin/true");
    EXPECT_EQ(error_of(prefix + "      expect-exit: 256\n"),
              "spec.yaml:8:20: test.commands[0].expect-exit: must be between 0 and 255, got 256");
    std::string message = error_of(prefix + "      expect-output: '(unclosed'\n");
    EXPECT_PRED2(starts_with, message,
                 "spec.yaml:8:22: test.commands[0].expect-output: '(unclosed' is not a valid regular expression");
    EXPECT_EQ(error_of(prefix + "    - {name: t, command: x}\n"),
              "spec.yaml:8:14: test.commands[1].name: test name 't' is listed twice (first at line 6)");
    EXPECT_EQ(error_of(with_minimal("layering: {strategy: orign}\n")),
              "spec.yaml:4:22: layering.strategy: unknown strategy 'orign'; did you mean 'origin'? "
              "Allowed: single, origin.");
    EXPECT_EQ(error_of(with_minimal("layering: {budget: 0}\n")),
              "spec.yaml:4:20: layering.budget: must be between 1 and 127, got 0");
}

TEST(ImageSpec, TheDocumentedExampleParses) {
    // The first ```yaml block of docs/image-spec.md must stay a valid spec.
    std::string doc = util::read_file(test::source_dir() / "docs" / "image-spec.md");
    std::size_t start = doc.find("```yaml\n");
    ASSERT_NE(start, std::string::npos);
    start += 8;
    std::size_t end = doc.find("```", start);
    ASSERT_NE(end, std::string::npos);
    ImageSpec spec = parse_image_spec(doc.substr(start, end - start), "docs/image-spec.md");
    EXPECT_EQ(spec.name, "hello-python");
    EXPECT_EQ(spec.entrypoint, (Strings{"/usr/bin/python3"}));
    EXPECT_EQ(spec.cmd, (Strings{"/app/main.py", "--port", "8080"}));
    EXPECT_EQ(spec.paths.at(1).content, "print(\"hello\")\n");
    EXPECT_EQ(spec.paths_exclude.at(1), "!/usr/share/doc/*/copyright");
}

// ------------------------------------------------------------------ the image catalog

TEST(ImageCatalog, EveryImageSpecLoads) {
    fs::path dir = test::source_dir() / "images";
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    ASSERT_GE(files.size(), 6u);
    for (const fs::path& file : files) {
        SCOPED_TRACE(file.string());
        ImageSpec spec;
        ASSERT_NO_THROW(spec = load_image_spec(file)) << [&] {
            try {
                load_image_spec(file);
            } catch (const Error& e) {
                return e.describe();
            }
            return std::string{};
        }();
        // The catalog's conventions: named after the file, both main architectures,
        // the distroless nonroot user, the mirror from the host's apt sources.
        EXPECT_EQ(spec.name, file.stem().string());
        EXPECT_EQ(spec.archs, (Strings{"amd64", "arm64"}));
        EXPECT_EQ(spec.accounts.run_as, "65532");
        ASSERT_FALSE(spec.accounts.users.empty());
        EXPECT_EQ(spec.accounts.users[0].uid, 65532u);
        EXPECT_EQ(spec.archive.mirror, "");
        EXPECT_FALSE(spec.paths_exclude.empty());
        EXPECT_FALSE(spec.annotations.empty());
        EXPECT_FALSE(spec.description.empty());
    }
}

}  // namespace
}  // namespace slate::build
