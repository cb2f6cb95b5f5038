#include "slate/sbom/catalog.hpp"

#include "slate/util/hash.hpp"

namespace slate::sbom {

const char* to_string(PackageType type) {
    switch (type) {
        case PackageType::Deb: return "deb";
        case PackageType::Python: return "python";
        case PackageType::Npm: return "npm";
        case PackageType::Go: return "go-module";
        case PackageType::Java: return "java-archive";
    }
    return "unknown";
}

FileEntry file_entry(std::string_view path, std::string_view content) {
    FileEntry entry;
    entry.path = std::string(path);
    entry.sha256 = util::sha256_hex(content);
    entry.sha1 = util::sha1_hex(content);
    entry.size = content.size();
    return entry;
}

}  // namespace slate::sbom
