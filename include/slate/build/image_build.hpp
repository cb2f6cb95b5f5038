#pragma once
// The build pipeline: a lock's packages for each architecture -> fetched and
// verified .debs -> an in-memory root file system with the files maintainer
// scripts would have made -> deterministic layers -> an OCI image layout (or
// a docker-archive). Output is assembled in a temporary directory and renamed
// into place, so a failed build leaves nothing behind.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "slate/build/fetch.hpp"
#include "slate/build/image_spec.hpp"
#include "slate/build/lock.hpp"
#include "slate/oci/compress.hpp"
#include "slate/util/cache.hpp"
#include "slate/util/log.hpp"

namespace slate::build {

enum class OutputFormat { Oci, DockerArchive };

struct BuildOptions {
    std::filesystem::path output;
    OutputFormat format = OutputFormat::Oci;
    std::vector<std::string> archs;                  // a subset of the lock's; empty = all of them
    std::optional<std::int64_t> source_date_epoch;   // default: default_source_date_epoch(lock)
    oci::Compression compression = oci::Compression::Gzip;
    FetchOptions fetch;
    // Called with the finished OCI layout before it is moved into place
    // (e.g. to run the spec's tests); throwing aborts the build, leaving no output.
    std::function<void(const std::filesystem::path& layout_dir)> before_commit;
};

struct BuiltLayer {
    std::string digest;
    std::string diff_id;
    std::uint64_t size = 0;
    std::uint64_t uncompressed_size = 0;
};

struct BuiltImage {
    std::string arch;
    std::string manifest_digest;
    std::string config_digest;
    std::uint64_t compressed_size = 0;    // the layers' blobs
    std::uint64_t uncompressed_size = 0;  // the layers' tars
    std::size_t packages = 0;
    std::vector<BuiltLayer> layers;
};

struct BuildResult {
    std::string digest;  // the image index's digest, or the manifest's for one architecture
    std::vector<BuiltImage> images;
    std::vector<std::string> sboms;  // the SPDX documents written next to the output
};

// The newest Date among the lock's suites: the same lock always gives the
// same timestamps, whatever the clock says.
std::int64_t default_source_date_epoch(const Lock& lock);

BuildResult build_image(const ImageSpec& spec, const Lock& lock, util::BlobCache& cache, const BuildOptions& options,
                        util::LogSink& log, util::ProgressSink& progress);

}  // namespace slate::build
