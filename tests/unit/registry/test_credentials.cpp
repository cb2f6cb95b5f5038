#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "slate/error.hpp"
#include "slate/registry/credentials.hpp"
#include "slate/util/fs.hpp"
#include "support/paths.hpp"

namespace slate::registry {
namespace {
namespace fs = std::filesystem;
using Json = nlohmann::json;

unsigned mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

// Every part of an error a person could see.
std::string all_text(const Error& e) { return std::string(e.what()) + "\n" + e.describe() + "\n" + e.hint(); }

// Runs `f`, expects a slate::Error with `code`, and returns its text.
template <typename F>
std::string error_text(F&& f, ErrorCode code) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.describe();
        return all_text(e);
    }
    ADD_FAILURE() << "no error thrown";
    return {};
}

// ------------------------------------------------------------------ base64

TEST(Base64, Rfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(plain), encoded);
        EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain)) << encoded;
    }
}

TEST(Base64, UnpaddedLineBrokenAndBinary) {
    EXPECT_EQ(base64_decode("Zg"), std::optional<std::string>("f"));
    EXPECT_EQ(base64_decode("Zm8"), std::optional<std::string>("fo"));
    EXPECT_EQ(base64_decode("Zm9v\nYmFy\r\n"), std::optional<std::string>("foobar"));
    std::string binary;
    for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
    for (std::size_t len = 0; len < binary.size(); len += 37) {
        std::string piece = binary.substr(len);
        EXPECT_EQ(base64_decode(base64_encode(piece)), std::optional<std::string>(piece));
    }
}

TEST(Base64, RejectsMalformedInput) {
    for (const char* bad : {"Z", "Zm9v!", "Zm=9v", "Zg===", "Z===", "Zm 9v", "====", "Zm9vY"})
        EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
}

// ------------------------------------------------------------ config path

TEST(DockerConfigPath, DockerConfigThenHome) {
    EXPECT_EQ(docker_config_path("/etc/dc", "/home/u"), fs::path("/etc/dc/config.json"));
    EXPECT_EQ(docker_config_path("", "/home/u"), fs::path("/home/u/.docker/config.json"));
    EXPECT_EQ(docker_config_path(nullptr, "/home/u"), fs::path("/home/u/.docker/config.json"));
    error_text([] { docker_config_path(nullptr, nullptr); }, ErrorCode::Config);
}

TEST(CredentialServerUrl, DockerHubUsesItsLegacyKey) {
    EXPECT_EQ(credential_server_url("docker.io"), "https://index.docker.io/v1/");
    EXPECT_EQ(credential_server_url("index.docker.io"), "https://index.docker.io/v1/");
    EXPECT_EQ(credential_server_url("localhost:5000"), "localhost:5000");
}

// ------------------------------------------------------------ auths in the file

class CredentialFile : public ::testing::Test {
protected:
    test::TempDir dir;
    fs::path config = dir.path() / "docker" / "config.json";
    void write(const std::string& text) { util::write_file_atomic(config, text, 0600); }
    Json read() const { return Json::parse(util::read_file(config)); }
};

TEST_F(CredentialFile, MissingFileHoldsNothing) {
    CredentialStore store(config);
    EXPECT_EQ(store.path(), config);
    EXPECT_EQ(store.lookup("ghcr.io"), std::nullopt);
    EXPECT_FALSE(store.erase("ghcr.io"));
    EXPECT_FALSE(fs::exists(config));
    write("");  // Docker treats an empty file as an empty config
    EXPECT_EQ(store.lookup("ghcr.io"), std::nullopt);
}

TEST_F(CredentialFile, ReadsAuthUsernamePasswordAndIdentityToken) {
    write(R"({"auths": {
        "localhost:5000": {"auth": ")" + base64_encode("alice:pa:ss") + R"("},
        "https://registry.example:8443/v1/": {"username": "bob", "password": "hunter2"},
        "ghcr.io": {"auth": ")" + base64_encode("carol:x") + R"(", "identitytoken": "refresh-1"},
        "empty.example": {}
    }})");
    CredentialStore store(config);
    // The auth value splits on the FIRST ':'.
    EXPECT_EQ(store.lookup("localhost:5000"), (Credentials{"alice", "pa:ss", ""}));
    // Keys with a scheme and a path match on host:port.
    EXPECT_EQ(store.lookup("registry.example:8443"), (Credentials{"bob", "hunter2", ""}));
    EXPECT_EQ(store.lookup("registry.example"), std::nullopt);
    EXPECT_EQ(store.lookup("ghcr.io"), (Credentials{"carol", "x", "refresh-1"}));
    EXPECT_EQ(store.lookup("empty.example"), std::nullopt);
    EXPECT_EQ(store.lookup("LOCALHOST:5000"), (Credentials{"alice", "pa:ss", ""}));
}

TEST_F(CredentialFile, DockerHubMatchesEachOfItsKeys) {
    for (const char* key : {"https://index.docker.io/v1/", "index.docker.io", "docker.io"}) {
        SCOPED_TRACE(key);
        write(std::string(R"({"auths": {")") + key + R"(": {"auth": ")" + base64_encode("hub:pw") + R"("}}})");
        CredentialStore store(config);
        EXPECT_EQ(store.lookup("docker.io"), (Credentials{"hub", "pw", ""}));
        EXPECT_EQ(store.lookup("index.docker.io"), (Credentials{"hub", "pw", ""}));
    }
    // Docker's own key wins over the others.
    write(R"({"auths": {"docker.io": {"auth": ")" + base64_encode("b:2") + R"("},
                        "https://index.docker.io/v1/": {"auth": ")" + base64_encode("a:1") + R"("}}})");
    EXPECT_EQ(CredentialStore(config).lookup("docker.io"), (Credentials{"a", "1", ""}));
}

TEST_F(CredentialFile, StoreCreatesPrivateFileAndDirectory) {
    CredentialStore store(config);
    store.store("localhost:5000", {"alice", "s3cret", ""});
    EXPECT_EQ(mode_of(config), 0600u);
    EXPECT_EQ(mode_of(config.parent_path()), 0700u);
    Json json = read();
    EXPECT_EQ(json["auths"]["localhost:5000"], (Json{{"auth", base64_encode("alice:s3cret")}}));
    EXPECT_EQ(store.lookup("localhost:5000"), (Credentials{"alice", "s3cret", ""}));

    store.store("docker.io", {"", "", "refresh-token"});
    json = read();
    EXPECT_EQ(json["auths"]["https://index.docker.io/v1/"], (Json{{"identitytoken", "refresh-token"}}));
    EXPECT_EQ(store.lookup("docker.io"), (Credentials{"", "", "refresh-token"}));
    // No temporary file is left behind.
    EXPECT_EQ(std::distance(fs::directory_iterator(config.parent_path()), fs::directory_iterator()), 1);
}

TEST_F(CredentialFile, StoreAndErasePreserveEveryOtherKey) {
    const std::string original = R"({
        "auths": {
            "localhost:5000": {"auth": ")" + base64_encode("old:old") + R"(", "email": "me@example.invalid"},
            "other.example": {"auth": ")" + base64_encode("o:p") + R"("}
        },
        "psFormat": "table {{.ID}}",
        "plugins": {"buildx": {"enabled": true}, "list": [1, 2, 3]},
        "credHelpers": {"helped.example": "slatetest-absent"}
    })";
    write(original);
    ::chmod(config.c_str(), 0644);
    CredentialStore store(config);
    store.store("localhost:5000", {"new", "pw", ""});
    Json after = read();
    Json expected = Json::parse(original);
    expected["auths"]["localhost:5000"] = {{"auth", base64_encode("new:pw")}, {"email", "me@example.invalid"}};
    EXPECT_EQ(after, expected);
    EXPECT_EQ(mode_of(config), 0600u);
    // The file keeps its key order: "auths" is still first.
    EXPECT_EQ(util::read_file(config).find("\"auths\""), util::read_file(config).find('"'));

    EXPECT_TRUE(store.erase("localhost:5000"));
    expected["auths"].erase("localhost:5000");
    EXPECT_EQ(read(), expected);
    EXPECT_FALSE(store.erase("localhost:5000"));
    EXPECT_EQ(store.lookup("localhost:5000"), std::nullopt);
    EXPECT_EQ(store.lookup("other.example"), (Credentials{"o", "p", ""}));
}

TEST_F(CredentialFile, EraseRemovesEveryKeyForTheHost) {
    write(R"({"auths": {"https://h.example:5000/v1/": {"auth": ")" + base64_encode("a:b") +
          R"("}, "h.example:5000": {"auth": ")" + base64_encode("c:d") + R"("}, "h.example": {"auth": ")" +
          base64_encode("e:f") + R"("}}})");
    CredentialStore store(config);
    EXPECT_TRUE(store.erase("h.example:5000"));
    EXPECT_EQ(read()["auths"], (Json{{"h.example", {{"auth", base64_encode("e:f")}}}}));
}

TEST_F(CredentialFile, StoreThroughSymlinkKeepsTheLink) {
    fs::path real = dir.path() / "dotfiles" / "docker-config.json";
    util::write_file_atomic(real, R"({"auths": {}})");
    fs::create_directories(config.parent_path());
    fs::create_symlink(real, config);
    CredentialStore(config).store("ghcr.io", {"u", "p", ""});
    EXPECT_TRUE(fs::is_symlink(config));
    EXPECT_EQ(Json::parse(util::read_file(real))["auths"]["ghcr.io"]["auth"], base64_encode("u:p"));
}

TEST_F(CredentialFile, StoringNothingIsAUsageError) {
    CredentialStore store(config);
    error_text([&] { store.store("ghcr.io", {}); }, ErrorCode::Usage);
    EXPECT_FALSE(fs::exists(config));
}

TEST_F(CredentialFile, MalformedFilesAreParseErrorsWithoutSecrets) {
    const std::string secret = "sup3r-secret-password";
    const std::string auth = base64_encode("alice:" + secret);
    // `broken_file`: the file as a whole is unusable, so store() refuses it
    // too (a bad entry, by contrast, is simply replaced by a new login).
    struct Case {
        std::string text, expect;
        bool broken_file;
    };
    const Case cases[] = {
        {R"({"auths": {"r.example": {"auth": ")" + auth + R"("}} trailing )" + secret, "not valid JSON", true},
        {R"({"auths": {"r.example": {"auth": ")" + auth + R"(" )" + secret + "}}", "not valid JSON", true},
        {"[\"" + auth + "\"]", "not a JSON object", true},
        {R"({"auths": [")" + auth + R"("]})", "\"auths\" is not a JSON object", true},
        {R"({"credsStore": 1})", "\"credsStore\" is not a string", true},
        {R"({"auths": {"r.example": {"auth": "@@)" + secret + R"(@@"}}})", "\"r.example\" is not valid base64", false},
        {R"({"auths": {"r.example": {"auth": ")" + base64_encode("no-colon-" + secret) + R"("}}})", "user:password", false},
        {R"({"auths": {"r.example": {"password": 42}}})", "password is not a string", false},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        write(c.text);
        CredentialStore store(config);
        std::string text = error_text([&] { store.lookup("r.example"); }, ErrorCode::Parse);
        EXPECT_NE(text.find(c.expect), std::string::npos) << text;
        EXPECT_NE(text.find(config.string()), std::string::npos) << text;
        EXPECT_EQ(text.find(secret), std::string::npos) << text;
        EXPECT_EQ(text.find(auth), std::string::npos) << text;
        EXPECT_EQ(text.find(auth.substr(0, 12)), std::string::npos) << text;
        if (!c.broken_file) continue;
        // A store into a broken file fails the same way and leaves it as it was.
        text = error_text([&] { store.store("r.example", {"u", secret, ""}); }, ErrorCode::Parse);
        EXPECT_EQ(text.find(secret), std::string::npos) << text;
        EXPECT_EQ(util::read_file(config), c.text);
    }
}

// ------------------------------------------------------------ credential helpers

// A fake docker-credential-slatetest that follows the helper protocol and
// records every call next to itself.
constexpr const char* HelperScript = R"(#!/bin/sh
dir=$(dirname "$0")
input=$(cat)
printf '%s %s\n' "$1" "$input" >> "$dir/calls.log"
case "$1" in
get)
  case "$input" in
    localhost:5000) printf '{"ServerURL":"%s","Username":"alice","Secret":"helper-secret-1"}\n' "$input" ;;
    https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-token-9"}' "$input" ;;
    garbage.example) printf 'Secret: helper-secret-2 (not json)' ;;
    broken.example) echo "the keyring is locked" >&2; exit 3 ;;
    slow.example) exec sleep 10 ;;
    *) echo "credentials not found in native keychain"; exit 1 ;;
  esac ;;
store)
  case "$input" in
    *echo.example*) echo "rejected input: $input" >&2; exit 1 ;;
  esac
  printf '%s' "$input" > "$dir/stored.json" ;;
erase)
  if [ "$input" = "localhost:5000" ]; then exit 0; fi
  echo "credentials not found in native keychain"; exit 1 ;;
esac
)";

class CredentialHelpers : public CredentialFile {
protected:
    fs::path bin = dir.path() / "bin";
    void SetUp() override {
        util::write_file_atomic(bin / "docker-credential-slatetest", HelperScript, 0755);
    }
    CredentialStore store(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
        return CredentialStore(config, {bin}, timeout);
    }
    std::string calls() const { return fs::exists(bin / "calls.log") ? util::read_file(bin / "calls.log") : ""; }
};

TEST_F(CredentialHelpers, CredHelpersGetWithServerUrlOnStdin) {
    write(R"({"credHelpers": {"localhost:5000": "slatetest"},
              "auths": {"localhost:5000": {"auth": ")" + base64_encode("file:user") + R"("}}})");
    EXPECT_EQ(store().lookup("localhost:5000"), (Credentials{"alice", "helper-secret-1", ""}));
    EXPECT_EQ(calls(), "get localhost:5000\n");
    // A registry without a helper reads the file.
    EXPECT_EQ(store().lookup("ghcr.io"), std::nullopt);
    EXPECT_EQ(calls(), "get localhost:5000\n");
}

TEST_F(CredentialHelpers, CredsStoreTokenNotFoundAndFallbackToAuths) {
    write(R"({"credsStore": "slatetest",
              "auths": {"fallback.example": {"auth": ")" + base64_encode("f:g") + R"("}}})");
    EXPECT_EQ(store().lookup("docker.io"), (Credentials{"", "", "refresh-token-9"}));
    EXPECT_EQ(store().lookup("unknown.example"), std::nullopt);
    EXPECT_EQ(store().lookup("fallback.example"), (Credentials{"f", "g", ""}));
    EXPECT_EQ(calls(), "get https://index.docker.io/v1/\nget unknown.example\nget fallback.example\n");
}

TEST_F(CredentialHelpers, CredHelpersOverrideCredsStore) {
    write(R"({"credsStore": "absent-helper", "credHelpers": {"https://localhost:5000": "slatetest"}})");
    EXPECT_EQ(store().lookup("localhost:5000"), (Credentials{"alice", "helper-secret-1", ""}));
}

TEST_F(CredentialHelpers, HelperFailures) {
    write(R"({"credsStore": "slatetest"})");
    std::string text = error_text([&] { store().lookup("garbage.example"); }, ErrorCode::Parse);
    EXPECT_NE(text.find("docker-credential-slatetest"), std::string::npos) << text;
    EXPECT_EQ(text.find("helper-secret-2"), std::string::npos) << text;

    text = error_text([&] { store().lookup("broken.example"); }, ErrorCode::Config);
    EXPECT_NE(text.find("the keyring is locked"), std::string::npos) << text;
    EXPECT_NE(text.find("exit 3"), std::string::npos) << text;

    text = error_text([&] { store(std::chrono::milliseconds(300)).lookup("slow.example"); }, ErrorCode::Config);
    EXPECT_NE(text.find("did not finish"), std::string::npos) << text;

    write(R"({"credsStore": "slatetest-not-installed"})");
    text = error_text([&] { store().lookup("ghcr.io"); }, ErrorCode::NotFound);
    EXPECT_NE(text.find("docker-credential-slatetest-not-installed is not installed"), std::string::npos) << text;
    EXPECT_NE(text.find("hint: install"), std::string::npos) << text;

    write(R"({"credsStore": "../bin/slatetest"})");
    error_text([&] { store().lookup("ghcr.io"); }, ErrorCode::Config);
}

TEST_F(CredentialHelpers, StoreSendsJsonToTheHelper) {
    write(R"({"credsStore": "slatetest", "auths": {}})");
    store().store("localhost:5000", {"alice", "pw-1", ""});
    EXPECT_EQ(Json::parse(util::read_file(bin / "stored.json")),
              (Json{{"ServerURL", "localhost:5000"}, {"Username", "alice"}, {"Secret", "pw-1"}}));
    store().store("docker.io", {"", "", "tok-2"});
    EXPECT_EQ(Json::parse(util::read_file(bin / "stored.json")),
              (Json{{"ServerURL", "https://index.docker.io/v1/"}, {"Username", "<token>"}, {"Secret", "tok-2"}}));
    // The secret went to the helper, not into the file.
    EXPECT_EQ(util::read_file(config).find("pw-1"), std::string::npos);
    EXPECT_EQ(read(), (Json{{"credsStore", "slatetest"}, {"auths", Json::object()}}));
}

TEST_F(CredentialHelpers, StoreFailureNeverShowsTheSecret) {
    write(R"({"credsStore": "slatetest"})");
    std::string text = error_text([&] { store().store("echo.example", {"alice", "pw-echoed-7", ""}); }, ErrorCode::Config);
    EXPECT_NE(text.find("rejected input"), std::string::npos) << text;
    EXPECT_EQ(text.find("pw-echoed-7"), std::string::npos) << text;
}

TEST_F(CredentialHelpers, EraseThroughTheHelper) {
    write(R"({"credsStore": "slatetest", "auths": {"localhost:5000": {}, "keep.example": {}}})");
    EXPECT_TRUE(store().erase("localhost:5000"));
    EXPECT_EQ(read()["auths"], (Json{{"keep.example", Json::object()}}));  // the file's entry goes too
    EXPECT_FALSE(store().erase("nothing.example"));
    EXPECT_EQ(calls(), "erase localhost:5000\nerase nothing.example\n");
}

// ------------------------------------------------------------ WWW-Authenticate

TEST(WwwAuthenticate, BearerWithCommasInQuotedValues) {
    auto challenges = parse_www_authenticate(
        R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
    ASSERT_EQ(challenges.size(), 1u);
    EXPECT_EQ(challenges[0].scheme, "bearer");
    EXPECT_EQ(challenges[0].params,
              (std::map<std::string, std::string>{{"realm", "https://auth.example/token"},
                                                  {"service", "registry.example"},
                                                  {"scope", "repository:a/b:pull,push"}}));
}

TEST(WwwAuthenticate, BasicAndCaseInsensitiveNames) {
    auto challenges = parse_www_authenticate(R"(BASIC Realm="Registry Realm", Charset=UTF-8)");
    ASSERT_EQ(challenges.size(), 1u);
    EXPECT_EQ(challenges[0].scheme, "basic");
    EXPECT_EQ(challenges[0].params.at("realm"), "Registry Realm");
    EXPECT_EQ(challenges[0].params.at("charset"), "UTF-8");
}

TEST(WwwAuthenticate, SeveralChallengesAndToken68) {
    auto challenges = parse_www_authenticate(
        R"(Negotiate, Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple" ,Custom abc123==)");
    ASSERT_EQ(challenges.size(), 4u);
    EXPECT_EQ(challenges[0].scheme, "negotiate");
    EXPECT_TRUE(challenges[0].params.empty());
    EXPECT_EQ(challenges[1].scheme, "newauth");
    EXPECT_EQ(challenges[1].params,
              (std::map<std::string, std::string>{{"realm", "apps"}, {"type", "1"}, {"title", "Login to \"apps\""}}));
    EXPECT_EQ(challenges[2].scheme, "basic");
    EXPECT_EQ(challenges[2].params.at("realm"), "simple");
    EXPECT_EQ(challenges[3].scheme, "custom");
    EXPECT_EQ(challenges[3].token68, "abc123==");
    EXPECT_TRUE(challenges[3].params.empty());

    auto token = parse_www_authenticate("Negotiate YIIB+w/x=, Bearer realm=\"r\"");
    ASSERT_EQ(token.size(), 2u);
    EXPECT_EQ(token[0].token68, "YIIB+w/x=");
    EXPECT_EQ(token[1].params.at("realm"), "r");
}

TEST(WwwAuthenticate, SpacingEscapesAndMalformedPieces) {
    auto spaced = parse_www_authenticate("  Bearer   realm = \"a\\\\b\" ,  error=\"insufficient_scope\"  ");
    ASSERT_EQ(spaced.size(), 1u);
    EXPECT_EQ(spaced[0].params.at("realm"), "a\\b");
    EXPECT_EQ(spaced[0].params.at("error"), "insufficient_scope");

    EXPECT_TRUE(parse_www_authenticate("").empty());
    EXPECT_TRUE(parse_www_authenticate(" , ,").empty());
    // An unterminated quoted value runs to the end.
    auto open = parse_www_authenticate(R"(Bearer realm="https://a/t, service=x)");
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].params.at("realm"), "https://a/t, service=x");
    // Junk is skipped up to the next comma; later challenges still parse.
    auto junk = parse_www_authenticate(R"("oops", Basic realm="r")");
    ASSERT_EQ(junk.size(), 1u);
    EXPECT_EQ(junk[0].scheme, "basic");
    EXPECT_EQ(junk[0].params.at("realm"), "r");
}

}  // namespace
}  // namespace slate::registry
