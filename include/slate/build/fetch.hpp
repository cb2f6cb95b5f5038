#pragma once
// Downloading many files (the .debs of a lock) in parallel into the
// content-addressed cache. Every file is checked for its promised size and
// SHA-256 before it enters the cache, and every cache hit is re-verified, so
// what fetch_all returns is always exactly what the signed index promised.
//
// Workers: each has its own util::CurlHttpClient (clients are not
// thread-safe) and takes the next file from a shared queue. The first failure
// stops the rest: no new download starts, and transfers in flight are
// aborted at their next progress tick (libcurl reports progress only once
// bytes flow, so a transfer still waiting for a server's first byte ends when
// that byte arrives or the stall timeout fires). Temporary files are removed
// whatever happens; an interrupted run leaves nothing half-written in the
// cache.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "slate/util/cache.hpp"
#include "slate/util/http.hpp"
#include "slate/util/log.hpp"

namespace slate::build {

struct FetchItem {
    std::string url;          // http(s):// or file://
    std::string sha256;       // lowercase hex, as the signed index gives it
    std::string label;        // names the file in messages, e.g. "hello 1.0-1 (amd64)"
    std::uint64_t size = 0;   // as the signed index gives it
};

struct FetchOptions {
    util::HttpOptions http{};
    // Parallel transfers. 8 keeps a mirror's bandwidth busy without opening
    // more connections than a mirror tolerates from one client (apt opens one
    // per host; pip and cargo use 8-16).
    unsigned workers = 8;
    // Use only the cache: a file that is not there (or is damaged) is an error
    // that lists every such file.
    bool offline = false;
    // The label of the one aggregated progress line (bytes of all files).
    std::string progress_label = "packages";
};

// Returns the cache path of each item, in the order of `items`. Items with the
// same SHA-256 are fetched once. Cache hits are re-verified: a damaged entry is
// reported as a warning and fetched again.
//
// Progress: `progress` sees one line, `options.progress_label`, whose total is
// the bytes of all distinct files and whose done counts cache hits, finished
// and in-flight downloads; finish() is called once at the end. Its calls (and
// `log`'s) come from worker threads but never concurrently.
//
// Throws slate::Error (the first failure; the others are dropped):
//   Integrity  a download's size or SHA-256 differs from the item's (the
//              message names the label, the URL and both hashes or sizes)
//   NotFound   HTTP 404/410, or missing from the cache with `offline`
//   Network    the server could not be reached or failed (after retries)
//   Io         the cache cannot be written
//   Internal   an item without a valid SHA-256 or URL
std::vector<std::filesystem::path> fetch_all(util::BlobCache& cache, const std::vector<FetchItem>& items,
                                             const FetchOptions& options, util::LogSink& log,
                                             util::ProgressSink& progress);

}  // namespace slate::build
