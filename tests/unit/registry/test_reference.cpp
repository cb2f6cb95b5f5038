#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "slate/error.hpp"
#include "slate/registry/reference.hpp"
#include "support/paths.hpp"

namespace slate::registry {
namespace {

const std::string Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string Digest = "sha256:" + Hex;

struct Parsed {
    const char* text;
    const char* registry;
    const char* repository;
    const char* tag;
    std::string digest;
};

TEST(ParseReference, DockerExamples) {
    const Parsed cases[] = {
        {"python", "docker.io", "library/python", "latest", ""},
        {"python:3.11-slim", "docker.io", "library/python", "3.11-slim", ""},
        {"library/python", "docker.io", "library/python", "latest", ""},
        {"docker.io/python", "docker.io", "library/python", "latest", ""},
        {"index.docker.io/python:3", "docker.io", "library/python", "3", ""},
        {"docker.io/me/app", "docker.io", "me/app", "latest", ""},
        {"me/app:v1", "docker.io", "me/app", "v1", ""},
        {"a/b/c/d", "docker.io", "a/b/c/d", "latest", ""},
        {"ghcr.io/owner/image:1.0", "ghcr.io", "owner/image", "1.0", ""},
        {"GHCR.io/owner/image", "ghcr.io", "owner/image", "latest", ""},
        {"localhost/app", "localhost", "app", "latest", ""},
        {"localhost/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "localhost", "app", "",
         Digest},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        Reference ref = parse_reference(c.text);
        EXPECT_EQ(ref.registry, c.registry);
        EXPECT_EQ(ref.repository, c.repository);
        EXPECT_EQ(ref.tag, c.tag);
        EXPECT_EQ(ref.digest, c.digest);
    }
}

TEST(ParseReference, RegistryWithPortTagAndDigest) {
    Reference ref = parse_reference("localhost:5000/a/b:tag@" + Digest);
    EXPECT_EQ(ref.registry, "localhost:5000");
    EXPECT_EQ(ref.repository, "a/b");
    EXPECT_EQ(ref.tag, "tag");
    EXPECT_EQ(ref.digest, Digest);
    EXPECT_EQ(ref.name(), "localhost:5000/a/b");
    EXPECT_EQ(ref.identifier(), Digest);
    EXPECT_EQ(ref.to_string(), "localhost:5000/a/b:tag@" + Digest);
}

TEST(ParseReference, DigestOnlyHasNoTag) {
    Reference ref = parse_reference("python@" + Digest);
    EXPECT_EQ(ref.to_string(), "docker.io/library/python@" + Digest);
    EXPECT_TRUE(ref.tag.empty());
    EXPECT_EQ(ref.identifier(), Digest);
}

TEST(ParseReference, HostsWithDotsColonsAndIpv6) {
    EXPECT_EQ(parse_reference("127.0.0.1:5000/app").registry, "127.0.0.1:5000");
    EXPECT_EQ(parse_reference("registry.example/app").registry, "registry.example");
    EXPECT_EQ(parse_reference("my-host:443/app").registry, "my-host:443");
    Reference v6 = parse_reference("[::1]:5000/team/app:2");
    EXPECT_EQ(v6.registry, "[::1]:5000");
    EXPECT_EQ(v6.repository, "team/app");
    EXPECT_EQ(v6.tag, "2");
    EXPECT_EQ(parse_reference("[fe80::1]/app").registry, "[fe80::1]");
    // Without a '/', "localhost:5000" is Docker Hub's library/localhost, tag 5000.
    Reference hub = parse_reference("localhost:5000");
    EXPECT_EQ(hub.registry, "docker.io");
    EXPECT_EQ(hub.repository, "library/localhost");
    EXPECT_EQ(hub.tag, "5000");
    // A first component without '.' or ':' is a path component, not a host.
    EXPECT_EQ(parse_reference("myhost/app").registry, "docker.io");
    EXPECT_EQ(parse_reference("myhost/app").repository, "myhost/app");
}

TEST(ParseReference, Separators) {
    EXPECT_EQ(parse_reference("x/a.b_c__d---e/f").repository, "x/a.b_c__d---e/f");
    EXPECT_EQ(parse_reference("a.b_c__d---e").repository, "library/a.b_c__d---e");
    EXPECT_EQ(parse_reference("x:" + std::string(128, 'a')).tag, std::string(128, 'a'));
    EXPECT_EQ(parse_reference("x:_Tag.With-Caps").tag, "_Tag.With-Caps");
}

ErrorCode code_of(const std::string& text, std::string* message = nullptr) {
    try {
        parse_reference(text);
    } catch (const Error& e) {
        if (message) *message = e.message();
        EXPECT_FALSE(e.hint().empty()) << text;
        return e.code();
    }
    ADD_FAILURE() << "accepted: " << text;
    return ErrorCode::Internal;
}

void expect_invalid(const std::string& text, const std::string& why) {
    SCOPED_TRACE(text);
    std::string message;
    EXPECT_EQ(code_of(text, &message), ErrorCode::Usage);
    EXPECT_NE(message.find(why), std::string::npos) << message;
    if (!text.empty()) {
        EXPECT_NE(message.find(text), std::string::npos) << "the message should show the text: " << message;
    }
}

TEST(ParseReference, InvalidReferences) {
    expect_invalid("", "empty");
    expect_invalid("Python", "repository names must be lowercase");
    expect_invalid("docker.io/Me/app", "must be lowercase");
    expect_invalid("a//b", "empty path component");
    expect_invalid("a/", "empty path component");
    expect_invalid("/a", "empty path component");
    expect_invalid("a_/b", "path component \"a_\" is not valid");
    expect_invalid("a___b", "is not valid");
    expect_invalid("-a", "is not valid");
    expect_invalid("a.-b", "is not valid");
    expect_invalid("python:", "tag after ':' is empty");
    expect_invalid("python:.x", "tag \".x\" is not valid");
    expect_invalid("python:a+b", "is not valid");
    expect_invalid("python:" + std::string(129, 'a'), "the limit is 128");
    expect_invalid("python@", "digest after '@' is empty");
    expect_invalid("python@sha256:abc", "64 hex digits, this one has 3");
    expect_invalid("python@sha256:" + Hex + "0", "this one has 65");
    expect_invalid("python@sha512:" + Hex + Hex, "only sha256 digests are");
    expect_invalid("python@" + Hex, "has no algorithm");
    expect_invalid("python@sha256:" + std::string(64, 'g'), "not hex digits");
    expect_invalid("python@sha256:" + std::string(64, 'A'), "must be lowercase hex");
    expect_invalid(Hex, "image ID");
    expect_invalid("a b", "whitespace");
    expect_invalid("https://ghcr.io/a", "no scheme");
    expect_invalid("localhost:/a", "not a valid registry host");
    expect_invalid("host:12ab/a", "not a valid registry host");
    expect_invalid("-bad.host/a", "not a valid registry host");
    expect_invalid("[::1/a", "not a valid registry host");
    expect_invalid("[zz]:5000/a", "not a valid registry host");
    expect_invalid("localhost:5000/", "repository name is missing");
    // "a:b" has a ':', so Docker reads it as a registry host with a bad port.
    expect_invalid("a:b/c", "\"a:b\" is not a valid registry host");
    expect_invalid("a.b_c/d", "not a valid registry host");
    // The whole name, registry included, is at most 255 characters.
    expect_invalid("ghcr.io/" + std::string(247, 'a') + "/b", "the limit is 255");
    EXPECT_NO_THROW(parse_reference("ghcr.io/" + std::string(247, 'a')));
}

TEST(ParseReference, LowercaseHintShowsTheFix) {
    try {
        parse_reference("Me/App");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(e.hint().find("me/app"), std::string::npos) << e.hint();
    }
}

TEST(Reference, WithDigestAndWithTag) {
    Reference ref = parse_reference("ghcr.io/a/b:1.0");
    Reference pinned = ref.with_digest(Digest);
    EXPECT_EQ(pinned.to_string(), "ghcr.io/a/b@" + Digest);
    EXPECT_EQ(pinned.name(), ref.name());
    Reference retagged = pinned.with_tag("2.0");
    EXPECT_EQ(retagged.to_string(), "ghcr.io/a/b:2.0");
    EXPECT_EQ(retagged.identifier(), "2.0");
    EXPECT_EQ(retagged, parse_reference("ghcr.io/a/b:2.0"));
    EXPECT_NE(retagged, ref);
}

TEST(Reference, ToStringRoundTrips) {
    for (const std::string& text : {std::string("python"), std::string("me/app:v1"), "localhost:5000/a/b:tag@" + Digest,
                                    "[::1]:5000/x@" + Digest}) {
        Reference ref = parse_reference(text);
        EXPECT_EQ(parse_reference(ref.to_string()), ref) << text;
    }
}

TEST(RegistryEndpointHost, DockerHubHasItsOwnApiHost) {
    EXPECT_EQ(registry_endpoint_host("docker.io"), "registry-1.docker.io");
    EXPECT_EQ(registry_endpoint_host("ghcr.io"), "ghcr.io");
    EXPECT_EQ(registry_endpoint_host("localhost:5000"), "localhost:5000");
}

TEST(IsLoopbackHost, RecognisesLoopbackOnly) {
    for (const char* host : {"localhost", "localhost:5000", "LOCALHOST:1", "127.0.0.1", "127.0.0.1:5000", "127.1.2.3:80",
                             "[::1]", "[::1]:5000"})
        EXPECT_TRUE(is_loopback_host(host)) << host;
    for (const char* host : {"docker.io", "localhost.example", "127.0.0.1.example", "128.0.0.1", "127.0.0.256",
                             "127.0.0", "[::2]:5000", "10.0.0.1:5000", "localhost:", "localhost:abc", "[::1]x", ""})
        EXPECT_FALSE(is_loopback_host(host)) << host;
}

// ------------------------------------------------------------ image locations

TEST(ParseImageLocation, OciLayouts) {
    auto plain = parse_image_location("oci:out/image");
    EXPECT_EQ(plain.kind, ImageLocation::Kind::Layout);
    EXPECT_EQ(plain.path, "out/image");
    EXPECT_EQ(plain.layout_ref, "");
    EXPECT_EQ(plain.to_string(), "oci:out/image");

    auto with_ref = parse_image_location("oci:out/image:3.11");
    EXPECT_EQ(with_ref.path, "out/image");
    EXPECT_EQ(with_ref.layout_ref, "3.11");
    EXPECT_EQ(with_ref.to_string(), "oci:out/image:3.11");

    // The ref is what follows the LAST ':'.
    auto colons = parse_image_location("oci:/tmp/a:b:latest");
    EXPECT_EQ(colons.path, "/tmp/a:b");
    EXPECT_EQ(colons.layout_ref, "latest");

    // Nothing before the ':' or an invalid ref: the whole text is the path.
    auto leading = parse_image_location("oci::latest");
    EXPECT_EQ(leading.path, ":latest");
    EXPECT_EQ(leading.layout_ref, "");
    auto bad_ref = parse_image_location("oci:dir:a b");
    EXPECT_EQ(bad_ref.path, "dir:a b");
    EXPECT_EQ(bad_ref.layout_ref, "");
}

TEST(ParseImageLocation, DockerArchiveAndRegistry) {
    auto archive = parse_image_location("docker-archive:/tmp/image.tar");
    EXPECT_EQ(archive.kind, ImageLocation::Kind::DockerArchive);
    EXPECT_EQ(archive.path, "/tmp/image.tar");
    EXPECT_EQ(archive.to_string(), "docker-archive:/tmp/image.tar");

    auto prefixed = parse_image_location("docker://localhost:5000/app:1");
    EXPECT_EQ(prefixed.kind, ImageLocation::Kind::Registry);
    EXPECT_EQ(prefixed.reference.to_string(), "localhost:5000/app:1");

    auto bare = parse_image_location("python:3.11");
    EXPECT_EQ(bare.kind, ImageLocation::Kind::Registry);
    EXPECT_EQ(bare.reference.to_string(), "docker.io/library/python:3.11");
    EXPECT_EQ(bare.to_string(), "docker.io/library/python:3.11");
}

TEST(ParseImageLocation, PathsAreLayouts) {
    for (const char* text : {"/abs/dir", "./rel", "../up/dir"}) {
        auto location = parse_image_location(text);
        EXPECT_EQ(location.kind, ImageLocation::Kind::Layout) << text;
        EXPECT_EQ(location.path, text);
    }
    // An existing directory wins over the reference reading of the same text.
    test::TempDir dir;
    auto cwd = std::filesystem::current_path();
    std::filesystem::create_directory(dir.path() / "myimage");
    std::filesystem::current_path(dir.path());
    auto existing = parse_image_location("myimage");
    auto missing = parse_image_location("otherimage");
    std::filesystem::current_path(cwd);
    EXPECT_EQ(existing.kind, ImageLocation::Kind::Layout);
    EXPECT_EQ(existing.path, "myimage");
    EXPECT_EQ(missing.kind, ImageLocation::Kind::Registry);
}

TEST(ParseImageLocation, UnsupportedTransportsListTheSupportedOnes) {
    for (const char* text : {"containers-storage:python", "oci-archive:/tmp/x.tar", "dir:/tmp/x", "docker-daemon:app:1",
                             "http://host/app"}) {
        try {
            parse_image_location(text);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::Usage);
            EXPECT_NE(e.message().find(text), std::string::npos) << e.message();
            EXPECT_NE(e.hint().find("oci:DIR"), std::string::npos) << e.hint();
            EXPECT_NE(e.hint().find("docker-archive:FILE"), std::string::npos) << e.hint();
        }
    }
    for (const char* text : {"", "oci:", "docker-archive:", "docker://", "docker://Python"}) {
        EXPECT_THROW(parse_image_location(text), Error) << text;
    }
}

}  // namespace
}  // namespace slate::registry
