#pragma once
// A parsed Packages index: the fields slate needs from every stanza, sorted by
// package name, with a Provides table. It saves to and loads from a compact
// binary form that is memory-mapped: a warm load is one mmap plus a CRC-32
// pass over the file (about 9 ms for bookworm main amd64), no parsing.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slate/deb/version.hpp"

namespace slate::deb {

enum class MultiArch : std::uint8_t { No, Same, Foreign, Allowed };
// Lower is more important, as in Debian policy order.
enum class Priority : std::uint8_t { Required, Important, Standard, Optional, Extra, Unknown };

std::string_view to_string(MultiArch ma);
std::string_view to_string(Priority priority);

// One binary package version. Views stay valid while the index lives.
struct PackageRecord {
    std::string_view name;
    std::string_view version;
    std::string_view architecture;
    std::string_view source;          // source package name (the binary name when absent)
    std::string_view source_version;  // source version (the binary version when absent)
    std::string_view filename;        // pool path relative to the mirror
    std::string_view sha256;
    std::string_view depends;
    std::string_view pre_depends;
    std::string_view recommends;
    std::string_view suggests;
    std::string_view provides;
    std::string_view conflicts;
    std::string_view breaks;
    std::string_view replaces;
    std::string_view section;
    std::string_view installed_size;
    std::uint64_t size = 0;
    MultiArch multi_arch = MultiArch::No;
    Priority priority = Priority::Unknown;
    bool essential = false;
};

// A Provides entry: record `record` provides `name` (optionally at `version`).
struct Provide {
    std::string_view name;
    VersionOp op = VersionOp::Any;  // Eq for versioned provides
    std::string_view version;
    std::uint32_t record = 0;
};

class PackageIndex {
public:
    // Parses Packages text (already decompressed). Throws slate::Error (Parse)
    // naming `display_name` and the line for malformed stanzas.
    static PackageIndex parse(std::string_view packages_text, const std::string& display_name);

    // Loads the binary form written by save(); nullopt when the file is
    // missing, of another format version, or damaged (the caller rebuilds).
    static std::optional<PackageIndex> load(const std::filesystem::path& path);
    // Writes the binary form atomically.
    void save(const std::filesystem::path& path) const;

    PackageIndex(PackageIndex&&) noexcept;
    PackageIndex& operator=(PackageIndex&&) noexcept;
    ~PackageIndex();

    std::size_t size() const;
    PackageRecord record(std::uint32_t i) const;
    // Indices of the records named `name` (several versions are possible).
    std::vector<std::uint32_t> find(std::string_view name) const;
    // Every Provides entry for the virtual name `name`.
    std::vector<Provide> providers(std::string_view name) const;
    // All distinct package names, for suggestions.
    std::vector<std::string_view> names() const;

private:
    struct Storage;
    explicit PackageIndex(std::unique_ptr<Storage> storage);
    std::unique_ptr<Storage> m_storage;
};

}  // namespace slate::deb
