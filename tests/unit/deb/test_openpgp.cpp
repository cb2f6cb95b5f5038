#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "slate/deb/openpgp.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "support/expect.hpp"
#include "support/fixture_archive.hpp"
#include "support/paths.hpp"

namespace slate::deb {
namespace {

using test::error_from;
namespace fs = std::filesystem;

fs::path dists(const std::string& suite) {
    const auto tree = suite == "fixture-security" ? "debian-security" : "debian";
    return test::fixture_archive() / tree / "dists" / suite;
}

std::string inrelease(const std::string& suite = "fixture") { return util::read_file(dists(suite) / "InRelease"); }
std::string release(const std::string& suite = "fixture") { return util::read_file(dists(suite) / "Release"); }
fs::path keyring() { return test::fixture_archive() / "keyring.gpg"; }
fs::path armored_keyring() { return test::fixture_archive() / "keyring.asc"; }
fs::path wrong_keyring() { return test::fixture_archive() / "wrong-keyring.gpg"; }

Error verify_error(const std::string& text, const std::vector<fs::path>& keyrings) {
    return error_from([&] { verify_clearsigned(text, keyrings, "fixture InRelease"); });
}

std::string archive_fingerprint() {
    static const std::string fpr = verify_clearsigned(inrelease(), {keyring()}, "fixture InRelease").fingerprints.at(0);
    return fpr;
}

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (m_old) ::setenv(m_name, m_old->c_str(), 1);
        else ::unsetenv(m_name);
    }

private:
    const char* m_name;
    std::optional<std::string> m_old;
};

TEST(VerifyClearsigned, GoodSignatureYieldsExactlyTheReleaseText) {
    for (const std::string suite : {"fixture", "fixture-updates", "fixture-security"}) {
        auto verified = verify_clearsigned(inrelease(suite), {keyring()}, suite + " InRelease");
        EXPECT_EQ(verified.signed_text, release(suite)) << suite;
        ASSERT_EQ(verified.fingerprints.size(), 1u) << suite;
        EXPECT_EQ(verified.fingerprints[0].size(), 40u);
        EXPECT_EQ(verified.fingerprints[0].find_first_not_of("0123456789ABCDEF"), std::string::npos);
    }
}

TEST(VerifyClearsigned, ArmoredKeyringIsAccepted) {
    auto verified = verify_clearsigned(inrelease(), {armored_keyring()}, "fixture InRelease");
    EXPECT_EQ(verified.signed_text, release());
    EXPECT_EQ(verified.fingerprints, std::vector<std::string>{archive_fingerprint()});
}

TEST(VerifyClearsigned, WhitespaceAroundTheBlockIsFine) {
    auto verified = verify_clearsigned("\n \n" + inrelease() + "\n\t\n", {keyring()}, "fixture InRelease");
    EXPECT_EQ(verified.signed_text, release());
}

TEST(VerifyClearsigned, WrongKeyringNamesTheSigningKey) {
    auto error = verify_error(inrelease(), {wrong_keyring()});
    EXPECT_EQ(error.code(), ErrorCode::Signature);
    EXPECT_NE(error.message().find(archive_fingerprint()), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("wrong-keyring.gpg"), std::string::npos) << error.message();
    EXPECT_NE(error.hint().find("debian-archive-keyring"), std::string::npos) << error.hint();
}

TEST(VerifyClearsigned, OneGoodSignatureAmongUnknownKeysIsEnough) {
    auto text = util::read_file(test::fixture_archive() / "two-signers.InRelease");
    auto verified = verify_clearsigned(text, {keyring()}, "two-signer InRelease");
    EXPECT_EQ(verified.signed_text, release());
    EXPECT_EQ(verified.fingerprints, std::vector<std::string>{archive_fingerprint()});

    auto both = verify_clearsigned(text, {wrong_keyring(), armored_keyring()}, "two-signer InRelease");
    EXPECT_EQ(both.fingerprints.size(), 2u);
    // The fingerprints tell which keys signed: here only the other key is trusted.
    auto other = verify_clearsigned(text, {wrong_keyring()}, "two-signer InRelease");
    ASSERT_EQ(other.fingerprints.size(), 1u);
    EXPECT_NE(other.fingerprints[0], archive_fingerprint());
}

TEST(VerifyClearsigned, ExpiredOrRevokedKeysAreRejected) {
    const auto archive = test::fixture_archive();
    auto expired = verify_error(util::read_file(archive / "expired-key.InRelease"), {archive / "expired-keyring.gpg"});
    EXPECT_EQ(expired.code(), ErrorCode::Signature);
    EXPECT_NE(expired.message().find("has expired"), std::string::npos) << expired.message();
    EXPECT_NE(expired.message().find("Slate Expired Key"), std::string::npos) << expired.message();

    auto revoked = verify_error(util::read_file(archive / "revoked-key.InRelease"), {archive / "revoked-keyring.gpg"});
    EXPECT_EQ(revoked.code(), ErrorCode::Signature);
    EXPECT_NE(revoked.message().find("revoked"), std::string::npos) << revoked.message();
}

TEST(VerifyClearsigned, OneChangedByteIsABadSignature) {
    auto text = inrelease();
    auto pos = text.find("Codename: fixture");
    ASSERT_NE(pos, std::string::npos);
    text[pos + 10] = 'F';  // "Codename: Fixture"
    auto error = verify_error(text, {keyring()});
    EXPECT_EQ(error.code(), ErrorCode::Signature);
    EXPECT_NE(error.message().find("BAD signature"), std::string::npos) << error.message();
}

TEST(VerifyClearsigned, UnsignedFileIsRejected) {
    auto error = verify_error(release(), {keyring()});
    EXPECT_EQ(error.code(), ErrorCode::Signature);
    EXPECT_NE(error.message().find("not signed"), std::string::npos) << error.message();
    // A detached signature's armor alone is not a signed message either.
    EXPECT_EQ(verify_error(util::read_file(dists("fixture") / "Release.gpg"), {keyring()}).code(), ErrorCode::Signature);
}

TEST(VerifyClearsigned, UnsignedTextAroundTheBlockIsRejected) {
    // The classic attack: a valid block plus unsigned stanzas a naive parser would read.
    auto before = verify_error("Package: evil\nVersion: 1\n\n" + inrelease(), {keyring()});
    EXPECT_EQ(before.code(), ErrorCode::Signature);
    EXPECT_NE(before.message().find("before the signed block (line 1)"), std::string::npos) << before.message();

    auto after = verify_error(inrelease() + "\nPackage: evil\n", {keyring()});
    EXPECT_EQ(after.code(), ErrorCode::Signature);
    EXPECT_NE(after.message().find("after the signature"), std::string::npos) << after.message();

    auto twice = verify_error(inrelease() + inrelease("fixture-updates"), {keyring()});
    EXPECT_EQ(twice.code(), ErrorCode::Signature);
    EXPECT_NE(twice.message().find("more than one signed block"), std::string::npos) << twice.message();
}

TEST(VerifyClearsigned, MissingKeyringIsNotFound) {
    test::TempDir dir;
    auto missing = dir.path() / "no-such-keyring.gpg";
    auto error = verify_error(inrelease(), {keyring(), missing});
    EXPECT_EQ(error.code(), ErrorCode::NotFound);
    EXPECT_NE(error.message().find(missing.string()), std::string::npos) << error.message();
    EXPECT_EQ(verify_error(inrelease(), {}).code(), ErrorCode::Signature) << "no keyring at all";
}

TEST(VerifyClearsigned, CorruptArmoredKeyringIsAParseError) {
    auto armored = util::read_file(armored_keyring());
    // Flip one character of the first base64 line after the blank line that ends the headers.
    auto pos = armored.find("\n\n");
    ASSERT_NE(pos, std::string::npos);
    pos += 2;
    armored[pos] = armored[pos] == 'A' ? 'B' : 'A';
    test::TempDir dir;
    util::write_file_atomic(dir.path() / "corrupt.asc", armored);
    auto error = verify_error(inrelease(), {dir.path() / "corrupt.asc"});
    EXPECT_EQ(error.code(), ErrorCode::Parse);
    EXPECT_NE(error.message().find("corrupt.asc"), std::string::npos) << error.message();
}

TEST(VerifyClearsigned, LeavesNoTemporaryFilesAndNeverTouchesTheUsersGnupgHome) {
    const auto text = inrelease();
    const auto expected = release();
    test::TempDir scratch;
    fs::create_directories(scratch.path() / "tmp");
    fs::create_directories(scratch.path() / "home");
    ScopedEnv tmpdir("TMPDIR", (scratch.path() / "tmp").string());
    ScopedEnv home("HOME", (scratch.path() / "home").string());
    ScopedEnv gnupghome("GNUPGHOME", (scratch.path() / "home/.gnupg").string());

    EXPECT_EQ(verify_clearsigned(text, {armored_keyring()}, "fixture InRelease").signed_text, expected);
    EXPECT_EQ(verify_error(text, {wrong_keyring()}).code(), ErrorCode::Signature);
    EXPECT_TRUE(fs::is_empty(scratch.path() / "tmp"));
    EXPECT_TRUE(fs::is_empty(scratch.path() / "home"));
}

TEST(StripClearsign, ReturnsWhatGpgvWouldOutput) {
    for (const std::string suite : {"fixture", "fixture-security"}) EXPECT_EQ(strip_clearsign(inrelease(suite)), release(suite));

    // Dash-escaping is undone and trailing blanks (not covered by signatures) are dropped.
    const std::string message =
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"
        "- -----BEGIN PGP SIGNED MESSAGE-----\nOrigin: Debian  \n- - dash\n\nlast\t\n"
        "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
    EXPECT_EQ(strip_clearsign(message), "-----BEGIN PGP SIGNED MESSAGE-----\nOrigin: Debian\n- dash\n\nlast\n");
}

TEST(StripClearsign, StillRejectsMalformedBlocks) {
    EXPECT_EQ(error_from([] { strip_clearsign("Origin: Debian\n"); }).code(), ErrorCode::Parse);
    EXPECT_EQ(error_from([] { strip_clearsign(inrelease() + "Package: evil\n"); }).code(), ErrorCode::Parse);
    const std::string nested =
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\n"
        "-----BEGIN PGP SIGNED MESSAGE-----\n"
        "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
    auto error = error_from([&] { strip_clearsign(nested); });
    EXPECT_EQ(error.code(), ErrorCode::Parse);
    EXPECT_NE(error.message().find("line 5"), std::string::npos) << error.message();
    const std::string bad_header =
        "-----BEGIN PGP SIGNED MESSAGE-----\nComment: hi\n\nOrigin: Debian\n"
        "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
    EXPECT_EQ(error_from([&] { strip_clearsign(bad_header); }).code(), ErrorCode::Parse);
}

}  // namespace
}  // namespace slate::deb
