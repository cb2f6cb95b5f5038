// Benchmarks of layer writing: the deterministic tar writer, the layer
// compressor as slate uses it, and the deflate/zstd candidates it was chosen
// from (docs/compression.md has the figures and the choice).
//
// Input: a real layer, <build>/bench-data/layer.tar by default, or the file
// named by SLATE_BENCH_LAYER. docs/compression.md says how to make one from
// the python image's .debs (apt-get download + dpkg-deb -x + tar).
//
//   build/bench/bench_compress --benchmark_filter=Candidate
//   build/bench/bench_compress --benchmark_filter=LayerCompressor
#include <benchmark/benchmark.h>

#include <archive.h>
#include <archive_entry.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>
#ifdef SLATE_BENCH_HAVE_ISAL
#include <isa-l.h>
#endif

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "slate/oci/compress.hpp"
#include "slate/oci/tar.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace {

namespace fs = std::filesystem;
using slate::oci::Compression;

struct Inputs {
    fs::path layer_path = [] {
        if (const char* value = std::getenv("SLATE_BENCH_LAYER"); value && *value) return fs::path(value);
        return fs::path(SLATE_BENCH_DATA_DIR) / "layer.tar";
    }();
    std::optional<std::vector<slate::oci::TarEntry>> entries;  // read once with libarchive
    std::optional<std::string> layer;

    static Inputs& get() {
        static Inputs inputs;  // benchmark-process state only; libslate has none
        return inputs;
    }

    // The layer as slate writes it: the input's entries through TarWriter
    // (GNU tar's own pax output carries atime/ctime records slate omits).
    const std::string* tar(benchmark::State& state) {
        if (!entries && fs::exists(layer_path)) entries = read_entries(slate::util::read_file(layer_path));
        if (!entries) {
            state.SkipWithError((layer_path.string() + " is missing: see docs/compression.md, or set SLATE_BENCH_LAYER")
                                    .c_str());
            return nullptr;
        }
        if (!layer) {
            std::string out;
            slate::oci::TarWriter writer([&](std::string_view b) { out.append(b); }, 1700000000);
            for (const auto& e : *entries) writer.add(e);
            writer.finish();
            layer = std::move(out);
        }
        return &*layer;
    }

    const std::vector<slate::oci::TarEntry>* tar_entries(benchmark::State& state) {
        return tar(state) ? &*entries : nullptr;
    }

    static std::vector<slate::oci::TarEntry> read_entries(const std::string& data) {
        struct Deleter {
            void operator()(archive* a) const { archive_read_free(a); }
        };
        std::unique_ptr<archive, Deleter> reader(archive_read_new());
        archive_read_support_format_tar(reader.get());
        archive_read_open_memory(reader.get(), data.data(), data.size());
        std::vector<slate::oci::TarEntry> result;
        archive_entry* entry = nullptr;
        int rc;
        // ARCHIVE_WARN: e.g. pax keywords libarchive does not use; the entry is fine.
        while ((rc = archive_read_next_header(reader.get(), &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
            std::string path = archive_entry_pathname(entry);
            while (path.starts_with("./")) path.erase(0, 2);
            while (!path.empty() && path.back() == '/') path.pop_back();
            if (path.empty() || path == ".") continue;
            slate::oci::TarEntry e;
            e.path = path;
            e.mode = archive_entry_perm(entry);
            e.uid = static_cast<std::uint32_t>(archive_entry_uid(entry));
            e.gid = static_cast<std::uint32_t>(archive_entry_gid(entry));
            e.mtime = archive_entry_mtime(entry);
            if (const char* hard = archive_entry_hardlink(entry)) {
                e.type = slate::oci::TarType::Hardlink;
                e.link_target = hard;
                while (e.link_target.starts_with("./")) e.link_target.erase(0, 2);
            } else if (archive_entry_filetype(entry) == AE_IFDIR) {
                e.type = slate::oci::TarType::Directory;
            } else if (archive_entry_filetype(entry) == AE_IFLNK) {
                e.type = slate::oci::TarType::Symlink;
                e.link_target = archive_entry_symlink(entry);
            } else {
                std::string content(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
                archive_read_data(reader.get(), content.data(), content.size());
                e.content = std::make_shared<const std::string>(std::move(content));
            }
            result.push_back(std::move(e));
        }
        return result;
    }
};

void set_counters(benchmark::State& state, std::size_t input, std::size_t output) {
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(input));
    state.counters["input_MB"] = static_cast<double>(input) / 1e6;
    state.counters["output_MB"] = static_cast<double>(output) / 1e6;
    state.counters["ratio_pct"] = 100.0 * static_cast<double>(output) / static_cast<double>(input);
}

// The tar writer over the layer's entries (contents shared, not copied),
// into a sink that only counts.
void BM_TarWrite(benchmark::State& state) {
    const auto* entries = Inputs::get().tar_entries(state);
    if (!entries) return;
    std::uint64_t size = 0;
    for (auto _ : state) {
        slate::oci::TarWriter writer([](std::string_view b) { benchmark::DoNotOptimize(b.data()); }, 1700000000);
        for (const auto& e : *entries) writer.add(e);
        writer.finish();
        size = writer.bytes_written();
    }
    // Contents are passed through as views, so bytes/s would be meaningless:
    // report entries per second and the stream size.
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(entries->size()));
    state.counters["entries"] = static_cast<double>(entries->size());
    state.counters["output_MB"] = static_cast<double>(size) / 1e6;
}
BENCHMARK(BM_TarWrite)->Unit(benchmark::kMillisecond);

// What slate does per layer: compress plus both SHA-256 digests.
void BM_LayerCompressor(benchmark::State& state) {
    const std::string* data = Inputs::get().tar(state);
    if (!data) return;
    const auto compression = static_cast<Compression>(state.range(0));
    state.SetLabel(std::string(slate::oci::to_string(compression)));
    std::uint64_t size = 0;
    for (auto _ : state) {
        slate::oci::LayerCompressor compressor(compression, [](std::string_view b) { benchmark::DoNotOptimize(b.data()); });
        // In 64 KiB writes, roughly what a tar stream of many files looks like.
        for (std::size_t pos = 0; pos < data->size(); pos += 65536)
            compressor.write(std::string_view(*data).substr(pos, 65536));
        size = compressor.finish().size;
    }
    set_counters(state, data->size(), size);
}
BENCHMARK(BM_LayerCompressor)
    ->Arg(static_cast<int>(Compression::Gzip))
    ->Arg(static_cast<int>(Compression::Zstd))
    ->Arg(static_cast<int>(Compression::None))
    ->Unit(benchmark::kMillisecond);

void BM_Sha256(benchmark::State& state) {
    const std::string* data = Inputs::get().tar(state);
    if (!data) return;
    for (auto _ : state) benchmark::DoNotOptimize(slate::util::sha256_hex(*data));
    set_counters(state, data->size(), 32);
}
BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond);

// The candidates, whole layer in one call each, gzip framing included.

void BM_CandidateZlib(benchmark::State& state) {
    const std::string* data = Inputs::get().tar(state);
    if (!data) return;
    const int level = static_cast<int>(state.range(0));
    std::vector<unsigned char> out(compressBound(static_cast<uLong>(data->size())) + 64);
    std::size_t size = 0;
    for (auto _ : state) {
        z_stream s{};
        deflateInit2(&s, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
        s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data->data()));
        s.avail_in = static_cast<uInt>(data->size());
        s.next_out = out.data();
        s.avail_out = static_cast<uInt>(out.size());
        if (deflate(&s, Z_FINISH) != Z_STREAM_END) state.SkipWithError("zlib deflate did not finish");
        size = s.total_out;
        deflateEnd(&s);
    }
    set_counters(state, data->size(), size);
}
BENCHMARK(BM_CandidateZlib)->Arg(1)->Arg(6)->Arg(9)->Unit(benchmark::kMillisecond);

void BM_CandidateLibdeflate(benchmark::State& state) {
    const std::string* data = Inputs::get().tar(state);
    if (!data) return;
    const int level = static_cast<int>(state.range(0));
    libdeflate_compressor* compressor = libdeflate_alloc_compressor(level);
    std::vector<char> out(libdeflate_gzip_compress_bound(compressor, data->size()));
    std::size_t size = 0;
    for (auto _ : state) size = libdeflate_gzip_compress(compressor, data->data(), data->size(), out.data(), out.size());
    libdeflate_free_compressor(compressor);
    set_counters(state, data->size(), size);
}
BENCHMARK(BM_CandidateLibdeflate)->Arg(1)->Arg(6)->Arg(9)->Arg(12)->Unit(benchmark::kMillisecond);

#ifdef SLATE_BENCH_HAVE_ISAL
void BM_CandidateIsal(benchmark::State& state) {
    const std::string* data = Inputs::get().tar(state);
    if (!data) return;
    const int level = static_cast<int>(state.range(0));
    static constexpr std::size_t LevelBuffer[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                                  ISAL_DEF_LVL3_DEFAULT};
    std::vector<std::uint8_t> level_buffer(LevelBuffer[level]);
    std::vector<std::uint8_t> out(data->size() + data->size() / 8 + 65536);
    std::size_t size = 0;
    for (auto _ : state) {
        isal_zstream s;
        isal_deflate_init(&s);
        s.gzip_flag = IGZIP_GZIP;
        s.level = static_cast<std::uint32_t>(level);
        s.level_buf = level_buffer.data();
        s.level_buf_size = static_cast<std::uint32_t>(level_buffer.size());
        s.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(data->data()));
        s.avail_in = static_cast<std::uint32_t>(data->size());
        s.end_of_stream = 1;
        s.next_out = out.data();
        s.avail_out = static_cast<std::uint32_t>(out.size());
        if (isal_deflate(&s) != COMP_OK || s.internal_state.state != ZSTATE_END)
            state.SkipWithError("isal_deflate did not finish");
        size = s.total_out;
    }
    set_counters(state, data->size(), size);
}
BENCHMARK(BM_CandidateIsal)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond);
#endif

void BM_CandidateZstd(benchmark::State& state) {
    const std::string* data = Inputs::get().tar(state);
    if (!data) return;
    const int level = static_cast<int>(state.range(0));
    std::vector<char> out(ZSTD_compressBound(data->size()));
    ZSTD_CCtx* context = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
    std::size_t size = 0;
    for (auto _ : state) size = ZSTD_compress2(context, out.data(), out.size(), data->data(), data->size());
    ZSTD_freeCCtx(context);
    set_counters(state, data->size(), size);
}
BENCHMARK(BM_CandidateZstd)->Arg(1)->Arg(3)->Arg(6)->Arg(9)->Arg(19)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
