// Java archives (jar, war, ear): META-INF/maven/<group>/<artifact>/pom.properties
// names the Maven artifacts inside (one for a plain jar, several for a shaded
// one), META-INF/MANIFEST.MF describes the archive itself. Read with
// libarchive's zip reader straight from memory.

#include <archive.h>
#include <archive_entry.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "sbom/language_support.hpp"
#include "slate/sbom/languages.hpp"
#include "slate/sbom/purl.hpp"
#include "util/archive_handle.hpp"

namespace slate::sbom {
namespace {

constexpr la_int64_t k_member_limit = 1 << 20;  // metadata members larger than this are not read

// Key/value lines of a manifest's main section or a .properties file, keys
// lowercased. Manifest lines wrap at 72 bytes: a line starting with one space
// continues the previous one.
class Attributes {
public:
    static Attributes manifest(std::string_view text) {
        Attributes out;
        for (std::string_view line : lines(text)) {
            if (line.empty()) break;  // the main section ends at the first empty line
            if (line.front() == ' ') {
                if (!out.m_values.empty()) out.m_values.back().second += line.substr(1);
                continue;
            }
            out.add(line, ':');
        }
        return out;
    }

    // Java properties as Maven writes them: key=value, '#' and '!' comments.
    static Attributes properties(std::string_view text) {
        Attributes out;
        for (std::string_view line : lines(text)) {
            line = lang::trim(line);
            if (line.empty() || line.front() == '#' || line.front() == '!') continue;
            out.add(line, line.find('=') != std::string_view::npos ? '=' : ':');
        }
        return out;
    }

    std::string get(std::string_view key) const {
        for (const auto& [name, value] : m_values)
            if (name == key) return std::string(lang::trim(value));
        return {};
    }

private:
    static std::vector<std::string_view> lines(std::string_view text) {
        std::vector<std::string_view> out;
        while (!text.empty()) {
            auto end = text.find_first_of("\r\n");
            out.push_back(text.substr(0, end));
            if (end == std::string_view::npos) break;
            // CRLF is one line break.
            std::size_t skip = text.compare(end, 2, "\r\n") == 0 ? 2 : 1;
            text.remove_prefix(end + skip);
        }
        return out;
    }

    void add(std::string_view line, char separator) {
        auto at = line.find(separator);
        if (at == std::string_view::npos) return;
        std::string key(lang::trim(line.substr(0, at)));
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        m_values.emplace_back(std::move(key), std::string(line.substr(at + 1)));
    }

    std::vector<std::pair<std::string, std::string>> m_values;
};

struct ArchiveMetadata {
    std::string manifest;
    std::vector<std::string> pom_properties;
    std::string error;  // why the archive could not be read to the end
};

bool is_pom_properties(std::string_view name) {
    return name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties");
}

// A zip ends with its end-of-central-directory record (22 bytes and a
// comment of up to 64 KiB). Without it the archive was cut short, even when
// every entry before the cut can still be streamed.
bool has_end_of_central_directory(std::string_view bytes) {
    constexpr std::string_view signature{"PK\x05\x06", 4};
    constexpr std::size_t record = 22, max_comment = 0xffff;
    if (bytes.size() < record) return false;
    std::size_t from = bytes.size() > record + max_comment ? bytes.size() - record - max_comment : 0;
    for (std::size_t at = bytes.rfind(signature, bytes.size() - record); at != std::string_view::npos && at >= from;
         at = at == 0 ? std::string_view::npos : bytes.rfind(signature, at - 1)) {
        // The comment length must reach exactly to the end of the file.
        auto comment = static_cast<std::size_t>(static_cast<std::uint8_t>(bytes[at + 20])) |
                       static_cast<std::size_t>(static_cast<std::uint8_t>(bytes[at + 21])) << 8;
        if (at + record + comment == bytes.size()) return true;
    }
    return false;
}

ArchiveMetadata read_archive(std::string_view bytes) {
    ArchiveMetadata out;
    // Read on without it (what can be streamed is still listed), but say so.
    if (!has_end_of_central_directory(bytes)) out.error = "it is truncated (no end of central directory)";
    util::ArchiveReader reader(archive_read_new());
    archive* a = reader.get();
    archive_read_support_format_zip(a);
    auto fail = [&](const char* what) {
        const char* why = archive_error_string(a);
        out.error = std::string(what) + (why ? std::string(": ") + why : std::string{});
    };
    if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
        fail("it is not a zip archive");
        return out;
    }
    archive_entry* entry = nullptr;
    while (true) {
        int rc = archive_read_next_header(a, &entry);
        if (rc == ARCHIVE_EOF) return out;  // out.error may say it was cut short
        if (rc < ARCHIVE_WARN) {
            fail("it is truncated or damaged");
            return out;
        }
        const char* raw = archive_entry_pathname(entry);
        std::string_view name = raw ? raw : "";
        bool manifest = lang::iequals(name, "META-INF/MANIFEST.MF");
        if (!manifest && !is_pom_properties(name)) continue;
        la_int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
        if (size < 0 || size > k_member_limit) continue;
        // Streamed zip entries may not declare their size: read in blocks.
        std::string content;
        char buffer[16384];
        while (true) {
            la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
            if (n < 0) {
                fail("it is truncated or damaged");
                return out;
            }
            if (n == 0) break;
            content.append(buffer, static_cast<std::size_t>(n));
            if (static_cast<la_int64_t>(content.size()) > k_member_limit) break;
        }
        if (manifest) {
            out.manifest = std::move(content);
        } else {
            out.pom_properties.push_back(std::move(content));
        }
    }
}

// "commons-io-2.11.0.jar" -> {"commons-io", "2.11.0"}: the version starts
// at the first '-' followed by a digit.
std::pair<std::string, std::string> split_file_name(std::string_view path) {
    std::string_view stem = lang::base_name(path);
    if (auto dot = stem.rfind('.'); dot != std::string_view::npos) stem = stem.substr(0, dot);
    for (std::size_t i = 0; i + 1 < stem.size(); ++i) {
        if (stem[i] == '-' && std::isdigit(static_cast<unsigned char>(stem[i + 1])) && i > 0)
            return {std::string(stem.substr(0, i)), std::string(stem.substr(i + 1))};
    }
    return {std::string(stem), {}};
}

bool has_space(const std::string& text) { return text.find_first_of(" \t") != std::string::npos; }

// Bundle-License: "Apache-2.0", a licence URL, or an OSGi clause list
// ("Apache-2.0;link=..."). Only one recognised licence is used; anything
// else is left as NOASSERTION.
std::string manifest_license(const Attributes& manifest) {
    std::string text = manifest.get("bundle-license");
    if (text.empty() || text.find(',') != std::string::npos) return "NOASSERTION";
    std::string id = lang::spdx_license(std::string_view(text).substr(0, text.find(';')));
    return id.empty() ? "NOASSERTION" : id;
}

// What the manifest says about the archive itself.
void describe_from_manifest(Package& package, const Attributes& manifest) {
    package.description = manifest.get("bundle-description");
    if (package.description.empty()) package.description = manifest.get("implementation-title");
    package.homepage = manifest.get("bundle-docurl");
    if (package.homepage.empty()) package.homepage = manifest.get("implementation-url");
    package.maintainer = manifest.get("bundle-vendor");
    if (package.maintainer.empty()) package.maintainer = manifest.get("implementation-vendor");
    package.license_declared = manifest_license(manifest);
}

// The archive as one package when it has no pom.properties: the name from
// the manifest when it gives one without spaces (a title like "Apache Commons
// IO" is a poor package name), else from the file name; the version from the
// manifest, else from the file name.
Package manifest_package(std::string_view path, const Attributes& manifest) {
    auto [file_name, file_version] = split_file_name(path);
    std::string symbolic = manifest.get("bundle-symbolicname");
    symbolic = symbolic.substr(0, symbolic.find(';'));  // "org.example;singleton:=true"
    std::string name;
    for (const std::string& candidate :
         {manifest.get("bundle-name"), manifest.get("implementation-title"), symbolic}) {
        if (!candidate.empty() && !has_space(candidate)) {
            name = candidate;
            break;
        }
    }
    if (name.empty()) name = file_name;
    std::string version;
    for (const std::string& candidate : {manifest.get("implementation-version"), manifest.get("bundle-version"),
                                         manifest.get("specification-version"), file_version}) {
        if (!candidate.empty()) {
            version = candidate;
            break;
        }
    }
    Package package;
    package.type = PackageType::Java;
    package.name = name;
    package.version = version;
    describe_from_manifest(package, manifest);
    return package;
}

}  // namespace

BinaryFindings java_packages(std::string_view path, std::string_view bytes) {
    BinaryFindings findings;
    ArchiveMetadata metadata = read_archive(bytes);
    if (!metadata.error.empty())
        findings.warnings.push_back(Warning{std::string(path), "cannot read the Java archive: " + metadata.error +
                                                                   ". Packages inside it may be missing."});
    Attributes manifest = Attributes::manifest(metadata.manifest);
    FileEntry evidence = lang::evidence(path, bytes);
    std::string file_name = split_file_name(path).first;

    for (const std::string& text : metadata.pom_properties) {
        Attributes pom = Attributes::properties(text);
        Package package;
        package.type = PackageType::Java;
        package.name = pom.get("artifactid");
        package.version = pom.get("version");
        std::string group = pom.get("groupid");
        if (package.name.empty() || package.version.empty()) {
            findings.warnings.push_back(Warning{std::string(path), "a pom.properties in the Java archive has no "
                                                                   "artifactId or version; that artifact is not listed."});
            continue;
        }
        if (!group.empty()) package.purl = maven_purl(group, package.name, package.version);
        // The manifest describes the archive: it belongs to the artifact the
        // archive is named after, or to the only one.
        if (metadata.pom_properties.size() == 1 || package.name == file_name)
            describe_from_manifest(package, manifest);
        package.evidence.push_back(evidence);
        findings.packages.push_back(std::move(package));
    }
    // Without pom.properties (and when the archive could be read at all).
    if (metadata.pom_properties.empty() && (metadata.error.empty() || !metadata.manifest.empty())) {
        Package package = manifest_package(path, manifest);
        if (!package.name.empty()) {
            package.evidence.push_back(evidence);
            findings.packages.push_back(std::move(package));
        }
    }
    return findings;
}

}  // namespace slate::sbom
