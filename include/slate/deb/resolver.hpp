#pragma once
// The dependency resolver: the closure of what an image asks for, over the
// Packages indices of the configured suites, for one architecture.
//
// Semantics (documented in docs/resolver.md): Pre-Depends and Depends (plus
// Recommends/Suggests when asked); alternatives; version relations; virtual
// packages through Provides; Multi-Arch qualifiers; Conflicts and Breaks are
// checked. Essential packages are not added unless something depends on them.
// Choices are deterministic: a package already selected wins, then the first
// satisfiable alternative, then the highest version across the suites.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "slate/deb/archive.hpp"
#include "slate/deb/package_index.hpp"
#include "slate/util/log.hpp"

namespace slate::deb {

// One package version in one loaded index.
struct Candidate {
    const LoadedIndex* origin = nullptr;
    std::uint32_t id = 0;
    PackageRecord record;
};

// Every loaded index of one architecture, queried by name. The order of the
// indices breaks ties between equal versions (earlier wins).
class PackageUniverse {
public:
    PackageUniverse(std::vector<const LoadedIndex*> indices, std::string arch);

    const std::string& arch() const { return m_arch; }
    // All versions of the real package `name`, highest first.
    std::vector<Candidate> versions(std::string_view name) const;
    // Packages that provide `name`, each with its Provides entry.
    std::vector<std::pair<Candidate, Provide>> providers(std::string_view name) const;
    // Close matches for a misspelt name, best first.
    std::vector<std::string> suggestions(std::string_view name, std::size_t limit = 3) const;

private:
    std::vector<const LoadedIndex*> m_indices;
    std::string m_arch;
};

struct ResolveRequest {
    std::vector<std::string> packages;  // "name", "name=version", "name:arch"
    std::vector<std::string> exclude;   // names dropped from the closure
    bool recommends = false;
    bool suggests = false;
};

struct ResolvedPackage {
    std::string name, version, arch;
    std::string source, source_version;
    std::string suite, mirror;
    std::string filename, sha256;
    std::uint64_t size = 0;
    std::string required_by;  // the package that pulled it in; empty when requested
};

// A dependency left unsatisfied on purpose, because of `exclude`.
struct ExcludedDependency {
    std::string package;     // who depends
    std::string dependency;  // the relation text, e.g. "dpkg-lite (>= 1.0)"
    std::string excluded;    // the excluded package(s) that would have satisfied it
};

struct ResolveResult {
    std::string arch;
    std::vector<ResolvedPackage> packages;  // install order: dependencies first
    std::vector<ExcludedDependency> excluded;
};

class Resolver {
public:
    Resolver(const PackageUniverse& universe, util::LogSink& log);
    // Throws slate::Error: NotFound for unknown packages (with suggestions),
    // Unsatisfiable with the chain of dependencies and the candidates considered.
    ResolveResult resolve(const ResolveRequest& request);

private:
    const PackageUniverse& m_universe;
    util::LogSink& m_log;
};

}  // namespace slate::deb
