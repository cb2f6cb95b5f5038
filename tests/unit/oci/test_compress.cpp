// LayerCompressor: round trips through the gzip and zstd command line tools
// and through libarchive, digests checked with sha256sum, and determinism
// whatever the split of the input into writes.
#include <gtest/gtest.h>

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "slate/error.hpp"
#include "slate/oci/compress.hpp"
#include "slate/oci/tar.hpp"
#include "slate/util/compress.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::oci {
namespace {

namespace fs = std::filesystem;

// About 3.3 MB that compresses like a layer does: text with repetition,
// incompressible runs (like stripped binaries' data), long zero runs (tar
// padding). Deterministic, and longer than the 1 MiB pieces the streaming
// codecs are fed.
std::string layer_like_data() {
    std::string data;
    std::uint64_t state = 0x9e3779b97f4a7c15ull;
    auto next = [&] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    for (int i = 0; data.size() < 3'300'000; ++i) {
        data += "usr/lib/python3.11/module_" + std::to_string(next() % 500) + ".py: def f" + std::to_string(i) +
                "(x):\n    return x * " + std::to_string(i % 97) + "\n";
        if (i % 50 == 0)
            for (int j = 0; j < 700; ++j) data += static_cast<char>(next() & 0xff);
        if (i % 300 == 0) data.append(4096, '\0');
    }
    return data;
}

struct Compressed {
    std::string bytes;
    CompressedLayer layer;
};

// Compresses `data` handing it over in writes of `split` bytes (0: one write).
Compressed compress(Compression compression, std::string_view data, std::size_t split = 0,
                    CompressorOptions options = {}) {
    Compressed result;
    LayerCompressor compressor(compression, [&](std::string_view b) { result.bytes.append(b); }, options);
    if (split == 0) {
        compressor.write(data);
    } else {
        for (std::size_t pos = 0; pos < data.size(); pos += split) compressor.write(data.substr(pos, split));
    }
    result.layer = compressor.finish();
    return result;
}

util::ProcessResult run(const std::vector<std::string>& argv, const util::ProcessOptions& options = {}) {
    auto result = util::run_process(argv, options);
    EXPECT_EQ(result.exit_code, 0) << argv[0] << " failed: " << result.err;
    return result;
}

std::string sha256sum(const fs::path& file) {
    std::string out = run({"sha256sum", file.string()}).out;
    return "sha256:" + out.substr(0, 64);
}

// Checks one compressed result against the tools: the CLI decompresses it to
// the input, libarchive too, and sha256sum agrees with both digests.
void check_round_trip(Compression compression, const std::string& data, const Compressed& c) {
    test::TempDir tmp;
    const fs::path blob = tmp.path() / "blob";
    const fs::path plain = tmp.path() / "plain";
    util::write_file_atomic(blob, c.bytes);
    util::write_file_atomic(plain, data);

    const std::string tool = compression == Compression::Gzip ? "gzip" : "zstd";
    auto decompressed = run({tool, "-dc", blob.string()});
    EXPECT_TRUE(decompressed.out == data) << tool << " -dc gives " << decompressed.out.size() << " bytes, expected "
                                          << data.size();
    run({tool, "-t", blob.string()});  // integrity check incl. CRC-32 / XXH64 and sizes
    // libarchive's raw reader cannot open a stream that decompresses to
    // nothing ("Unrecognized archive format"): only non-empty data there.
    if (!data.empty()) {
        EXPECT_TRUE(util::decompress_file(blob, "blob") == data) << "libarchive disagrees";
    }

    EXPECT_EQ(c.layer.compression, compression);
    EXPECT_EQ(c.layer.diff_id, sha256sum(plain));
    EXPECT_EQ(c.layer.digest, sha256sum(blob));
    EXPECT_EQ(c.layer.uncompressed_size, data.size());
    EXPECT_EQ(c.layer.size, c.bytes.size());
}

TEST(LayerCompressor, GzipRoundTripsThroughGzipAndLibarchive) {
    const std::string data = layer_like_data();
    auto c = compress(Compression::Gzip, data);
    check_round_trip(Compression::Gzip, data, c);
    EXPECT_LT(c.bytes.size(), data.size() / 2);
    // RFC 1952 header: deflate, no flags, MTIME 0, XFL 0, OS 255: nothing
    // about the host or the time.
    EXPECT_EQ(c.bytes.substr(0, 10), std::string("\x1f\x8b\x08\0\0\0\0\0\0\xff", 10));
}

TEST(LayerCompressor, ZstdRoundTripsThroughZstdAndLibarchive) {
    const std::string data = layer_like_data();
    auto c = compress(Compression::Zstd, data);
    check_round_trip(Compression::Zstd, data, c);
    EXPECT_LT(c.bytes.size(), data.size() / 2);
    // One frame: magic, then a descriptor with the checksum flag (bit 2) set
    // and no dictionary id (bits 0-1).
    ASSERT_GE(c.bytes.size(), 5u);
    EXPECT_EQ(c.bytes.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
    const auto descriptor = static_cast<unsigned char>(c.bytes[4]);
    EXPECT_EQ(descriptor & 0x04, 0x04);
    EXPECT_EQ(descriptor & 0x03, 0x00);
}

TEST(LayerCompressor, StreamingGzipPastTheLimitRoundTrips) {
    // A limit of 300 KB: the first 300 KB are buffered, then zlib streams.
    const std::string data = layer_like_data();
    CompressorOptions options;
    options.whole_buffer_limit = 300'000;
    auto streamed = compress(Compression::Gzip, data, 0, options);
    check_round_trip(Compression::Gzip, data, streamed);
    EXPECT_EQ(streamed.bytes.substr(0, 10), std::string("\x1f\x8b\x08\0\0\0\0\0\0\xff", 10));
    // A layer of exactly the limit still goes through libdeflate in one piece.
    options.whole_buffer_limit = data.size();
    EXPECT_EQ(compress(Compression::Gzip, data, 0, options).bytes, compress(Compression::Gzip, data).bytes);
}

TEST(LayerCompressor, EmptyLayersRoundTrip) {
    for (Compression compression : {Compression::Gzip, Compression::Zstd}) {
        auto c = compress(compression, "");
        check_round_trip(compression, "", c);
        EXPECT_EQ(c.layer.diff_id, "sha256:" + util::sha256_hex(""));
    }
    CompressorOptions tiny;
    tiny.whole_buffer_limit = 0;  // streaming from the first byte
    check_round_trip(Compression::Gzip, "", compress(Compression::Gzip, "", 0, tiny));
    check_round_trip(Compression::Gzip, "a", compress(Compression::Gzip, "a", 0, tiny));
}

TEST(LayerCompressor, NonePassesBytesThrough) {
    const std::string data = layer_like_data();
    auto c = compress(Compression::None, data, 70'000);
    EXPECT_TRUE(c.bytes == data);
    EXPECT_EQ(c.layer.diff_id, "sha256:" + util::sha256_hex(data));
    EXPECT_EQ(c.layer.digest, c.layer.diff_id);
    EXPECT_EQ(c.layer.size, data.size());
    EXPECT_EQ(c.layer.uncompressed_size, data.size());
}

TEST(LayerCompressor, SameBytesWhateverTheWrites) {
    const std::string data = layer_like_data();
    CompressorOptions streaming;
    streaming.whole_buffer_limit = 300'000;
    for (Compression compression : {Compression::Gzip, Compression::Zstd}) {
        for (const CompressorOptions& options : {CompressorOptions{}, streaming}) {
            auto reference = compress(compression, data, 0, options);
            // 512-byte writes (tar headers), odd sizes straddling the 1 MiB
            // pieces, and writes larger than a piece.
            for (std::size_t split : {512u, 4099u, 1'048'575u, 1'500'000u}) {
                auto other = compress(compression, data, split, options);
                EXPECT_TRUE(other.bytes == reference.bytes)
                    << to_string(compression) << " with writes of " << split << " bytes";
                EXPECT_EQ(other.layer.digest, reference.layer.digest);
            }
            // And a second run in the same process.
            EXPECT_EQ(compress(compression, data, 0, options).layer.digest, reference.layer.digest);
        }
    }
}

TEST(LayerCompressor, CompressesATarStreamFromTarWriter) {
    // The real use: TarWriter -> LayerCompressor -> blob; libarchive reads it.
    std::string blob;
    LayerCompressor compressor(Compression::Gzip, [&](std::string_view b) { blob.append(b); });
    TarWriter tar(compressor.sink(), 1700000000);
    auto content = std::make_shared<const std::string>(layer_like_data());
    tar.add({"usr", TarType::Directory, 0755, 0, 0, 0, {}, nullptr});
    tar.add({"usr/lib.so", TarType::File, 0644, 0, 0, 0, {}, content});
    tar.add({"usr/lib.so.1", TarType::Symlink, 0777, 0, 0, 0, "lib.so", nullptr});
    tar.finish();
    CompressedLayer layer = compressor.finish();
    EXPECT_EQ(layer.uncompressed_size, tar.bytes_written());
    EXPECT_EQ(layer.digest, "sha256:" + util::sha256_hex(blob));

    struct Deleter {
        void operator()(archive* a) const { archive_read_free(a); }
    };
    std::unique_ptr<archive, Deleter> reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    archive_read_support_filter_gzip(reader.get());
    ASSERT_EQ(archive_read_open_memory(reader.get(), blob.data(), blob.size()), ARCHIVE_OK);
    std::vector<std::string> paths;
    archive_entry* entry = nullptr;
    std::string file_content;
    while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
        paths.emplace_back(archive_entry_pathname(entry));
        char buffer[65536];
        la_ssize_t n;
        while ((n = archive_read_data(reader.get(), buffer, sizeof buffer)) > 0)
            if (paths.back() == "usr/lib.so") file_content.append(buffer, n);
    }
    EXPECT_EQ(paths, (std::vector<std::string>{"usr/", "usr/lib.so", "usr/lib.so.1"}));
    EXPECT_TRUE(file_content == *content);
}

TEST(LayerCompressor, NamesAndMisuse) {
    for (Compression c : {Compression::Gzip, Compression::Zstd, Compression::None})
        EXPECT_EQ(parse_compression(to_string(c)), c);
    EXPECT_EQ(parse_compression("xz"), std::nullopt);
    EXPECT_EQ(parse_compression("GZIP"), std::nullopt);

    LayerCompressor compressor(Compression::Zstd, [](std::string_view) {});
    compressor.write("x");
    compressor.finish();
    EXPECT_THROW(compressor.write("y"), Error);
    EXPECT_THROW(compressor.finish(), Error);
}

TEST(LayerCompressor, SinkErrorsPassThrough) {
    LayerCompressor compressor(Compression::Zstd, [](std::string_view) { throw Error(ErrorCode::Io, "disk full"); });
    try {
        // zstd emits as soon as it has a block: the error comes from write or finish.
        compressor.write(layer_like_data());
        compressor.finish();
        FAIL() << "expected the sink's error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Io);
        EXPECT_EQ(e.message(), "disk full");
    }
}

}  // namespace
}  // namespace slate::oci
