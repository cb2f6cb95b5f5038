// Layer compression: gzip (libdeflate whole-buffer, or zlib streaming past a
// size limit), zstd (libzstd streaming) or none, with SHA-256 of both sides.
//
// Determinism. The compressed bytes must depend on the input bytes only, not
// on how the caller split them into writes. Streaming codecs are therefore
// fed in fixed ChunkSize pieces (a staging buffer collects small writes), and
// drained through a fixed-size output buffer, so the sequence of library
// calls is a function of the byte stream. The gzip header and trailer are
// written here, not by the libraries, so no field depends on the host
// (zlib's own header would carry the build's OS_CODE).
#include "slate/oci/compress.hpp"

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "slate/error.hpp"
#include "slate/util/hash.hpp"

namespace slate::oci {
namespace {

constexpr std::size_t ChunkSize = std::size_t{1} << 20;  // input piece handed to a streaming codec
constexpr std::size_t OutSize = std::size_t{1} << 18;    // output buffer of a streaming codec

struct LibdeflateDeleter {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
using LibdeflateCompressor = std::unique_ptr<libdeflate_compressor, LibdeflateDeleter>;

struct ZstdDeleter {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
using ZstdContext = std::unique_ptr<ZSTD_CCtx, ZstdDeleter>;

// A raw-deflate zlib stream (no zlib/gzip wrapper: the gzip framing is ours).
class ZlibDeflater {
public:
    ZlibDeflater() {
        // windowBits -15: raw deflate, 32 KiB window; memLevel 8 is zlib's default.
        if (deflateInit2(&m_stream, GzipLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw Error(ErrorCode::Internal, "cannot initialise zlib deflate (out of memory?)");
    }
    ~ZlibDeflater() { deflateEnd(&m_stream); }
    ZlibDeflater(const ZlibDeflater&) = delete;
    ZlibDeflater& operator=(const ZlibDeflater&) = delete;
    z_stream& stream() { return m_stream; }

private:
    z_stream m_stream{};
};

Error library_error(std::string_view library, std::string_view detail) {
    return Error(ErrorCode::Internal, "layer compression failed in " + std::string(library) + ": " + std::string(detail),
                 "this is a bug in slate or a broken compression library; please report it");
}

// RFC 1952 member header: ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=0 OS=255 (unknown),
// as Go's compress/gzip writes it by default: nothing about the host or time.
constexpr std::array<char, 10> GzipHeader = {'\x1f', '\x8b', '\x08', 0, 0, 0, 0, 0, 0, '\xff'};

void put_le32(std::array<char, 8>& out, std::size_t offset, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out[offset + static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
}

std::string sha256_id(util::Sha256& hash) { return "sha256:" + hash.finish_hex(); }

}  // namespace

std::string_view to_string(Compression compression) {
    switch (compression) {
        case Compression::Gzip: return "gzip";
        case Compression::Zstd: return "zstd";
        case Compression::None: return "none";
    }
    return "none";
}

std::optional<Compression> parse_compression(std::string_view text) {
    for (Compression c : {Compression::Gzip, Compression::Zstd, Compression::None})
        if (text == to_string(c)) return c;
    return std::nullopt;
}

struct LayerCompressor::Codec {
    Compression compression;
    ByteSink out;
    CompressorOptions options;
    util::Sha256 raw_hash;
    util::Sha256 compressed_hash;
    std::uint64_t raw_size = 0;
    std::uint64_t compressed_size = 0;
    bool finished = false;

    // Gzip before the switch: the whole layer. Streaming codecs: less than
    // one ChunkSize piece not yet handed over.
    std::string staging;
    std::unique_ptr<ZlibDeflater> zlib;  // gzip, once past whole_buffer_limit
    ZstdContext zstd;
    std::uint32_t crc = 0;               // gzip streaming: CRC-32 so far
    std::unique_ptr<char[]> out_buffer;  // streaming codecs

    void emit(std::string_view bytes) {
        if (bytes.empty()) return;
        compressed_hash.update(bytes);
        compressed_size += bytes.size();
        out(bytes);
    }

    bool streaming() const { return compression == Compression::Zstd || zlib != nullptr; }

    void start_zstd() {
        zstd.reset(ZSTD_createCCtx());
        if (!zstd) throw library_error("libzstd", "cannot create a compression context");
        auto set = [&](ZSTD_cParameter parameter, int value) {
            std::size_t rc = ZSTD_CCtx_setParameter(zstd.get(), parameter, value);
            if (ZSTD_isError(rc)) throw library_error("libzstd", ZSTD_getErrorName(rc));
        };
        set(ZSTD_c_compressionLevel, ZstdLevel);
        set(ZSTD_c_checksumFlag, 1);
        set(ZSTD_c_nbWorkers, 0);  // single-threaded: the only mode whose output is defined by the level alone
        out_buffer = std::make_unique_for_overwrite<char[]>(OutSize);
    }

    // Gzip: the layer outgrew whole_buffer_limit. Continue with streaming
    // zlib over what was buffered, then over what follows.
    void switch_to_zlib() {
        zlib = std::make_unique<ZlibDeflater>();
        out_buffer = std::make_unique_for_overwrite<char[]>(OutSize);
        emit(std::string_view(GzipHeader.data(), GzipHeader.size()));
        std::string buffered = std::move(staging);
        staging.clear();
        feed(buffered);
    }

    // Hands `bytes` to the streaming codec in ChunkSize pieces, keeping the
    // remainder in `staging` for the next write or finish().
    void feed(std::string_view bytes) {
        if (!staging.empty()) {
            std::size_t take = std::min(bytes.size(), ChunkSize - staging.size());
            staging.append(bytes.substr(0, take));
            bytes.remove_prefix(take);
            if (staging.size() < ChunkSize) return;
            compress_piece(staging, false);
            staging.clear();
        }
        while (bytes.size() >= ChunkSize) {
            compress_piece(bytes.substr(0, ChunkSize), false);
            bytes.remove_prefix(ChunkSize);
        }
        staging.assign(bytes);
    }

    void compress_piece(std::string_view piece, bool last) {
        if (zlib) return deflate_piece(piece, last);
        zstd_piece(piece, last);
    }

    void deflate_piece(std::string_view piece, bool last) {
        crc = static_cast<std::uint32_t>(
            crc32_z(crc, reinterpret_cast<const Bytef*>(piece.data()), piece.size()));
        z_stream& s = zlib->stream();
        s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
        s.avail_in = static_cast<uInt>(piece.size());
        const int flush = last ? Z_FINISH : Z_NO_FLUSH;
        for (;;) {
            s.next_out = reinterpret_cast<Bytef*>(out_buffer.get());
            s.avail_out = static_cast<uInt>(OutSize);
            int rc = deflate(&s, flush);
            if (rc == Z_STREAM_ERROR) throw library_error("zlib", s.msg ? s.msg : "deflate failed");
            emit(std::string_view(out_buffer.get(), OutSize - s.avail_out));
            if (last ? rc == Z_STREAM_END : (s.avail_in == 0 && s.avail_out != 0)) break;
        }
    }

    void zstd_piece(std::string_view piece, bool last) {
        ZSTD_inBuffer input{piece.data(), piece.size(), 0};
        const ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
        for (;;) {
            ZSTD_outBuffer output{out_buffer.get(), OutSize, 0};
            std::size_t remaining = ZSTD_compressStream2(zstd.get(), &output, &input, mode);
            if (ZSTD_isError(remaining)) throw library_error("libzstd", ZSTD_getErrorName(remaining));
            emit(std::string_view(out_buffer.get(), output.pos));
            if (last ? remaining == 0 : input.pos == input.size) break;
        }
    }

    void gzip_trailer() {
        std::array<char, 8> trailer{};
        put_le32(trailer, 0, crc);
        put_le32(trailer, 4, static_cast<std::uint32_t>(raw_size & 0xffffffffu));  // ISIZE: size mod 2^32
        emit(std::string_view(trailer.data(), trailer.size()));
    }

    // The whole layer in one libdeflate call.
    void deflate_whole() {
        LibdeflateCompressor compressor(libdeflate_alloc_compressor(GzipLevel));
        if (!compressor) throw library_error("libdeflate", "cannot allocate a compressor");
        const std::size_t bound = libdeflate_deflate_compress_bound(compressor.get(), staging.size());
        auto body = std::make_unique_for_overwrite<char[]>(bound);
        const std::size_t n =
            libdeflate_deflate_compress(compressor.get(), staging.data(), staging.size(), body.get(), bound);
        if (n == 0) throw library_error("libdeflate", "the output did not fit its own bound");
        crc = libdeflate_crc32(0, staging.data(), staging.size());
        std::string().swap(staging);  // release the layer before handing out the blob
        emit(std::string_view(GzipHeader.data(), GzipHeader.size()));
        emit(std::string_view(body.get(), n));
        gzip_trailer();
    }
};

LayerCompressor::LayerCompressor(Compression compression, ByteSink out, CompressorOptions options)
    : m_codec(std::make_unique<Codec>()) {
    m_codec->compression = compression;
    m_codec->out = std::move(out);
    m_codec->options = options;
    if (compression == Compression::Zstd) m_codec->start_zstd();
    if (compression == Compression::Gzip && options.size_hint > 0 && options.size_hint <= options.whole_buffer_limit)
        m_codec->staging.reserve(static_cast<std::size_t>(options.size_hint));
}

LayerCompressor::~LayerCompressor() = default;

void LayerCompressor::write(std::string_view bytes) {
    Codec& c = *m_codec;
    if (c.finished) throw Error(ErrorCode::Internal, "LayerCompressor::write after finish");
    if (bytes.empty()) return;
    c.raw_hash.update(bytes);
    c.raw_size += bytes.size();
    if (c.compression == Compression::None) return c.emit(bytes);
    if (c.compression == Compression::Gzip && !c.zlib) {
        // raw_size already counts these bytes: switch when the total passes the limit.
        if (c.raw_size <= c.options.whole_buffer_limit) {
            c.staging.append(bytes);
            return;
        }
        c.switch_to_zlib();
    }
    c.feed(bytes);
}

CompressedLayer LayerCompressor::finish() {
    Codec& c = *m_codec;
    if (c.finished) throw Error(ErrorCode::Internal, "LayerCompressor::finish called twice");
    c.finished = true;
    if (c.compression == Compression::Gzip && !c.zlib) {
        c.deflate_whole();
    } else if (c.streaming()) {
        c.compress_piece(c.staging, true);
        c.staging.clear();
        if (c.zlib) c.gzip_trailer();
    }
    CompressedLayer layer;
    layer.compression = c.compression;
    layer.diff_id = sha256_id(c.raw_hash);
    layer.digest = c.compression == Compression::None ? layer.diff_id : sha256_id(c.compressed_hash);
    layer.uncompressed_size = c.raw_size;
    layer.size = c.compressed_size;
    return layer;
}

}  // namespace slate::oci
