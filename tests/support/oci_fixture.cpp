#include "support/oci_fixture.hpp"

#include <memory>
#include <random>
#include <set>

#include "slate/oci/compress.hpp"
#include "slate/oci/layout.hpp"
#include "slate/oci/tar.hpp"
#include "slate/util/fs.hpp"

namespace slate::test {

namespace {

constexpr std::int64_t Epoch = 1700000000;

oci::Layer write_layer(const oci::LayoutWriter& writer, const std::string& path, std::uint64_t size,
                       std::uint32_t seed) {
    oci::BlobWriter blob = writer.begin_blob();
    oci::LayerCompressor compressor(oci::Compression::Gzip, [&](std::string_view bytes) { blob.write(bytes); });
    oci::TarWriter tar(compressor.sink(), Epoch);
    oci::TarEntry entry;
    entry.path = path;
    entry.mode = 0644;
    entry.mtime = Epoch;
    entry.content = std::make_shared<const std::string>(pseudo_random_bytes(size, seed));
    tar.add(entry);
    tar.finish();
    oci::CompressedLayer done = compressor.finish();
    oci::Descriptor stored = blob.commit(oci::layer_media_type(oci::Compression::Gzip), done.digest);
    oci::Layer layer;
    layer.digest = stored.digest;
    layer.size = stored.size;
    layer.diff_id = done.diff_id;
    layer.uncompressed_size = done.uncompressed_size;
    layer.compression = oci::Compression::Gzip;
    return layer;
}

}  // namespace

std::string pseudo_random_bytes(std::uint64_t size, std::uint32_t seed) {
    std::mt19937_64 random(seed);
    std::string out(size, '\0');
    for (std::uint64_t i = 0; i < size; i += 8) {
        std::uint64_t word = random();
        for (std::uint64_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<char>(word >> (8 * j));
    }
    return out;
}

TestImage make_test_image(const std::filesystem::path& dir, const TestImageOptions& options) {
    oci::LayoutWriter writer(dir);
    TestImage image;
    image.dir = dir;
    std::set<std::string> seen;
    auto note = [&](const oci::Descriptor& blob) {
        if (seen.insert(blob.digest).second) image.blobs.push_back(blob);
    };
    oci::Layer shared;
    for (std::size_t a = 0; a < options.archs.size(); ++a) {
        const std::string& arch = options.archs[a];
        std::vector<oci::Layer> layers;
        for (std::size_t i = 0; i < options.layer_sizes.size(); ++i) {
            if (i == 0 && a > 0) {
                layers.push_back(shared);
                continue;
            }
            std::uint32_t seed = options.seed * 1000 + static_cast<std::uint32_t>(i * 10 + (i == 0 ? 0 : a));
            layers.push_back(write_layer(writer, "data/layer" + std::to_string(i), options.layer_sizes[i], seed));
            if (i == 0) shared = layers.back();
        }
        oci::RuntimeConfig runtime;
        runtime.entrypoint = {"/bin/sh"};
        runtime.env = {"PATH=/usr/bin:/bin", "SEED=" + std::to_string(options.seed)};
        oci::ImageConfig config =
            oci::make_image_config(oci::platform_for_debian_arch(arch), Epoch, runtime, layers);
        oci::Descriptor manifest = writer.write_image(config, layers, {});
        image.manifests.push_back(manifest);
        oci::Manifest parsed = oci::parse_manifest(util::read_file(writer.blob_path(manifest.digest)));
        note(parsed.config);
        for (const auto& layer : parsed.layers) note(layer);
    }
    image.top = image.manifests.size() == 1 ? image.manifests.front() : writer.write_index(image.manifests);
    writer.write_index_json(image.top, options.ref_name);
    return image;
}

oci::Layer write_gzip_layer(oci::LayoutWriter& writer, const std::vector<std::pair<std::string, std::string>>& files,
                            bool truncate) {
    std::string bytes;
    oci::LayerCompressor compressor(oci::Compression::Gzip, [&](std::string_view b) { bytes.append(b); });
    oci::TarWriter tar(compressor.sink(), 1700000000);
    for (const auto& [path, content] : files) {
        oci::TarEntry entry;
        entry.path = path;
        entry.mode = 0644;
        entry.content = std::make_shared<const std::string>(content);
        tar.add(entry);
    }
    tar.finish();
    auto done = compressor.finish();
    if (truncate) bytes.resize(bytes.size() / 2);
    oci::BlobWriter blob = writer.begin_blob();
    blob.write(bytes);
    oci::Descriptor stored = blob.commit(oci::layer_media_type(oci::Compression::Gzip));
    oci::Layer layer;
    layer.digest = stored.digest;
    layer.size = stored.size;
    layer.diff_id = done.diff_id;
    layer.uncompressed_size = done.uncompressed_size;
    return layer;
}

}  // namespace slate::test
