// ChangelogMiner: from package names to changelogs read out of the release's
// .debs, and from there to records (mine.cpp).
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "slate/deb/version.hpp"
#include "slate/error.hpp"
#include "slate/util/text.hpp"
#include "slate/vuln/mine.hpp"

namespace slate::vuln {
namespace {

struct Binary {
    const deb::LoadedIndex* origin = nullptr;
    deb::PackageRecord record;
};

struct SourceVersions {
    std::string_view newest;        // the newest source version across the suites
    std::vector<Binary> binaries;   // binaries of every version, in index order
};

// Every source package of the indices with its binaries, and which source
// each binary name belongs to (that of its newest version). Views point into
// the indices, which outlive this.
struct SourceTable {
    std::map<std::string_view, SourceVersions> sources;
    std::map<std::string_view, std::pair<std::string_view, std::string_view>> binary_source;  // name -> (version, source)

    explicit SourceTable(const std::vector<const deb::LoadedIndex*>& indices) {
        for (const auto* index : indices)
            for (std::uint32_t i = 0; i < index->index.size(); ++i) {
                auto record = index->index.record(i);
                auto& source = sources[record.source];
                if (source.newest.empty() || deb::compare_versions(record.source_version, source.newest) > 0)
                    source.newest = record.source_version;
                source.binaries.push_back(Binary{index, record});
                auto [it, added] = binary_source.try_emplace(record.name, record.version, record.source);
                if (!added && deb::compare_versions(record.version, it->second.first) > 0)
                    it->second = {record.version, record.source};
            }
    }

    // Close matches among binary and source names for a misspelt one.
    std::vector<std::string> suggestions(std::string_view name) const {
        const std::size_t max_distance = std::max<std::size_t>(2, name.size() / 3);
        std::set<std::pair<std::size_t, std::string_view>> ranked;
        auto consider = [&](std::string_view candidate) {
            if (candidate.size() > name.size() + max_distance || candidate.size() + max_distance < name.size()) return;
            auto d = util::suggestion_distance(name, candidate);
            if (d <= max_distance) ranked.emplace(d, candidate);
        };
        for (const auto& [binary, unused] : binary_source) consider(binary);
        for (const auto& [source, unused] : sources) consider(source);
        std::vector<std::string> out;
        for (const auto& [distance, candidate] : ranked) {
            if (out.size() == 3) break;
            if (std::find(out.begin(), out.end(), candidate) == out.end()) out.emplace_back(candidate);
        }
        return out;
    }
};

Error unknown_package(std::string_view name, const SourceTable& table) {
    auto similar = table.suggestions(name);
    std::string hint = "check the spelling, the suite and the components";
    if (!similar.empty()) {
        hint = "did you mean ";
        for (std::size_t i = 0; i < similar.size(); ++i)
            hint += (i == 0 ? "" : (i + 1 == similar.size() ? " or " : ", ")) + similar[i];
        hint += "?";
    }
    return Error(ErrorCode::NotFound,
                 fmt::format("unknown package {}: neither a binary nor a source package in the release's suites", name), hint);
}

// One source package being mined.
struct Job {
    std::string source;
    std::string version;                  // its newest version
    std::vector<std::string> preferred;   // binary names asked for, in order
    std::vector<Binary> queue;            // binaries still to try, best first
    std::vector<std::string> tried;
    bool done = false;
};

// The binaries of `job.version`, one per name, best candidates first.
std::vector<Binary> candidates(const Job& job, const SourceVersions& versions) {
    std::vector<Binary> out;
    for (const auto& b : versions.binaries) {
        if (deb::compare_versions(b.record.source_version, job.version) != 0) continue;
        bool seen = std::any_of(out.begin(), out.end(), [&](const Binary& o) { return o.record.name == b.record.name; });
        if (!seen) out.push_back(b);
    }
    auto rank = [&](const Binary& b) {
        auto p = std::find(job.preferred.begin(), job.preferred.end(), b.record.name);
        std::size_t preferred = static_cast<std::size_t>(p - job.preferred.begin());  // size() when not preferred
        return std::make_tuple(preferred, b.record.name != job.source, b.record.size, b.record.name);
    };
    std::stable_sort(out.begin(), out.end(), [&](const Binary& a, const Binary& b) { return rank(a) < rank(b); });
    return out;
}

std::string label_of(const Binary& b) {
    return fmt::format("{} {} ({})", b.record.name, b.record.version, b.record.architecture);
}

}  // namespace

ChangelogMiner::ChangelogMiner(util::BlobCache& cache, build::FetchOptions fetch, util::LogSink& log,
                               util::ProgressSink& progress)
    : m_cache(cache), m_fetch(std::move(fetch)), m_log(log), m_progress(progress) {}

MineResult ChangelogMiner::mine(const std::vector<const deb::LoadedIndex*>& indices,
                                const std::vector<std::string>& names, const std::string& release) {
    const SourceTable table(indices);

    // Names -> source packages (a binary name is preferred when both exist:
    // "openssl" is a binary of source openssl either way).
    std::map<std::string, Job> jobs;
    for (const auto& name : names) {
        std::string source;
        if (auto b = table.binary_source.find(name); b != table.binary_source.end()) {
            source = std::string(b->second.second);
        } else if (table.sources.count(name) != 0) {
            source = name;
        } else {
            throw unknown_package(name, table);
        }
        auto& job = jobs[source];
        job.source = source;
        if (source != name && std::find(job.preferred.begin(), job.preferred.end(), name) == job.preferred.end())
            job.preferred.push_back(name);
    }
    for (auto& [source, job] : jobs) {
        const auto& versions = table.sources.at(source);
        job.version = std::string(versions.newest);
        job.queue = candidates(job, versions);
    }

    MineResult result;
    for (;;) {
        // One round: the next candidate of every source still without a changelog.
        std::vector<std::pair<Job*, Binary>> picks;
        std::vector<build::FetchItem> items;
        for (auto& [source, job] : jobs) {
            if (job.done) continue;
            if (job.queue.empty() || job.tried.size() >= MaxTries) {
                job.done = true;
                std::string tried;
                for (const auto& t : job.tried) tried += (tried.empty() ? "" : ", ") + t;
                m_log.warning(fmt::format("no changelog found for source package {} {} (tried {}); skipped", source,
                                          job.version, tried.empty() ? "no binary package" : tried));
                result.without_changelog.push_back(source);
                continue;
            }
            Binary pick = job.queue.front();
            job.queue.erase(job.queue.begin());
            job.tried.emplace_back(pick.record.name);
            items.push_back(build::FetchItem{pick.origin->mirror + "/" + std::string(pick.record.filename),
                                             std::string(pick.record.sha256), label_of(pick), pick.record.size});
            picks.emplace_back(&job, pick);
        }
        if (picks.empty()) break;
        auto fetch = m_fetch;
        fetch.progress_label = "changelogs";
        auto paths = build::fetch_all(m_cache, items, fetch, m_log, m_progress);

        for (std::size_t i = 0; i < picks.size(); ++i) {
            auto& [job, pick] = picks[i];
            std::string package(pick.record.name);
            auto found = deb::read_deb_changelog(paths[i], package, deb::is_native_version(job->version), items[i].label);
            if (found.status == deb::DebChangelog::Status::Elsewhere) {
                // Follow the doc directory's symlink to the binary that holds the changelog.
                auto next = std::find_if(job->queue.begin(), job->queue.end(),
                                         [&](const Binary& b) { return b.record.name == found.elsewhere; });
                if (next != job->queue.end()) std::rotate(job->queue.begin(), next, next + 1);
                m_log.debug(fmt::format("{}: its changelog is in {}'s /usr/share/doc", items[i].label, found.elsewhere));
                continue;
            }
            if (found.status == deb::DebChangelog::Status::Missing) {
                m_log.debug(fmt::format("{}: no changelog in /usr/share/doc/{}", items[i].label, package));
                continue;
            }
            job->done = true;
            auto changelog = deb::parse_changelog(found.text, fmt::format("{} changelog ({})", job->source, package));
            for (const auto& warning : changelog.warnings) m_log.warning(warning);
            if (!changelog.entries.empty() && changelog.entries.front().version != job->version)
                m_log.warning(fmt::format("the changelog in {} starts at {}, not at source version {}", items[i].label,
                                          changelog.entries.front().version, job->version));
            auto records = mine_changelog(changelog, job->source, release);
            m_log.info(fmt::format("{} {}: {} advisories from {} of {}", job->source, job->version, records.size(), found.path,
                                   items[i].label));
            result.sources.push_back(job->source);
            for (auto& record : records) result.records.push_back(std::move(record));
        }
    }
    std::sort(result.sources.begin(), result.sources.end());
    std::sort(result.records.begin(), result.records.end(),
              [](const MinedRecord& a, const MinedRecord& b) { return a.id < b.id; });
    return result;
}

}  // namespace slate::vuln
