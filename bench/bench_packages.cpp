// Benchmarks of the Packages index on real data: bookworm main amd64 (~63k
// stanzas). Run bench/prepare.sh first (see bench/README.md); it leaves
//   <build>/bench-data/Packages      the decompressed index
//   <build>/bench-data/Packages.xz   as the archive serves it
// Other files can be named with SLATE_BENCH_PACKAGES and SLATE_BENCH_PACKAGES_XZ.
//
// Measured: decompress_file (xz), PackageIndex::parse, PackageIndex::load of
// the binary form, compare_versions on realistic version pairs, and a
// resolve of python3 over the loaded index.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>
#include <vector>

#include "slate/deb/archive.hpp"
#include "slate/deb/package_index.hpp"
#include "slate/deb/resolver.hpp"
#include "slate/deb/version.hpp"
#include "slate/error.hpp"
#include "slate/util/compress.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/log.hpp"

namespace {

namespace fs = std::filesystem;
using slate::deb::PackageIndex;

fs::path input_path(const char* variable, const char* default_name) {
    if (const char* value = std::getenv(variable); value && *value) return value;
    return fs::path(SLATE_BENCH_DATA_DIR) / default_name;
}

// The benchmark inputs, read once. A missing input skips the benchmarks that
// need it with a message saying how to make it.
struct Inputs {
    fs::path packages_path = input_path("SLATE_BENCH_PACKAGES", "Packages");
    fs::path xz_path = input_path("SLATE_BENCH_PACKAGES_XZ", "Packages.xz");
    std::optional<std::string> packages_text;

    static Inputs& get() {
        static Inputs inputs;  // benchmark-process state only; libslate has none
        return inputs;
    }

    const std::string* text(benchmark::State& state) {
        if (!packages_text && fs::exists(packages_path)) packages_text = slate::util::read_file(packages_path);
        if (!packages_text)
            state.SkipWithError((packages_path.string() + " is missing: run bench/prepare.sh or set SLATE_BENCH_PACKAGES")
                                    .c_str());
        return packages_text ? &*packages_text : nullptr;
    }
};

void BM_DecompressXz(benchmark::State& state) {
    auto& inputs = Inputs::get();
    if (!fs::exists(inputs.xz_path)) {
        state.SkipWithError((inputs.xz_path.string() + " is missing: run bench/prepare.sh").c_str());
        return;
    }
    std::size_t out_bytes = 0;
    for (auto _ : state) {
        auto text = slate::util::decompress_file(inputs.xz_path, "Packages.xz");
        out_bytes = text.size();
        benchmark::DoNotOptimize(text.data());
    }
    // Throughput in decompressed bytes, like the parse benchmark.
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out_bytes));
    state.counters["in_MB"] = static_cast<double>(fs::file_size(inputs.xz_path)) / 1e6;
    state.counters["out_MB"] = static_cast<double>(out_bytes) / 1e6;
}
BENCHMARK(BM_DecompressXz)->Unit(benchmark::kMillisecond);

void BM_PackageIndexParse(benchmark::State& state) {
    const std::string* text = Inputs::get().text(state);
    if (!text) return;
    std::size_t stanzas = 0;
    for (auto _ : state) {
        auto index = PackageIndex::parse(*text, "Packages");
        stanzas = index.size();
        benchmark::DoNotOptimize(stanzas);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text->size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * stanzas));
    state.counters["stanzas"] = static_cast<double>(stanzas);
    state.counters["input_MB"] = static_cast<double>(text->size()) / 1e6;
}
BENCHMARK(BM_PackageIndexParse)->Unit(benchmark::kMillisecond);

// The binary form written by save(), in a scratch file removed at exit.
class SavedIndex {
public:
    explicit SavedIndex(const std::string& text) {
        m_path = fs::temp_directory_path() / ("slate-bench-index-" + std::to_string(::getpid()));
        PackageIndex::parse(text, "Packages").save(m_path);
    }
    ~SavedIndex() {
        std::error_code ec;
        fs::remove(m_path, ec);
    }
    SavedIndex(const SavedIndex&) = delete;
    SavedIndex& operator=(const SavedIndex&) = delete;
    const fs::path& path() const { return m_path; }

private:
    fs::path m_path;
};

void BM_PackageIndexLoad(benchmark::State& state) {
    const std::string* text = Inputs::get().text(state);
    if (!text) return;
    SavedIndex saved(*text);
    std::size_t stanzas = 0;
    for (auto _ : state) {
        auto index = PackageIndex::load(saved.path());
        if (!index) {
            state.SkipWithError("PackageIndex::load refused the file save() just wrote");
            return;
        }
        // One lookup, so a lazy load cannot hide its cost.
        benchmark::DoNotOptimize(index->find("python3"));
        stanzas = index->size();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fs::file_size(saved.path())));
    state.counters["stanzas"] = static_cast<double>(stanzas);
    state.counters["binary_MB"] = static_cast<double>(fs::file_size(saved.path())) / 1e6;
}
BENCHMARK(BM_PackageIndexLoad)->Unit(benchmark::kMicrosecond);

// Pairs the resolver really compares: a candidate against a dependency bound,
// security updates against point releases, epochs, tildes, +b binNMUs.
const std::vector<std::pair<std::string_view, std::string_view>> realistic_pairs = {
    {"2.36-9+deb12u14", "2.36"},
    {"2.36-9+deb12u14", "2.36-9+deb12u13"},
    {"12.2.0-14+deb12u1", "12.2.0-14"},
    {"1:1.2.13.dfsg-1", "1:1.1.4"},
    {"3.11.2-6+deb12u9", "3.11.2-6+deb12u6"},
    {"3.0.22-1~deb12u2", "3.0.22-1"},
    {"1.21.23", "1.13.20"},
    {"5.4.1-1+deb12u2", "5.4.1-1"},
    {"1:4.4.33-2", "1:4.1.0"},
    {"2:1.19~1", "2:1.19~1+b1"},
    {"1.0.8-5+b1", "1.0.8-5"},
    {"10.42-1+deb12u2", "10.22-1"},
    {"6.4-4", "6.4-4"},
    {"17.0.15+6-1~deb12u1", "17.0.15+6-1"},
    {"8.2.28-1~deb12u1", "8.2.7"},
    {"1.20.1-2+deb12u5", "1.20.1-2+deb12u4"},
};

void BM_CompareVersionsRealisticPairs(benchmark::State& state) {
    for (auto _ : state)
        for (const auto& [a, b] : realistic_pairs) benchmark::DoNotOptimize(slate::deb::compare_versions(a, b));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * realistic_pairs.size()));
}
BENCHMARK(BM_CompareVersionsRealisticPairs);

// Every version in the archive against the next record's: the real mix of
// lengths and shapes (adjacent records are often the same source package).
void BM_CompareVersionsWholeIndex(benchmark::State& state) {
    const std::string* text = Inputs::get().text(state);
    if (!text) return;
    auto index = PackageIndex::parse(*text, "Packages");
    std::vector<std::string_view> versions;
    for (std::uint32_t i = 0; i < index.size(); ++i) versions.push_back(index.record(i).version);
    for (auto _ : state)
        for (std::size_t i = 1; i < versions.size(); ++i)
            benchmark::DoNotOptimize(slate::deb::compare_versions(versions[i - 1], versions[i]));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * (versions.size() - 1)));
}
BENCHMARK(BM_CompareVersionsWholeIndex)->Unit(benchmark::kMillisecond);

// The resolver alone, over the one index (no -updates/-security here).
void BM_ResolvePython3(benchmark::State& state) {
    const std::string* text = Inputs::get().text(state);
    if (!text) return;
    slate::deb::LoadedIndex loaded{"bookworm", "main", "amd64", "", "main/binary-amd64/Packages", "",
                                   PackageIndex::parse(*text, "Packages")};
    slate::deb::PackageUniverse universe({&loaded}, "amd64");
    slate::util::NullLog log;
    slate::deb::ResolveRequest request;
    request.packages = {"python3"};
    std::size_t packages = 0;
    for (auto _ : state) {
        slate::deb::Resolver resolver(universe, log);
        auto result = resolver.resolve(request);
        packages = result.packages.size();
        benchmark::DoNotOptimize(result.packages.data());
    }
    state.counters["packages"] = static_cast<double>(packages);
}
BENCHMARK(BM_ResolvePython3)->Unit(benchmark::kMicrosecond);

}  // namespace

// A library failure (e.g. a corrupt input) is reported, not thrown through
// Google Benchmark's runner.
int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    try {
        benchmark::RunSpecifiedBenchmarks();
    } catch (const slate::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.describe().c_str());
        return 1;
    }
    benchmark::Shutdown();
    return 0;
}
