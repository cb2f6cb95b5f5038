#include <gtest/gtest.h>

#include "slate/sbom/purl.hpp"

// Expected strings are the "build" cases of the purl specification's own
// test suite (package-url/purl-spec tests/types/*-test.json), plus Debian
// versions as slate meets them.

namespace slate::sbom {
namespace {

TEST(Purl, DebFromSpecificationSuite) {
    EXPECT_EQ(deb_purl("curl", "7.50.3-1", "i386", "jessie", ""),
              "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie");
    EXPECT_EQ(deb_purl("dpkg", "1.19.0.4", "amd64", "stretch", ""),
              "pkg:deb/debian/dpkg@1.19.0.4?arch=amd64&distro=stretch");
    EXPECT_EQ(deb_purl("dpkg", "1.19.0.4", "amd64", "", "", "ubuntu"), "pkg:deb/ubuntu/dpkg@1.19.0.4?arch=amd64");
    // An epoch's ':' is never encoded (ECMA-427: "the colon ':' ... MUST NOT
    // be percent-encoded"); '+' is.
    EXPECT_EQ(deb_purl("attr", "1:2.4.47-2", "source", "", ""), "pkg:deb/debian/attr@1:2.4.47-2?arch=source");
    EXPECT_EQ(deb_purl("attr", "1:2.4.47-2+b1", "amd64", "", ""), "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64");
}

TEST(Purl, DebQualifiersAreSortedAndEncoded) {
    // Qualifiers come out sorted by key whatever the argument order, and the
    // upstream "source@version" encodes its '@'.
    EXPECT_EQ(deb_purl("bsdutils", "1:2.38.1-5+b1", "amd64", "debian-12", "util-linux@2.38.1-5"),
              "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5");
    EXPECT_EQ(deb_purl("libssl3", "3.0.11-1~deb12u2", "amd64", "debian-12", "openssl"),
              "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl");
    // Debian names may hold '+', which is encoded like any other character outside ".-_~".
    EXPECT_EQ(deb_purl("libstdc++6", "12.2.0-14", "amd64", "debian-12", "gcc-12"),
              "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12");
    // Empty qualifier values are left out, and no '?' is written without any.
    EXPECT_EQ(deb_purl("tzdata", "2024a-0+deb12u1", "", "", ""), "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1");
}

TEST(Purl, PercentEncoding) {
    EXPECT_EQ(purl_encode("a-Z_0.9~"), "a-Z_0.9~");
    EXPECT_EQ(purl_encode("1:2"), "1:2");
    EXPECT_EQ(purl_encode("a b+c@d/e?f#g&h=i%"), "a%20b%2Bc%40d%2Fe%3Ff%23g%26h%3Di%25");
    EXPECT_EQ(purl_encode("git://host/p", true), "git://host/p");
    // UTF-8 bytes, uppercase hex.
    EXPECT_EQ(purl_encode("\xc3\xa9"), "%C3%A9");
}

TEST(Purl, PythonNamesAreNormalised) {
    EXPECT_EQ(python_purl("My.PyPI_.--._Package", "1.11.1.dev1"), "pkg:pypi/my-pypi-package@1.11.1.dev1");
    EXPECT_EQ(python_purl("django", "1.11.1"), "pkg:pypi/django@1.11.1");
    EXPECT_EQ(python_purl("django-allauth", "12.23"), "pkg:pypi/django-allauth@12.23");
    EXPECT_EQ(python_purl("typing_extensions", "4.4.0"), "pkg:pypi/typing-extensions@4.4.0");
}

TEST(Purl, NpmScopesAreNamespaces) {
    EXPECT_EQ(npm_purl("@angular/animation", "12.3.1"), "pkg:npm/%40angular/animation@12.3.1");
    EXPECT_EQ(npm_purl("foobar", "12.3.1"), "pkg:npm/foobar@12.3.1");
    EXPECT_EQ(npm_purl("LoDash", "4.17.21"), "pkg:npm/lodash@4.17.21");
    EXPECT_EQ(npm_purl("@MyScope/MyPackage", "1.0.0"), "pkg:npm/%40myscope/mypackage@1.0.0");
    EXPECT_EQ(npm_purl("foobar", "1.2.3-alpha.1+build.456"), "pkg:npm/foobar@1.2.3-alpha.1%2Bbuild.456");
}

TEST(Purl, GolangKeepsThePath) {
    EXPECT_EQ(golang_purl("github.com/gorilla/context", "234fd47e07d1004f0aed9c"),
              "pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c");
    EXPECT_EQ(golang_purl("github.com/BurntSushi/toml", "v1.2.1"), "pkg:golang/github.com/BurntSushi/toml@v1.2.1");
    EXPECT_EQ(golang_purl("github.com/docker/docker", "v20.10.24+incompatible"),
              "pkg:golang/github.com/docker/docker@v20.10.24%2Bincompatible");
    EXPECT_EQ(golang_purl("golang.org/x/crypto", ""), "pkg:golang/golang.org/x/crypto");
}

TEST(Purl, Maven) {
    EXPECT_EQ(maven_purl("org.apache.commons", "io", "1.3.4"), "pkg:maven/org.apache.commons/io@1.3.4");
    EXPECT_EQ(maven_purl("org.apache.xmlgraphics", "batik-anim", "1.9.1"),
              "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1");
}

}  // namespace
}  // namespace slate::sbom
