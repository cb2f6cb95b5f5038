// Advisories mined from changelogs: the records, and writing them out. The
// archive side (finding and reading the changelogs) is in mine_archive.cpp.
#include "slate/vuln/mine.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"

namespace slate::vuln {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view IdPrefix = "x_SLATE-CL-";
constexpr std::string_view OsvSchemaVersion = "1.6.0";

std::string rfc3339(std::int64_t seconds) {
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (!::gmtime_r(&t, &tm)) return "1970-01-01T00:00:00Z";
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                       tm.tm_min, tm.tm_sec);
}

std::string_view ltrim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

std::string header_line(const deb::ChangelogEntry& entry) {
    std::string dists;
    for (const auto& d : entry.distributions) dists += " " + d;
    std::string line = fmt::format("{} ({}){};", entry.source, entry.version, dists);
    if (!entry.urgency.empty()) line += " urgency=" + entry.urgency;
    return line;
}

// The change items of an entry's text: a line starting with "*", "-", "+" or
// "[" (after its indentation) begins an item, other lines continue the
// current one. Lines lose their indentation.
std::vector<std::string> change_items(std::string_view text) {
    std::vector<std::string> items;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = ltrim(text.substr(pos, end - pos));
        pos = end + 1;
        if (line.empty()) continue;
        bool starts = line.front() == '*' || line.front() == '-' || line.front() == '+' || line.front() == '[';
        if (starts || items.empty()) items.emplace_back(line);
        else items.back() += "\n" + std::string(line);
    }
    return items;
}

// The fixing entry's header and the items naming `cve` (the whole text when
// no single item does).
std::string details_for(const deb::ChangelogEntry& entry, const std::string& cve) {
    std::string naming;
    for (const auto& item : change_items(entry.text)) {
        auto ids = deb::find_cve_ids(item);
        if (std::find(ids.begin(), ids.end(), cve) != ids.end()) naming += (naming.empty() ? "" : "\n") + item;
    }
    if (naming.empty()) naming = entry.text;
    return header_line(entry) + "\n\n" + naming;
}

nlohmann::ordered_json make_osv(const std::string& id, const std::string& cve, std::string_view source,
                                std::string_view release, const deb::ChangelogEntry& fixing,
                                const std::string& newest_version) {
    nlohmann::ordered_json record;
    record["schema_version"] = OsvSchemaVersion;
    record["id"] = id;
    record["modified"] = rfc3339(fixing.date);
    record["published"] = rfc3339(fixing.date);
    record["aliases"] = nlohmann::ordered_json::array({cve});
    record["upstream"] = nlohmann::ordered_json::array({cve});
    record["summary"] = fmt::format("{} in {}, fixed in {}", cve, source, fixing.version);
    record["details"] = details_for(fixing, cve);

    nlohmann::ordered_json affected;
    affected["package"] = {{"ecosystem", fmt::format("Debian:{}", release)},
                           {"name", source},
                           {"purl", fmt::format("pkg:deb/debian/{}?arch=source", source)}};
    nlohmann::ordered_json range;
    range["type"] = "ECOSYSTEM";
    range["events"] = nlohmann::ordered_json::array({{{"introduced", "0"}}, {{"fixed", fixing.version}}});
    affected["ranges"] = nlohmann::ordered_json::array({range});
    affected["ecosystem_specific"] = {{"urgency", fixing.urgency.empty() ? "unknown" : fixing.urgency}};
    record["affected"] = nlohmann::ordered_json::array({affected});

    record["database_specific"] = {{"source", "debian-changelog"},
                                   {"changelog_version", newest_version},
                                   {"fixed_distributions", fixing.distributions}};
    return record;
}

bool is_record_file(const fs::directory_entry& entry) {
    std::string name = entry.path().filename().string();
    std::error_code ec;
    return name.starts_with(IdPrefix) && name.ends_with(".json") && entry.is_regular_file(ec) && !entry.is_symlink(ec);
}

// `dir` without a trailing slash, absolute: "out/" -> "/cwd/out".
fs::path output_path(const fs::path& dir) {
    if (dir.empty()) throw Error(ErrorCode::Usage, "no output directory given", "name one with -o DIR");
    fs::path abs = fs::absolute(dir).lexically_normal();
    if (!abs.has_filename()) abs = abs.parent_path();
    if (abs == abs.root_path()) throw Error(ErrorCode::Usage, "the output directory cannot be the root directory");
    return abs;
}

void fsync_path(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

Error io_error(const std::string& what, const fs::path& path, int err) {
    return Error(ErrorCode::Io, fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(err)),
                 "check that the output directory's parent exists and is writable");
}

}  // namespace

std::string mined_record_id(std::string_view source, std::string_view cve) {
    return fmt::format("{}{}-{}", IdPrefix, source, cve);
}

std::vector<MinedRecord> mine_changelog(const deb::Changelog& changelog, std::string_view source,
                                        std::string_view release) {
    std::vector<MinedRecord> records;
    if (changelog.entries.empty()) return records;
    const std::string& newest = changelog.entries.front().version;
    // Oldest entry first: the first entry to name a CVE is the one that fixed it.
    std::map<std::string, const deb::ChangelogEntry*> fixing;
    for (auto it = changelog.entries.rbegin(); it != changelog.entries.rend(); ++it)
        for (const auto& cve : it->cves) fixing.emplace(cve, &*it);
    for (const auto& [cve, entry] : fixing) {
        MinedRecord record;
        record.id = mined_record_id(source, cve);
        record.cve = cve;
        record.source = std::string(source);
        record.fixed = entry->version;
        record.osv = make_osv(record.id, cve, source, release, *entry, newest);
        records.push_back(std::move(record));
    }
    std::sort(records.begin(), records.end(), [](const MinedRecord& a, const MinedRecord& b) { return a.id < b.id; });
    return records;
}

std::string record_text(const MinedRecord& record) { return record.osv.dump(2) + "\n"; }

void check_records_dir(const fs::path& dir) {
    const fs::path target = output_path(dir);
    std::error_code ec;
    auto status = fs::symlink_status(target, ec);
    if (fs::exists(status)) {
        if (fs::is_symlink(status))
            throw Error(ErrorCode::Usage, fmt::format("{} is a symbolic link", target.string()),
                        "give the directory itself: slate replaces the output directory as a whole");
        if (!fs::is_directory(status))
            throw Error(ErrorCode::Usage, fmt::format("{} exists and is not a directory", target.string()),
                        "give a new or empty directory with -o");
        for (fs::directory_iterator it(target, ec), end; !ec && it != end; it.increment(ec)) {
            if (!is_record_file(*it))
                throw Error(ErrorCode::Usage,
                            fmt::format("refusing to replace {}: it holds {}, which slate did not write",
                                        target.string(), it->path().filename().string()),
                            "give a new or empty directory, or one an earlier `slate advisories mine` wrote");
        }
        if (ec) throw io_error("read", target, ec.value());
    }
    const fs::path parent = target.parent_path();
    fs::create_directories(parent, ec);
    if (ec) throw io_error("create", parent, ec.value());
    // Probe: the temporary directory write_records needs must be creatable there.
    util::TempDir probe(parent, "." + target.filename().string() + ".probe-",
                        fmt::format("slate writes the advisories beside {} first; make {} writable or choose another -o",
                                    target.filename().string(), parent.string()));
}

void write_records(const fs::path& dir, const std::vector<MinedRecord>& records) {
    // Ids name files: a source name from a damaged index must not name a path.
    for (const auto& record : records) {
        bool plain = !record.id.empty() && record.id.front() != '.' &&
                     std::all_of(record.id.begin(), record.id.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' ||
                                c == '~' || c == '-';
                     });
        if (!plain)
            throw Error(ErrorCode::Parse, fmt::format("advisory id \"{}\" cannot be a file name", record.id),
                        "the source package name it was made from is not a valid Debian package name");
    }
    check_records_dir(dir);
    const fs::path target = output_path(dir);
    const fs::path parent = target.parent_path();
    util::TempDir fresh(parent, "." + target.filename().string() + ".tmp-");
    for (const auto& record : records) util::write_file_atomic(fresh.path() / (record.id + ".json"), record_text(record));
    if (::chmod(fresh.path().c_str(), 0755) != 0) throw io_error("change the mode of", fresh.path(), errno);
    fsync_path(fresh.path());

    std::error_code ec;
    if (!fs::exists(fs::symlink_status(target, ec))) {
        if (::rename(fresh.path().c_str(), target.c_str()) != 0) throw io_error("rename a directory to", target, errno);
    } else if (::renameat2(AT_FDCWD, fresh.path().c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
        if (errno != EINVAL && errno != ENOSYS) throw io_error("replace", target, errno);
        // A filesystem without atomic exchange: move the old set aside first.
        util::TempDir old(parent, "." + target.filename().string() + ".old-");
        if (::rename(target.c_str(), old.path().c_str()) != 0) throw io_error("move aside", target, errno);
        if (::rename(fresh.path().c_str(), target.c_str()) != 0) {
            int err = errno;
            ::rename(old.path().c_str(), target.c_str());  // put the old set back
            throw io_error("rename a directory to", target, err);
        }
    }
    // After an exchange, `fresh` names the old set, which its destructor removes.
    fsync_path(parent);
}

}  // namespace slate::vuln
