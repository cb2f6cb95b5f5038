// OSV records (https://ossf.github.io/osv-schema/): one file, a directory of
// them, or a zip such as OSV's per-ecosystem all.zip. Also feed detection.

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "vuln/json_support.hpp"
#include "slate/util/fs.hpp"
#include "slate/vuln/cvss.hpp"
#include "slate/vuln/feeds.hpp"
#include "util/archive_handle.hpp"

namespace slate::vuln {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Strings of an array member; a member of the wrong type is an error.
std::vector<std::string> strings_member(const json& object, const char* key) {
    std::vector<std::string> out;
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return out;
    if (!it->is_array()) throw std::invalid_argument(fmt::format("\"{}\" is not an array", key));
    for (const auto& item : *it) {
        if (!item.is_string()) throw std::invalid_argument(fmt::format("\"{}\" holds a non-string", key));
        out.push_back(item.get<std::string>());
    }
    return out;
}

// "Debian:12" -> true; "Debian" (no release), "PyPI", "Ubuntu:22.04" -> false.
bool is_debian_release(std::string_view ecosystem) {
    if (!ecosystem.starts_with("Debian:")) return false;
    std::string_view release = ecosystem.substr(7);
    return !release.empty() && std::all_of(release.begin(), release.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<RangeEvent> range_events(const json& range) {
    std::vector<RangeEvent> events;
    const json& list = range.at("events");
    if (!list.is_array() || list.empty()) throw std::invalid_argument("a range has no events");
    for (const auto& event : list) {
        if (!event.is_object() || event.size() != 1)
            throw std::invalid_argument("a range event must have exactly one of introduced, fixed, last_affected, limit");
        const auto& [key, value] = *event.items().begin();
        if (!value.is_string() || value.get<std::string>().empty())
            throw std::invalid_argument(fmt::format("range event \"{}\" has no version", key));
        RangeEvent out{RangeEvent::Kind::Introduced, value.get<std::string>()};
        if (key == "introduced")
            out.kind = RangeEvent::Kind::Introduced;
        else if (key == "fixed")
            out.kind = RangeEvent::Kind::Fixed;
        else if (key == "last_affected")
            out.kind = RangeEvent::Kind::LastAffected;
        else if (key == "limit")
            out.kind = RangeEvent::Kind::Limit;
        else
            throw std::invalid_argument(fmt::format("unknown range event \"{}\"", key));
        events.push_back(std::move(out));
    }
    return events;
}

// The most severe scored CVSS vector among `severities` into the advisory.
void take_severities(const json& object, Advisory& advisory) {
    auto it = object.find("severity");
    if (it == object.end() || !it->is_array()) return;
    for (const auto& severity : *it) {
        std::string type = string_member(severity, "type");
        if (!type.starts_with("CVSS_")) continue;
        std::string vector = string_member(severity, "score");
        auto score = score_cvss(vector);
        if (!score) continue;  // an unscoreable vector is not a reason to drop the record
        if (!advisory.cvss_score || score->base_score > *advisory.cvss_score) {
            advisory.cvss_score = score->base_score;
            advisory.cvss_vector = vector;
        }
    }
}

void read_record(const json& record, const AdvisorySink& sink, FeedStats& stats) {
    if (!record.is_object()) throw std::invalid_argument("a record is not an object");
    Advisory advisory;
    advisory.id = string_member(record, "id");
    if (advisory.id.empty()) throw std::invalid_argument("a record has no \"id\"");
    advisory.feed = to_string(FeedKind::Osv);
    advisory.modified = string_member(record, "modified");
    advisory.published = string_member(record, "published");
    advisory.summary = string_member(record, "summary");
    if (advisory.summary.empty()) {
        advisory.summary = string_member(record, "details");
        if (auto end = advisory.summary.find('\n'); end != std::string::npos) advisory.summary.resize(end);
    }
    advisory.aliases = strings_member(record, "aliases");
    for (auto& upstream : strings_member(record, "upstream"))
        if (std::find(advisory.aliases.begin(), advisory.aliases.end(), upstream) == advisory.aliases.end())
            advisory.aliases.push_back(std::move(upstream));
    if (!advisory.modified.empty() && advisory.modified > stats.newest) stats.newest = advisory.modified;
    if (record.contains("withdrawn") && !string_member(record, "withdrawn").empty()) {
        ++stats.withdrawn;
        return;
    }
    take_severities(record, advisory);
    auto affected_list = record.find("affected");
    if (affected_list != record.end() && !affected_list->is_array()) throw std::invalid_argument("\"affected\" is not an array");
    if (affected_list != record.end())
        for (const auto& entry : *affected_list) {
            const json& package = entry.at("package");
            std::string ecosystem = string_member(package, "ecosystem");
            if (!is_debian_release(ecosystem)) continue;
            Affected affected;
            affected.ecosystem = std::move(ecosystem);
            affected.package = string_member(package, "name");
            if (affected.package.empty()) throw std::invalid_argument("an affected package has no name");
            if (auto ranges = entry.find("ranges"); ranges != entry.end()) {
                if (!ranges->is_array()) throw std::invalid_argument("\"ranges\" is not an array");
                for (const auto& range : *ranges)
                    if (string_member(range, "type") == "ECOSYSTEM") affected.ranges.push_back(range_events(range));
            }
            affected.versions = strings_member(entry, "versions");
            if (auto specific = entry.find("ecosystem_specific"); specific != entry.end() && specific->is_object())
                affected.urgency = string_member(*specific, "urgency");
            take_severities(entry, advisory);
            if (affected.from_ranges()) advisory.affected.push_back(std::move(affected));
        }
    if (advisory.affected.empty()) {
        ++stats.out_of_scope;
        return;
    }
    ++stats.records;
    sink(std::move(advisory));
}

void read_zip(const fs::path& path, const AdvisorySink& sink, FeedStats& stats) {
    util::ArchiveReader reader(archive_read_new());
    archive* a = reader.get();
    // The seekable reader starts from the central directory, so a zip cut
    // short (a partial download) is refused rather than read in part.
    archive_read_support_format_zip_seekable(a);
    auto fail = [&](const std::string& what) {
        const char* why = archive_error_string(a);
        throw Error(ErrorCode::Parse, fmt::format("{} {}{}", path.string(), what, why ? std::string(": ") + why : ""),
                    "download the archive again");
    };
    if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) fail("is not a readable zip archive");
    archive_entry* entry = nullptr;
    std::string body;
    while (true) {
        int rc = archive_read_next_header(a, &entry);
        if (rc == ARCHIVE_EOF) return;
        if (rc < ARCHIVE_WARN) fail("is truncated or damaged");
        if (archive_entry_filetype(entry) != AE_IFREG) continue;
        std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
        if (!name.ends_with(".json")) continue;
        body.clear();
        char buffer[1 << 16];
        la_ssize_t n;
        while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0) body.append(buffer, static_cast<std::size_t>(n));
        if (n < 0) fail(fmt::format("member {} is truncated or damaged", name));
        read_osv_text(body, path.string() + ":" + name, sink, stats);
    }
}

bool is_zip(const fs::path& path) {
    std::string head = util::read_file_prefix(path, 4);
    return head == std::string_view("PK\x03\x04", 4) || head == std::string_view("PK\x05\x06", 4);
}

}  // namespace

const char* to_string(FeedKind kind) {
    switch (kind) {
    case FeedKind::DebianTracker: return "debian-tracker";
    case FeedKind::Osv: return "osv";
    case FeedKind::OpenVex: return "openvex";
    }
    return "osv";
}

void FeedStats::warn(std::string message) {
    if (warnings.size() < MaxWarnings) warnings.push_back(std::move(message));
}

void read_osv_text(std::string_view text, const std::string& origin, const AdvisorySink& sink, FeedStats& stats) {
    json document;
    try {
        document = json::parse(text);
    } catch (const json::exception& e) {
        ++stats.skipped;
        stats.warn(fmt::format("{}: not valid JSON ({}); skipped", origin, e.what()));
        return;
    }
    const json* records = &document;
    json single = json::array();
    if (document.is_object() && document.contains("vulns") && !document.contains("id")) {
        records = &document["vulns"];
    } else {
        single.push_back(std::move(document));
        records = &single;
    }
    if (!records->is_array()) {
        ++stats.skipped;
        stats.warn(fmt::format("{}: \"vulns\" is not an array; skipped", origin));
        return;
    }
    for (const auto& record : *records) {
        try {
            read_record(record, sink, stats);
        } catch (const std::exception& e) {  // json::exception or invalid_argument: one bad record
            ++stats.skipped;
            std::string id = record.is_object() ? string_member(record, "id") : "";
            stats.warn(fmt::format("{}: {}{}; skipped", origin, id.empty() ? "" : id + ": ", e.what()));
        }
    }
}

void read_osv(const fs::path& path, const AdvisorySink& sink, FeedStats& stats) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        std::vector<fs::path> files;
        for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
        if (ec) throw Error(ErrorCode::Io, fmt::format("cannot read directory {}: {}", path.string(), ec.message()));
        std::sort(files.begin(), files.end());  // a deterministic order, so warnings are too
        for (const auto& file : files) {
            util::MappedFile mapped(file);
            read_osv_text(mapped.view(), file.string(), sink, stats);
        }
        return;
    }
    if (is_zip(path)) return read_zip(path, sink, stats);
    util::MappedFile mapped(path);
    // A single file that is not JSON at all is the whole feed being wrong, not one record.
    std::string_view text = mapped.view();
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || (text[first] != '{' && text[first] != '['))
        throw Error(ErrorCode::Parse, fmt::format("{} is not an OSV record (not JSON)", path.string()),
                    "give an OSV .json file, a directory of them or a zip such as OSV's all.zip");
    read_osv_text(text, path.string(), sink, stats);
}

FeedKind detect_feed(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(ErrorCode::NotFound, fmt::format("feed {} does not exist", path.string()));
    if (fs::is_directory(path, ec) || is_zip(path)) return FeedKind::Osv;
    // The first few KiB say what it is: the keys of the top-level object.
    std::string head = util::read_file_prefix(path, 4096);
    auto first = head.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || head[first] != '{')
        throw Error(ErrorCode::Parse,
                    fmt::format("{} is not a vulnerability feed: it is not a JSON object{}", path.string(),
                                head.empty() ? " (it is empty)" : ""),
                    "give the Debian Security Tracker's JSON, OSV records (a .json, a directory or a zip) or an OpenVEX document");
    if (head.find("openvex.dev/ns") != std::string::npos) return FeedKind::OpenVex;
    if (head.find("\"schema_version\"") != std::string::npos || head.find("\"vulns\"") != std::string::npos ||
        (head.find("\"modified\"") != std::string::npos && head.find("\"id\"") != std::string::npos))
        return FeedKind::Osv;
    // The tracker: {"<package>": {"CVE-...": {...}}}. Its second key level names CVEs or TEMP- ids.
    auto second = head.find('{', first + 1);
    if (second != std::string::npos) {
        auto key = head.find('"', second);
        if (key != std::string::npos &&
            (head.compare(key + 1, 4, "CVE-") == 0 || head.compare(key + 1, 5, "TEMP-") == 0))
            return FeedKind::DebianTracker;
    }
    throw Error(ErrorCode::Parse, fmt::format("{} is JSON but not a feed slate knows", path.string()),
                "give the Debian Security Tracker's JSON, OSV records (a .json, a directory or a zip) or an OpenVEX document");
}

}  // namespace slate::vuln
