#pragma once
// The image spec: the YAML file that says what goes into an image (packages,
// architectures, accounts, entrypoint, extra paths, layering, smoke tests).
// docs/image-spec.md is the reference for every key; this header is the typed
// value the rest of slate builds from.
//
// Parsing validates everything that can be checked without the archive: key
// names, types, package-name syntax, architectures, paths, permissions,
// account uniqueness. Every failure is a slate::Error (Config) whose message
// starts "FILE:LINE:COLUMN: " (1-based) so editors can jump to it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace slate::build {

struct ArchiveSpec {
    std::string mirror;            // empty: take it from the host's apt sources
    std::string security_mirror;   // used for *-security suites; empty: the host's
    std::vector<std::string> suites;                  // empty: the host release's defaults
    std::vector<std::string> components{"main"};
    // Empty: the default Debian archive keyring. load_image_spec() makes relative
    // paths relative to the spec file's directory; parse_image_spec() keeps them as written.
    std::vector<std::filesystem::path> keyring;
};

struct ContentsSpec {
    // As written: "name", "name=version", "name:arch" or "name:arch=version".
    // parse_package_request() splits one.
    std::vector<std::string> packages;
    std::vector<std::string> exclude;   // package names never installed
    bool recommends = false;            // also install Recommends
    // Paths (absolute globs) that several packages may ship: the package
    // installed later wins, as if it declared Replaces.
    std::vector<std::string> overwrite;
};

// One entry of contents.packages, split into its parts.
struct PackageRequest {
    std::string name;
    std::string arch;      // empty: the architecture being built
    std::string version;   // empty: the candidate version
};

struct UserAccount {
    std::string username;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;   // default: the uid
    std::string home;        // default: /home/<username>
    std::string shell;       // default: /sbin/nologin
};

struct GroupAccount {
    std::string groupname;
    std::uint32_t gid = 0;
    std::vector<std::string> members;
};

struct AccountsSpec {
    std::vector<UserAccount> users;
    std::vector<GroupAccount> groups;
    // A declared username, "root", a numeric uid or "uid:gid". Empty: root.
    std::string run_as;
};

enum class PathType { Directory, File, Symlink, Permissions };

// An extra filesystem entry created (or re-permissioned) after packages are installed.
struct PathSpec {
    std::string path;          // absolute, no ".." components
    PathType type = PathType::Directory;
    std::string content;       // File only
    std::string source;        // Symlink only: the link target
    // Directory 0755, File 0644, Symlink 0777 unless given; required for Permissions.
    std::uint32_t mode = 0755;
    // Absent: 0 for entries slate creates, unchanged for Permissions.
    std::optional<std::uint32_t> uid;
    std::optional<std::uint32_t> gid;
    bool recursive = false;    // Directory and Permissions only
};

// Single: all packages in one layer. Origin: one layer per source-package group,
// merged down to at most `budget` layers.
enum class LayeringStrategy { Single, Origin };

struct LayeringSpec {
    LayeringStrategy strategy = LayeringStrategy::Single;
    int budget = 10;   // 1..127
};

struct TestCommand {
    std::string name;
    std::string command;          // as written
    std::vector<std::string> argv;  // split into arguments (no shell), as entrypoint strings are
    int expect_exit = 0;          // 0..255
    std::string expect_output;    // ECMAScript regex searched in the output; empty: not checked
};

// A file the built image must contain (checked without running anything, so
// images with no executables can be tested too).
struct FileCheck {
    std::string path;      // absolute; symlinks are followed inside the image
    std::string contains;  // a substring the file must contain; empty: only existence
};

// A long-running program (a server) started in the image, probed over HTTP
// on the loopback interface, then stopped.
struct ServiceCheck {
    std::string name;
    std::vector<std::string> command;  // argv; empty: the image's entrypoint and cmd
    std::string url;                   // http://127.0.0.1:PORT/... or http://localhost:PORT/...
    int expect_status = 200;
    std::string expect_body;           // ECMAScript regex searched in the body; empty: not checked
    int timeout_seconds = 20;          // how long the service may take to answer
};

struct TestSpec {
    std::vector<TestCommand> commands;
    std::vector<FileCheck> files;
    std::vector<ServiceCheck> services;
    bool empty() const { return commands.empty() && files.empty() && services.empty(); }
};

struct ImageSpec {
    std::string name;   // [a-z0-9][a-z0-9._-]*, used in file names
    std::string description;
    ArchiveSpec archive;
    ContentsSpec contents;
    std::vector<std::string> archs;   // default: {default_architecture()}
    AccountsSpec accounts;
    std::vector<std::string> entrypoint;   // argv; empty: none
    std::vector<std::string> cmd;          // argv; empty: none
    std::map<std::string, std::string> environment;
    std::string work_dir;                  // absolute; empty: the image default (/)
    std::vector<PathSpec> paths;
    std::vector<std::string> paths_exclude;   // absolute globs removed from the root filesystem
    std::map<std::string, std::string> annotations;
    LayeringSpec layering;
    TestSpec test;

    std::string digest;             // "sha256:<hex>" of the spec file's exact bytes
    std::filesystem::path path;     // the file it was read from (the display name for parse_image_spec)
};

// Parses and validates spec text. display_name starts every error message and
// becomes ImageSpec::path. Throws slate::Error (Config).
ImageSpec parse_image_spec(std::string_view yaml_text, const std::string& display_name);

// Reads and parses a spec file. Throws slate::Error: NotFound when the file is
// missing, Io when it cannot be read, Config when it is invalid.
ImageSpec load_image_spec(const std::filesystem::path& path);

// Splits "name[:arch][=version]". Throws slate::Error (Config) naming the bad part.
PackageRequest parse_package_request(std::string_view text);

// Debian policy 5.6.1: [a-z0-9][a-z0-9+.-]+ (at least two characters).
bool is_valid_package_name(std::string_view name);

// The Debian architectures an image may be built for.
std::span<const std::string_view> supported_architectures();

// The Debian name of the architecture slate was compiled for ("amd64" on x86-64).
std::string default_architecture();

const char* to_string(PathType type);
const char* to_string(LayeringStrategy strategy);

}  // namespace slate::build
