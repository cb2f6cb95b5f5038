#pragma once
// Image references ("python:3.11", "localhost:5000/app@sha256:...") parsed the
// way Docker's distribution/reference package does, and image locations: where
// a command reads an image from (an OCI layout, a docker-archive tarball or a
// registry).

#include <filesystem>
#include <string>
#include <string_view>

namespace slate::registry {

// Docker Hub's name in references; its API is served from another host
// (see registry_endpoint_host).
inline constexpr std::string_view DockerHub = "docker.io";

// A normalised reference: "python" becomes docker.io/library/python:latest.
struct Reference {
    std::string registry;    // lowercase host[:port]: "docker.io", "127.0.0.1:5000", "[::1]:5000", "ghcr.io"
    std::string repository;  // "library/python", "me/app"
    std::string tag;         // may be empty when digest is set
    std::string digest;      // "sha256:<64 lowercase hex>" or empty

    std::string name() const;        // registry + "/" + repository
    std::string identifier() const;  // digest if set, else tag
    std::string to_string() const;   // "registry/repository:tag@digest", empty parts omitted
    Reference with_digest(std::string new_digest) const;  // same name, tag cleared
    Reference with_tag(std::string new_tag) const;        // same name, digest cleared

    bool operator==(const Reference&) const = default;
};

// Parses and normalises `text`. The first path component names a registry
// when it contains '.' or ':' or is "localhost"; otherwise the registry is
// docker.io, where a one-component name gets "library/". "index.docker.io"
// becomes "docker.io". Without tag and digest the tag is "latest"; with both,
// both are kept. Throws slate::Error (Usage) saying what is wrong with `text`.
Reference parse_reference(std::string_view text);

// The host whose /v2/ API serves `registry`: Docker Hub's API lives on
// registry-1.docker.io; any other registry serves its own.
std::string registry_endpoint_host(std::string_view registry);

// True for "localhost", "127.x.x.x" and "[::1]", with or without a port:
// registries a client may talk to over plain HTTP.
bool is_loopback_host(std::string_view registry);

// Where a command reads an image from.
struct ImageLocation {
    enum class Kind { Layout, DockerArchive, Registry };
    Kind kind = Kind::Registry;
    std::filesystem::path path;  // Layout: the layout directory; DockerArchive: the tarball
    std::string layout_ref;      // Layout: "oci:DIR:REF" -> REF (may be empty)
    Reference reference;         // Registry

    // "oci:DIR[:REF]", "docker-archive:FILE" or the reference's canonical form.
    std::string to_string() const;
};

// Accepts, like skopeo:
//   "oci:DIR" and "oci:DIR:REF"  (REF is what follows the last ':' when the
//                                 part before it is not empty and REF is a
//                                 valid image-layout ref name; else all is DIR)
//   "docker-archive:FILE"
//   "docker://REF"               (the prefix is optional)
// Text starting with "/", "./" or "../", or naming an existing directory, is
// an OCI layout; anything else is parsed as a registry reference. Other skopeo
// transports ("containers-storage:", "oci-archive:", ...) are a Usage error
// that lists the supported ones.
ImageLocation parse_image_location(std::string_view text);

}  // namespace slate::registry
