#pragma once
// Language package catalogers: Python distributions (*.dist-info/METADATA,
// *.egg-info), npm packages (node_modules/**/package.json), Go modules (the
// build info Go embeds in every binary) and Java archives (jar/war/ear
// manifests and pom.properties).
//
// Small metadata files are kept whole in the FileTree (language_keeps) and
// read by catalog_languages; binaries and archives are too big to keep, so a
// tree reader hands each one chosen by language_inspects to inspect_binary as
// it streams past, and keeps only what it found.
//
// Bad input never throws: a malformed file becomes a Warning{path, message}
// and cataloging goes on with the next one.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slate/sbom/catalog.hpp"
#include "slate/sbom/tree.hpp"

namespace slate::sbom {

// --- What a tree reader keeps and inspects -----------------------------------

// METADATA in a *.dist-info directory, PKG-INFO in a *.egg-info directory, a
// *.egg-info file, and the package.json at the root of a node_modules/<name>/
// or node_modules/@scope/<name>/ package (not test fixtures deeper inside it).
bool language_keeps(std::string_view path, const TreeEntry& entry);

// Regular files of at least 1 KiB that may be Go binaries (an exec bit, or
// under a bin/ or sbin/ directory), and Java archives (*.jar, *.war, *.ear).
bool language_inspects(std::string_view path, const TreeEntry& entry);

// --- Binaries and archives ---------------------------------------------------

struct BinaryFindings {
    std::vector<Package> packages;
    std::vector<Warning> warnings;
};

// What one file chosen by language_inspects holds: Go modules for an ELF
// with Go build info, Java packages for a jar/war/ear, nothing otherwise.
// `path` is the file's path inside the image (evidence, warnings).
BinaryFindings inspect_binary(std::string_view path, std::string_view content);

// --- Go build info -----------------------------------------------------------

struct GoModule {
    std::string path;     // "golang.org/x/sys"
    std::string version;  // "v0.5.0", "(devel)"
    std::string sum;      // "h1:...", may be empty
    // A "=>" replacement; replace_version is empty for a local directory.
    std::string replace_path;
    std::string replace_version;
    std::string replace_sum;
};

struct GoBuildInfo {
    std::string go_version;         // "go1.19.8" (may carry " X:..." experiments)
    std::string path;               // the main package: "github.com/x/y/cmd/z"
    std::optional<GoModule> main;   // absent for GOPATH-mode builds (Debian's)
    std::vector<GoModule> deps;
    std::vector<std::pair<std::string, std::string>> settings;  // "build" lines: key, value
};

// The build info of an ELF Go binary: the .go.buildinfo section, or the
// "\xff Go buildinf:" header in the first writable segment when section
// headers are stripped; Go 1.18+ inline strings and the older pointer format
// (32/64-bit, either byte order). nullopt and no problems: not a Go binary.
// nullopt with problems: a Go header whose contents cannot be read. A value
// with problems: readable, but some modinfo lines were malformed and skipped.
std::optional<GoBuildInfo> read_go_buildinfo(std::string_view elf, std::vector<std::string>& problems);

// The packages a Go binary declares: "stdlib" at the Go version (as Syft
// does), the main module (when built in module mode) and one per dependency;
// a replaced dependency is listed as its replacement.
BinaryFindings go_packages(std::string_view path, std::string_view elf);

// --- Java archives -----------------------------------------------------------

// One package per META-INF/maven/**/pom.properties; with none, one package
// from META-INF/MANIFEST.MF and the file name ("commons-io-2.11.0.jar").
// Nested archives (a war's WEB-INF/lib/*.jar) are not opened.
BinaryFindings java_packages(std::string_view path, std::string_view archive);

// --- Metadata files ----------------------------------------------------------

// A Python distribution from its METADATA / PKG-INFO text; nullopt (and a
// warning) without Name or Version.
std::optional<Package> python_package(std::string_view path, std::string_view metadata,
                                      std::vector<Warning>& warnings);

// An npm package from its package.json; nullopt (and a warning) when it is
// not a JSON object or has no name or version.
std::optional<Package> npm_package(std::string_view path, std::string_view package_json,
                                   std::vector<Warning>& warnings);

// Every Python and npm package whose metadata file `tree` kept, in path order.
std::vector<Package> catalog_languages(const FileTree& tree, std::vector<Warning>& warnings);

}  // namespace slate::sbom
