// Scans many SBOMs in one process, as a fleet re-match does when advisories
// change: the database is opened once, then each SBOM is read, matched and
// rendered as JSON. Prints the total and per-SBOM wall time.
//
//   bench_scan [--json] DB SBOM...      (bench/scan.sh makes the inputs)
//
// With --json each report is also rendered as `slate scan --format json`
// would print it (its cost grows with the number of findings).
//
// Exit status 1 on an error.

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "slate/sbom/read.hpp"
#include "slate/vuln/match.hpp"
#include "slate/vuln/writers.hpp"

int main(int argc, char** argv) {
    int first = 1;
    bool json = argc > 1 && std::string(argv[1]) == "--json";
    if (json) ++first;
    if (argc - first < 2) {
        std::fprintf(stderr, "usage: bench_scan [--json] DB SBOM...\n");
        return 2;
    }
    try {
        using Clock = std::chrono::steady_clock;
        auto start = Clock::now();
        slate::vuln::Database db(argv[first]);
        slate::vuln::ScanOptions options;
        options.now = 1795000000;
        std::size_t findings = 0, bytes = 0;
        for (int i = first + 1; i < argc; ++i) {
            slate::sbom::Catalog catalog = slate::sbom::read_sbom_file(argv[i]);
            slate::vuln::ScanReport report = slate::vuln::scan_catalog(db, catalog, options, {}, {});
            findings += report.matches.size();
            if (json) bytes += slate::vuln::to_json(report).size();
        }
        double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        int count = argc - first - 1;
        std::printf("%d SBOMs in %.3f s (%.2f ms each): %zu findings, %zu bytes of JSON\n", count, seconds,
                    seconds * 1000 / count, findings, bytes);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_scan: %s\n", e.what());
        return 1;
    }
}
