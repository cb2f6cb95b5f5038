#pragma once
// Deterministic layer compression. A LayerCompressor takes the uncompressed
// layer (a tar stream) as a ByteSink, passes the compressed bytes to another
// sink, and reports both SHA-256 digests: the uncompressed stream's is the
// layer's diff_id (image config), the compressed stream's the blob digest
// (manifest). Why these codecs and levels: docs/compression.md.
//
// The output is a function of the input bytes only (for the same libdeflate,
// zlib and libzstd versions): it does not depend on how the input is split
// into writes, on the clock, or on the machine.
//   Gzip: one gzip member, header with MTIME 0, no name, no comment, XFL 0,
//         OS 255 (unknown); deflate by libdeflate at level 6 over the whole
//         layer, which is held in memory. A layer larger than
//         CompressorOptions::whole_buffer_limit is deflated by zlib at level 6,
//         streaming, instead (same header).
//   Zstd: one frame, libzstd level 3, single-threaded, content checksum on, no
//         dictionary, no content size in the header (the stream is unsized).
//   None: the bytes as given.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "slate/oci/tar.hpp"

namespace slate::oci {

enum class Compression { Gzip, Zstd, None };

// The fixed levels (part of what makes a blob digest reproducible).
inline constexpr int GzipLevel = 6;
inline constexpr int ZstdLevel = 3;

// "gzip", "zstd", "none".
std::string_view to_string(Compression compression);
// The inverse of to_string; nullopt for any other text.
std::optional<Compression> parse_compression(std::string_view text);

struct CompressorOptions {
    // Gzip only: up to this many uncompressed bytes the layer is buffered and
    // deflated in one piece by libdeflate (faster and smaller than zlib); past
    // it the compressor switches to streaming zlib so memory stays bounded.
    // Changing it changes the blobs of layers larger than either value.
    std::uint64_t whole_buffer_limit = std::uint64_t{512} << 20;
    // The expected uncompressed size, if known: reserves the buffer once.
    std::uint64_t size_hint = 0;
};

// What a manifest and an image config need to know about a layer blob.
struct CompressedLayer {
    Compression compression = Compression::Gzip;
    std::string diff_id;                 // "sha256:<hex>" of the uncompressed stream
    std::string digest;                  // "sha256:<hex>" of the compressed stream (= diff_id for None)
    std::uint64_t uncompressed_size = 0;
    std::uint64_t size = 0;              // compressed bytes written to the sink
};

class LayerCompressor {
public:
    // `out` receives the compressed bytes, in order, possibly in one call at
    // finish() (gzip holds the layer until then). Exceptions thrown by `out`
    // pass through.
    LayerCompressor(Compression compression, ByteSink out, CompressorOptions options = {});
    ~LayerCompressor();
    LayerCompressor(const LayerCompressor&) = delete;
    LayerCompressor& operator=(const LayerCompressor&) = delete;

    void write(std::string_view bytes);
    void operator()(std::string_view bytes) { write(bytes); }
    // A ByteSink writing into this compressor, e.g. for a TarWriter. The
    // compressor must outlive it.
    ByteSink sink() {
        return [this](std::string_view bytes) { write(bytes); };
    }

    // Compresses what is left, flushes everything to the sink and returns the
    // digests and sizes. Must be called once; write() after it is an error.
    // Throws slate::Error (Internal) when a compression library fails.
    CompressedLayer finish();

private:
    struct Codec;
    std::unique_ptr<Codec> m_codec;
};

}  // namespace slate::oci
