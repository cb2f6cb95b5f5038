#pragma once
// Small but real OCI images for tests that move images around (registry
// push/pull/copy): gzip layers holding real tar streams, one image per
// architecture, written with libslate's own LayoutWriter.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"

namespace slate::test {

struct TestImageOptions {
    std::vector<std::string> archs{"amd64", "arm64"};  // Debian names; one manifest each, under an index when > 1
    // Bytes of incompressible file content per layer (each layer is a tar
    // holding one file); the first layer is shared by every architecture.
    std::vector<std::uint64_t> layer_sizes{4096, 2048};
    std::uint32_t seed = 1;      // different seeds give different layers
    std::string ref_name = "latest";
};

struct TestImage {
    std::filesystem::path dir;
    oci::Descriptor top;                 // index.json's entry (without its ref.name annotation)
    std::vector<oci::Descriptor> manifests;
    std::vector<oci::Descriptor> blobs;  // configs and layers, each once
};

TestImage make_test_image(const std::filesystem::path& dir, const TestImageOptions& options = {});

// A gzip layer of regular files (path -> content, mode 0644, mtime
// 1700000000) written into `writer`'s blobs; `truncate` cuts the compressed
// blob in half, as a damaged download would.
oci::Layer write_gzip_layer(oci::LayoutWriter& writer, const std::vector<std::pair<std::string, std::string>>& files,
                            bool truncate = false);

// Deterministic incompressible bytes.
std::string pseudo_random_bytes(std::uint64_t size, std::uint32_t seed);

}  // namespace slate::test
