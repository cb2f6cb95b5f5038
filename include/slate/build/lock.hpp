#pragma once
// Lock files: exactly which Debian packages an image is made of, per
// architecture, and from which signed suites. `slate lock` writes one;
// `slate build --lock` builds exactly its contents.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/build/image_spec.hpp"
#include "slate/deb/archive.hpp"
#include "slate/deb/resolver.hpp"
#include "slate/util/log.hpp"

namespace slate::build {

inline constexpr int LockfileVersion = 1;

struct LockedSuite {
    std::string suite;
    std::string mirror;
    std::vector<std::string> components;
    std::string inrelease_sha256;
    std::string date;  // the Release's Date
};

struct LockedArch {
    std::vector<deb::ResolvedPackage> packages;     // install order
    std::vector<deb::ExcludedDependency> excluded;  // left unsatisfied on purpose
};

struct Lock {
    std::string spec_name;
    std::string spec_digest;  // "sha256:<hex>" of the spec file
    std::vector<LockedSuite> suites;
    std::map<std::string, LockedArch> archs;
};

// Fetches the suites' releases and indices and resolves `request` for every
// architecture. The suites' order is the tie-break order for equal versions.
Lock resolve_lock(const ImageSpec& spec, const std::vector<deb::SuiteSource>& suites, deb::ArchiveClient& archive,
                  util::LogSink& log);

// Loads every release's indices for `arch` and resolves `request` over them,
// logging a warning for each dependency left unsatisfied by an exclude.
deb::ResolveResult resolve_arch(deb::ArchiveClient& archive, const std::vector<deb::SuiteRelease>& releases,
                                const deb::ResolveRequest& request, const std::string& arch, util::LogSink& log);

// One resolved package as lock files and `slate resolve --json` print it.
nlohmann::ordered_json package_json(const deb::ResolvedPackage& package);

// The request a spec makes of the resolver.
deb::ResolveRequest request_from_spec(const ImageSpec& spec);

// Deterministic JSON (same lock, same bytes).
std::string lock_to_json(const Lock& lock);
// Throws slate::Error (Parse) naming `display_name`.
Lock lock_from_json(const std::string& text, const std::string& display_name);

// "images/python3.yaml" -> "images/python3.lock.json"
std::filesystem::path lock_path_for(const std::filesystem::path& spec_path);

// Human-readable differences between two locks, empty when equal.
std::vector<std::string> lock_differences(const Lock& before, const Lock& after);

}  // namespace slate::build
