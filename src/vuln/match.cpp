// Matching a catalog against the database. docs/scan.md describes the rules.

#include "slate/vuln/match.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "slate/deb/version.hpp"
#include "slate/vuln/cvss.hpp"

namespace slate::vuln {
namespace {

using deb::compare_versions;

// "0" as an introduced version means "since the beginning": below every
// version, even "0~1".
bool is_beginning(const RangeEvent& event) { return event.kind == RangeEvent::Kind::Introduced && event.version == "0"; }

// OSV's evaluation of one range (https://ossf.github.io/osv-schema/#evaluation):
// events sorted by version, then walked; the fixing version is the first
// fixed event above the installed version.
Verdict evaluate_range(std::vector<RangeEvent> events, std::string_view version) {
    std::stable_sort(events.begin(), events.end(), [](const RangeEvent& a, const RangeEvent& b) {
        if (is_beginning(a) || is_beginning(b)) return is_beginning(a) && !is_beginning(b);
        return compare_versions(a.version, b.version) < 0;
    });
    Verdict verdict;
    for (const auto& event : events) {
        switch (event.kind) {
        case RangeEvent::Kind::Introduced:
            if (is_beginning(event) || compare_versions(version, event.version) >= 0) verdict.affected = true;
            break;
        case RangeEvent::Kind::Fixed:
            if (compare_versions(version, event.version) >= 0) verdict.affected = false;
            break;
        case RangeEvent::Kind::LastAffected:
            if (compare_versions(version, event.version) > 0) verdict.affected = false;
            break;
        case RangeEvent::Kind::Limit: break;  // git ranges only
        }
    }
    if (!verdict.affected) return verdict;
    verdict.state = FixState::NotFixed;
    for (const auto& event : events)
        if (event.kind == RangeEvent::Kind::Fixed && compare_versions(version, event.version) < 0) {
            verdict.state = FixState::Fixed;
            verdict.fixed = event.version;
            break;
        }
    return verdict;
}

// One finding being assembled from every statement about it.
struct Accumulator {
    bool affected = false;
    bool not_affected = false;               // a tracker statement says "never affected"
    std::string fixed;                       // the lowest fixing version above the installed one
    std::optional<FixState> triage;          // the tracker's own state, when it gave one
    std::set<std::string> advisories;
    std::set<std::string> aliases;
    std::optional<double> cvss;
    std::string cvss_vector;
    std::string urgency;
    std::string description;
    std::string published;
};

void take(Accumulator& acc, const std::string& id, const Advisory& advisory, const Affected& statement,
          const Verdict& verdict) {
    acc.affected = true;
    acc.advisories.insert(advisory.id);
    acc.aliases.insert(advisory.id);
    // A DSA names several CVEs; each is its own finding, not an alias of the others.
    for (const auto& alias : advisory.aliases)
        if (alias == id || !alias.starts_with("CVE-")) acc.aliases.insert(alias);
    if (verdict.state == FixState::Fixed) {
        if (acc.fixed.empty() || compare_versions(verdict.fixed, acc.fixed) < 0) acc.fixed = verdict.fixed;
    } else if (!statement.from_ranges()) {
        acc.triage = verdict.state;
    }
    if (advisory.cvss_score && (!acc.cvss || *advisory.cvss_score > *acc.cvss)) {
        acc.cvss = advisory.cvss_score;
        acc.cvss_vector = advisory.cvss_vector;
    }
    if (!statement.urgency.empty() && (acc.urgency.empty() || advisory.feed == to_string(FeedKind::DebianTracker) ||
                                       severity_of_urgency(statement.urgency) > severity_of_urgency(acc.urgency)))
        acc.urgency = statement.urgency;
    // The tracker's text is the CVE's description; prefer it.
    if (!advisory.summary.empty() && (acc.description.empty() || advisory.feed == to_string(FeedKind::DebianTracker)))
        acc.description = advisory.summary;
    if (!advisory.published.empty() && (acc.published.empty() || advisory.published < acc.published))
        acc.published = advisory.published;
}

// A finding about a source version; the binary package's fields are filled per binary.
Finding to_finding(const std::string& id, Accumulator& acc, const std::string& source, const std::string& source_version) {
    Finding finding;
    finding.vulnerability = id;
    for (const auto& alias : acc.aliases)
        if (alias != id) finding.aliases.push_back(alias);
    finding.source = source;
    finding.source_version = source_version;
    if (!acc.fixed.empty()) {
        finding.state = FixState::Fixed;
        finding.fixed_version = acc.fixed;
    } else {
        finding.state = acc.triage.value_or(FixState::NotFixed);
    }
    finding.cvss = acc.cvss;
    finding.cvss_vector = acc.cvss_vector;
    finding.urgency = acc.urgency;
    if (acc.cvss) {
        auto score = score_cvss(acc.cvss_vector);
        finding.severity = score ? score->rating : Severity::Unknown;
    } else {
        finding.severity = severity_of_urgency(acc.urgency);
    }
    finding.advisories.assign(acc.advisories.begin(), acc.advisories.end());
    finding.description = std::move(acc.description);
    finding.published = std::move(acc.published);
    return finding;
}

// The findings for one version of a source package, from the statements about it.
std::vector<Finding> match_source(const Database& db, const std::string& source, const std::string& source_version,
                                  const std::vector<Database::Statement>& statements) {
    std::map<std::string, Accumulator> by_id;
    for (const auto& statement : statements) {
        Verdict verdict = evaluate(statement.affected, source_version);
        if (!verdict.affected && !verdict.explicit_not_affected) continue;
        const Advisory& advisory = db.advisory(statement.advisory);
        std::vector<std::string> ids = advisory.cves();
        if (ids.empty()) ids.push_back(advisory.id);
        for (const auto& id : ids) {
            Accumulator& acc = by_id[id];
            if (verdict.explicit_not_affected)
                acc.not_affected = true;
            else
                take(acc, id, advisory, statement.affected, verdict);
        }
    }
    std::vector<Finding> out;
    for (auto& [id, acc] : by_id)
        if (acc.affected && !acc.not_affected) out.push_back(to_finding(id, acc, source, source_version));
    return out;
}

bool hidden(const Finding& finding, const ScanOptions& options) {
    if (finding.severity == Severity::Negligible && !options.show_negligible) return true;
    if (finding.state == FixState::Undetermined && !options.show_undetermined) return true;
    if (options.ignore_unfixed && finding.state != FixState::Fixed) return true;
    return false;
}

bool finding_order(const Finding& a, const Finding& b) {
    if (a.package != b.package) return a.package < b.package;
    if (a.severity != b.severity) return a.severity > b.severity;
    return a.vulnerability < b.vulnerability;
}

// Sorts a report's lists and fills its summary from them.
void finish_report(ScanReport& report) {
    std::sort(report.matches.begin(), report.matches.end(), finding_order);
    std::sort(report.suppressed.begin(), report.suppressed.end(),
              [](const Suppression& a, const Suppression& b) { return finding_order(a.finding, b.finding); });
    ScanSummary& summary = report.summary;
    summary.by_severity.clear();
    summary.by_state.clear();
    for (const auto& finding : report.matches) {
        ++summary.by_severity[finding.severity];
        ++summary.by_state[finding.state];
    }
    summary.matches = report.matches.size();
    summary.suppressed = report.suppressed.size();
}

}  // namespace

Verdict evaluate(const Affected& statement, std::string_view version) {
    if (statement.from_ranges()) {
        Verdict verdict;
        for (const auto& range : statement.ranges) {
            Verdict one = evaluate_range(range, version);
            if (!one.affected) continue;
            // Of several ranges that contain the version, a fix wins; of fixes, the lowest.
            if (!verdict.affected || (one.state == FixState::Fixed &&
                                      (verdict.state != FixState::Fixed || compare_versions(one.fixed, verdict.fixed) < 0)))
                verdict = one;
        }
        if (!verdict.affected)
            for (const auto& listed : statement.versions)
                if (compare_versions(version, listed) == 0) {
                    verdict.affected = true;
                    verdict.state = FixState::NotFixed;
                }
        return verdict;
    }
    Verdict verdict;
    if (statement.state == FixState::Fixed) {
        if (statement.fixed == "0") {
            verdict.explicit_not_affected = true;
        } else if (compare_versions(version, statement.fixed) < 0) {
            verdict.affected = true;
            verdict.state = FixState::Fixed;
            verdict.fixed = statement.fixed;
        }
        return verdict;
    }
    verdict.affected = true;
    verdict.state = statement.state;
    return verdict;
}


ScanReport scan_catalog(const Database& db, const sbom::Catalog& catalog, const ScanOptions& options,
                        const std::vector<VexStatement>& vex, const IgnoreRules& ignore) {
    ScanReport report;
    report.target.name = catalog.subject.name;
    report.target.digest = catalog.subject.digest;
    report.target.platform = catalog.subject.platform;
    report.distro = {catalog.os.id, catalog.os.version_id, catalog.os.version_codename};
    report.database.path = db.path().string();
    report.database.built = db.built();
    // The kinds of feed it holds ("debian-tracker", "osv"), as docs/scan-json.md
    // documents them: sorted, each once; never local paths or URLs.
    std::set<std::string> kinds;
    for (const auto& feed : db.feeds()) kinds.insert(to_string(feed.kind));
    report.database.feeds.assign(kinds.begin(), kinds.end());
    report.scanned_at = options.now;

    std::string release = options.release.empty() ? catalog.os.version_id : options.release;
    if (!options.release.empty()) {
        report.distro.id = "debian";
        report.distro.version = options.release;
        report.distro.codename = debian_codename_of(options.release).value_or("");
    } else if (!catalog.os.id.empty() && catalog.os.id != "debian") {
        report.warnings.push_back(fmt::format(
            "the image is {} {}, not Debian: slate matches Debian packages only (give --distro debian:N to force a release)",
            catalog.os.id, catalog.os.version_id));
        release.clear();
    } else if (release.empty()) {
        report.warnings.push_back(
            "cannot tell the Debian release: the image has no /etc/os-release with VERSION_ID (give --distro debian:12)");
    }

    for (const auto& rule : ignore.rules)
        if (rule.expired(options.now))
            report.warnings.push_back(fmt::format("{}:{}: the ignore rule for {} expired on {} and no longer applies",
                                                  ignore.origin, rule.line, rule.describe(), rule.expires));

    const std::string ecosystem = "Debian:" + release;
    std::unordered_map<std::string, std::vector<Database::Statement>> by_source;
    // Binaries built from one source version share its findings (libc6 and libc-bin).
    std::unordered_map<std::string, std::vector<Finding>> by_source_version;
    for (const auto& package : catalog.packages) {
        if (package.type != sbom::PackageType::Deb) continue;
        ++report.summary.packages;
        if (release.empty()) continue;
        const std::string& source = package.source.empty() ? package.name : package.source;
        auto it = by_source.find(source);
        if (it == by_source.end()) it = by_source.emplace(source, db.statements_for(ecosystem, source)).first;
        const std::string& source_version = package.source_version.empty() ? package.version : package.source_version;
        auto [found, first] = by_source_version.try_emplace(source + '\n' + source_version);
        if (first) found->second = match_source(db, source, source_version, it->second);
        for (Finding finding : found->second) {
            finding.package = package.name;
            finding.version = package.version;
            finding.purl = package.purl;
            if (hidden(finding, options)) {
                ++report.summary.hidden;
                continue;
            }
            if (const VexStatement* statement = vex_for(vex, finding, report.target);
                statement && (statement->status == "not_affected" || statement->status == "fixed")) {
                report.suppressed.push_back({std::move(finding), "vex", statement->status, statement->justification,
                                             statement->impact_statement, statement->origin});
                continue;
            }
            if (const IgnoreRule* rule = ignore_rule_for(ignore, finding, options.now)) {
                report.suppressed.push_back({std::move(finding), "ignore", "ignored", rule->reason, rule->describe(),
                                             fmt::format("{}:{}", ignore.origin, rule->line)});
                continue;
            }
            report.matches.push_back(std::move(finding));
        }
    }
    finish_report(report);
    return report;
}

}  // namespace slate::vuln
