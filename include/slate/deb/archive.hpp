#pragma once
// The Debian archive client: fetches a suite's InRelease, verifies its
// OpenPGP signature, and fetches the Packages indices it lists, checking each
// against the Release's size and SHA-256. Everything lands in the BlobCache;
// parsed indices are cached in binary form keyed by the index's SHA-256.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "slate/deb/package_index.hpp"
#include "slate/deb/release.hpp"
#include "slate/util/cache.hpp"
#include "slate/util/http.hpp"
#include "slate/util/log.hpp"

namespace slate::deb {

// Where one suite comes from.
struct SuiteSource {
    std::string mirror;                   // base URL without trailing '/', e.g. http://host/debian
    std::string suite;                    // e.g. bookworm-security
    std::vector<std::string> components;  // e.g. {"main"}
};

struct ArchiveOptions {
    std::vector<std::filesystem::path> keyrings;  // must be non-empty unless insecure_skip_verify
    bool insecure_skip_verify = false;
    bool offline = false;            // never touch the network; everything from the cache
    bool check_valid_until = true;   // refuse Release files past Valid-Until
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

struct SuiteRelease {
    SuiteSource source;
    Release release;
    std::string inrelease_sha256;  // of the InRelease file as fetched
    bool verified = false;         // false only with insecure_skip_verify
};

// One Packages index of one component and architecture.
struct LoadedIndex {
    std::string suite;
    std::string component;
    std::string arch;      // the binary-<arch> directory it came from
    std::string mirror;
    std::string path;      // relative to dists/<suite>/, e.g. main/binary-amd64/Packages.xz
    std::string sha256;    // of that file, as promised by the Release
    PackageIndex index;
};

class ArchiveClient {
public:
    ArchiveClient(util::BlobCache& cache, util::HttpClient& http, util::LogSink& log, ArchiveOptions options);

    // Fetches (conditionally) and verifies dists/<suite>/InRelease.
    SuiteRelease fetch_release(const SuiteSource& source);

    // Loads the Packages indices of every component of `release` for `arch`
    // (and binary-all when the archive keeps arch:all packages separately).
    std::vector<LoadedIndex> load_packages(const SuiteRelease& release, std::string_view arch);

private:
    std::string verified_text(const std::string& inrelease_sha, std::string_view inrelease, const std::string& what);
    std::filesystem::path fetch_index_blob(const SuiteRelease& release, const std::string& path,
                                           const ReleaseEntry& entry);
    std::string keyring_digest() const;

    util::BlobCache& m_cache;
    util::HttpClient& m_http;
    util::LogSink& m_log;
    ArchiveOptions m_options;
};

}  // namespace slate::deb
