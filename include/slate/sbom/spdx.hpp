#pragma once
// SPDX 2.3 JSON documents from a Catalog, and the pieces of document identity
// the SPDX and CycloneDX writers share (cyclonedx.hpp).
//
// Determinism: the same catalog always gives the same bytes. Packages are
// sorted (type, name, version, arch, purl, then every other field), ids are
// derived from content (never counters over an unsorted input), times come
// from Catalog::created, and namespaces/serial numbers are name-based UUIDs.
//
// What a document says (SPDX 2.3, validated against the official schema and
// the rules of the SPDX tools the schema does not check):
//   - the image as a package (primaryPackagePurpose CONTAINER) that the
//     document DESCRIBES; it CONTAINS the OS package, every cataloged package
//     and, with DocumentOptions::files, every file;
//   - a Debian binary package is GENERATED_FROM its source package, which is
//     its own package (purpose SOURCE, deduplicated across binaries);
//   - DEPENDS_ON between packages of the same type (Package::depends);
//   - evidence files (with --files): the dpkg status / METADATA / package.json
//     is METAFILE_OF its package, a Go binary STATIC_LINKs its modules, a jar
//     is related to its Java package by OTHER ("evidence-for"). Packages are
//     never said to CONTAIN files: they are not file-analysed
//     (filesAnalyzed false), and SPDX forbids contained files then.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slate/sbom/catalog.hpp"

namespace slate::sbom {

struct DocumentOptions {
    std::string tool_version = "0.1.0";  // "Tool: slate-0.1.0"
    bool files = false;                  // list Catalog::files (SPDX files + CONTAINS; CycloneDX file components)
};

// One platform's document, named by an image index's document.
struct PlatformDocument {
    Subject subject;                          // the platform image: name, manifest digest, platform
    std::string document_namespace_or_serial;  // its SPDX documentNamespace or CycloneDX serialNumber
    std::string sha256_of_bytes;              // hex SHA-256 of the document's bytes
    // hex SHA-1 of the document's bytes. SPDX 2.x tools expect SHA1 in an
    // external document reference; when empty the SHA256 is used instead.
    std::string sha1_of_bytes{};
};

// Throws slate::Error (Usage) only when `catalog.created` is outside the
// years 0000-9999. Bad package data never throws: an invalid license
// expression becomes NOASSERTION, an invalid URL is left out.
std::string to_spdx_json(const Catalog& catalog, const DocumentOptions& options = {});

// A document for an image index: the index as a package that CONTAINS each
// platform document's image (through externalDocumentRefs).
std::string to_spdx_index_json(const Subject& index_subject, std::int64_t created,
                               const std::vector<PlatformDocument>& platforms, const DocumentOptions& options = {});

// "https://spdx.org/spdxdocs/slate/<sanitised name>-<uuid>", the uuid derived
// from the subject's name, digest and platform (name, platform and version
// when the digest is empty).
std::string spdx_namespace(const Subject& subject);
// The namespace to_spdx_json writes: exactly spdx_namespace(catalog.subject)
// when the subject has a digest (an image: what an index document names);
// for a directory (no digest) the uuid also covers the catalog's content
// (and its files when listed), so two different trees never share one.
std::string spdx_namespace(const Catalog& catalog, const DocumentOptions& options = {});

// The SPDXID of the package that stands for `subject` ("SPDXRef-Image-<hex>"),
// so an index document can point into a platform document.
std::string spdx_image_id(const Subject& subject);

// ---------------------------------------------------------------- shared by both writers

// pkg:oci/<name>@<digest>?arch=<arch>&repository_url=<repository>&tag=<tag>
// (qualifiers present when known); "" when the subject has no digest.
std::string image_purl(const Subject& subject);

// True when `expression` is a syntactically valid SPDX license expression:
// license ids (optionally "+"), LicenseRef-*, DocumentRef-*:LicenseRef-*,
// AND / OR / WITH and parentheses; or NONE / NOASSERTION alone.
bool is_license_expression(std::string_view expression);

// The LicenseRef-* ids an expression uses, in order of appearance.
std::vector<std::string> license_refs(std::string_view expression);

// The catalog's packages in document order: (type, name, version, arch, purl),
// ties broken by every other field so any input order gives the same result.
std::vector<const Package*> sorted_packages(const std::vector<Package>& packages);

// An RFC 9562 version 5 (SHA-1, name-based) UUID of `name` in slate's own
// namespace: "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx", lowercase.
std::string name_based_uuid(std::string_view name);

// The text a namespace / serial number is derived from (see spdx_namespace).
std::string document_identity(const Subject& subject);
std::string document_identity(const Catalog& catalog, const DocumentOptions& options);

// Small pieces the two writers share (defined in cyclonedx.cpp); not meant
// for other callers.
namespace detail {

// "Name <mail>" (Debian's Maintainer, a Python Author-email) split in two;
// a bare address gives it as both. Parentheses and control characters are
// dropped (SPDX agents put the mail in parentheses).
struct Contact {
    std::string name;
    std::string email;
};
Contact parse_contact(std::string_view text);
// "Debian Python Team", "GNU Libc Maintainers": a group, not a person.
bool is_organization(std::string_view name);

// Package::checksums that are usable: SPDX algorithm names ("SHA256",
// "SHA1", "SHA512", "SHA384", "SHA224", "MD5") and lowercase hex of the right
// length, sorted by algorithm.
std::vector<std::pair<std::string, std::string>> package_checksums(const Package& package);

// Package::depends resolved within the sorted packages: for each index, the
// indices of the packages (same type) it depends on, sorted, without itself.
// A name several packages share (Multi-Arch) resolves to those of the same
// architecture (or "all") when there are such.
std::vector<std::pair<std::size_t, std::vector<std::size_t>>> resolve_dependencies(
    const std::vector<const Package*>& sorted);

bool is_url(std::string_view text);            // http(s)/ftp URL without spaces
std::string digest_hex(std::string_view digest);  // "sha256:<hex>" -> "<hex>", else ""
bool is_hex(std::string_view text, std::size_t length);
std::string lower(std::string_view text);

}  // namespace detail

}  // namespace slate::sbom
