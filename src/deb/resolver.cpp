#include "slate/deb/resolver.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "slate/deb/relation.hpp"
#include "slate/deb/version.hpp"
#include "slate/error.hpp"
#include "slate/util/text.hpp"

namespace slate::deb {

// ---- PackageUniverse ---------------------------------------------------------

PackageUniverse::PackageUniverse(std::vector<const LoadedIndex*> indices, std::string arch)
    : m_indices(std::move(indices)), m_arch(std::move(arch)) {}

std::vector<Candidate> PackageUniverse::versions(std::string_view name) const {
    std::vector<Candidate> out;
    for (const auto* index : m_indices)
        for (auto id : index->index.find(name)) {
            auto rec = index->index.record(id);
            if (rec.architecture != m_arch && rec.architecture != "all") continue;
            out.push_back(Candidate{index, id, rec});
        }
    // Highest version first; among equal versions the earlier index wins.
    std::stable_sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
        return compare_versions(a.record.version, b.record.version) > 0;
    });
    return out;
}

std::vector<std::pair<Candidate, Provide>> PackageUniverse::providers(std::string_view name) const {
    std::vector<std::pair<Candidate, Provide>> out;
    for (const auto* index : m_indices)
        for (const auto& provide : index->index.providers(name)) {
            auto rec = index->index.record(provide.record);
            if (rec.architecture != m_arch && rec.architecture != "all") continue;
            out.emplace_back(Candidate{index, provide.record, rec}, provide);
        }
    return out;
}

std::vector<std::string> PackageUniverse::suggestions(std::string_view name, std::size_t limit) const {
    const std::size_t max_distance = std::max<std::size_t>(2, name.size() / 3);
    std::map<std::pair<std::size_t, std::string>, bool> ranked;
    for (const auto* index : m_indices)
        for (auto candidate : index->index.names()) {
            if (candidate.size() > name.size() + max_distance || candidate.size() + max_distance < name.size()) continue;
            auto d = util::suggestion_distance(name, candidate);
            // A prefix match ("python" for "python3") is a good suggestion too.
            if (d > max_distance && !(candidate.starts_with(name) && candidate.size() <= name.size() + 3)) continue;
            ranked.emplace(std::make_pair(d, std::string(candidate)), true);
        }
    std::vector<std::string> out;
    for (const auto& [key, unused] : ranked) {
        if (out.size() >= limit) break;
        if (std::find(out.begin(), out.end(), key.second) == out.end()) out.push_back(key.second);
    }
    return out;
}

// ---- Resolver ----------------------------------------------------------------

namespace {

std::string describe(const Candidate& c) {
    return fmt::format("{} {} ({})", c.record.name, c.record.version, c.origin->suite);
}

bool arch_qualifier_ok(const Relation& rel, const PackageRecord& rec, std::string_view arch) {
    const auto& q = rel.arch_qualifier;
    if (q.empty() || q == "native") return true;
    if (q == "any") return rec.multi_arch == MultiArch::Allowed || rec.multi_arch == MultiArch::Foreign;
    return rec.architecture == q || (rec.architecture == "all" && q == arch);
}

struct Selection {
    Candidate candidate;
    std::string parent;             // who pulled it in ("" when requested)
    std::vector<std::string> edges; // the packages that satisfy its dependencies, in order
};

class Run {
public:
    Run(const PackageUniverse& universe, util::LogSink& log, const ResolveRequest& request)
        : m_universe(universe), m_log(log), m_request(request),
          m_excluded(request.exclude.begin(), request.exclude.end()) {}

    ResolveResult run() {
        std::vector<std::string> roots;
        for (const auto& spec : m_request.packages) roots.push_back(select_request(spec));
        check_conflicts();
        ResolveResult result;
        result.arch = m_universe.arch();
        std::set<std::string> placed;
        for (const auto& root : roots) place(root, placed, result.packages);
        result.excluded = std::move(m_left_out);
        return result;
    }

private:
    // --- requests ---
    std::string select_request(const std::string& spec) {
        std::string name = spec;
        std::string version;
        std::string arch;
        if (auto eq = name.find('='); eq != std::string::npos) {
            version = name.substr(eq + 1);
            name.resize(eq);
        }
        if (auto colon = name.find(':'); colon != std::string::npos) {
            arch = name.substr(colon + 1);
            name.resize(colon);
        }
        if (name.empty())
            throw Error(ErrorCode::Usage, fmt::format("empty package name in request \"{}\"", spec));
        if (!version.empty()) {
            if (auto why = version_error(version))
                throw Error(ErrorCode::Usage, fmt::format("invalid version in request \"{}\": {}", spec, *why));
        }
        if (!arch.empty() && arch != "any" && arch != "native" && arch != m_universe.arch() && arch != "all")
            throw Error(ErrorCode::Usage,
                        fmt::format("\"{}\" asks for architecture {}, but this resolution is for {}", spec, arch,
                                    m_universe.arch()),
                        "list the architecture in the image's archs instead");
        if (m_excluded.count(name))
            throw Error(ErrorCode::Config, fmt::format("package {} is both requested and excluded", name),
                        "remove it from contents.exclude or from contents.packages");

        if (auto it = m_selected.find(name); it != m_selected.end()) {
            if (!version.empty() && it->second.candidate.record.version != version)
                throw Error(ErrorCode::Unsatisfiable,
                            fmt::format("{} {} is already selected, but {} was requested", name,
                                        it->second.candidate.record.version, spec));
            it->second.parent.clear();
            return name;
        }

        auto versions = m_universe.versions(name);
        if (!arch.empty() && arch != "any" && arch != "native")
            std::erase_if(versions, [&](const Candidate& c) { return c.record.architecture != arch; });
        if (versions.empty()) {
            auto providers = m_universe.providers(name);
            std::set<std::string> provider_names;
            for (const auto& [c, p] : providers) provider_names.insert(std::string(c.record.name));
            if (provider_names.size() == 1) {
                m_log.info(fmt::format("note: selecting {} for the virtual package {}", *provider_names.begin(), name));
                return select_request(*provider_names.begin());
            }
            if (provider_names.size() > 1) {
                std::string list;
                for (const auto& n : provider_names) list += (list.empty() ? "" : ", ") + n;
                throw Error(ErrorCode::NotFound,
                            fmt::format("{} is a virtual package provided by: {}", name, list),
                            "ask for one of them explicitly");
            }
            auto similar = m_universe.suggestions(name);
            std::string hint = "check the spelling, the suites and the components";
            if (!similar.empty()) {
                hint = "did you mean ";
                for (std::size_t i = 0; i < similar.size(); ++i)
                    hint += (i == 0 ? "" : (i + 1 == similar.size() ? " or " : ", ")) + similar[i];
                hint += "?";
            }
            throw Error(ErrorCode::NotFound,
                        fmt::format("unknown package {} (not in any configured suite for {})", name, m_universe.arch()),
                        hint);
        }
        const Candidate* chosen = &versions.front();
        if (!version.empty()) {
            auto it = std::find_if(versions.begin(), versions.end(),
                                   [&](const Candidate& c) { return compare_versions(c.record.version, version) == 0; });
            if (it == versions.end()) {
                std::string have;
                for (const auto& c : versions) have += (have.empty() ? "" : ", ") + describe(c);
                throw Error(ErrorCode::NotFound, fmt::format("no version {} of {} (available: {})", version, name, have));
            }
            chosen = &*it;
        }
        select(*chosen, "");
        return name;
    }

    // --- selection ---
    void select(const Candidate& candidate, const std::string& parent) {
        std::string name(candidate.record.name);
        m_selected.emplace(name, Selection{candidate, parent, {}});
        for (const auto& group : parse_relations(candidate.record.provides, m_universe.arch(), name))
            for (const auto& rel : group) m_provided[std::string(rel.name)].push_back({name, rel});

        std::vector<std::pair<std::string_view, bool>> fields{{candidate.record.pre_depends, true},
                                                              {candidate.record.depends, true}};
        if (m_request.recommends) fields.emplace_back(candidate.record.recommends, false);
        if (m_request.suggests) fields.emplace_back(candidate.record.suggests, false);
        for (const auto& [field, required] : fields) {
            if (field.empty()) continue;
            for (const auto& group : parse_relations(field, m_universe.arch(), name)) {
                auto satisfier = satisfy(group, name, required);
                if (!satisfier.empty()) m_selected.at(name).edges.push_back(satisfier);
            }
        }
    }

    // The selected package satisfying `rel`, or "".
    std::string selected_satisfier(const Relation& rel) const {
        if (auto it = m_selected.find(std::string(rel.name)); it != m_selected.end()) {
            const auto& rec = it->second.candidate.record;
            if (satisfies(rec.version, rel.op, rel.version) && arch_qualifier_ok(rel, rec, m_universe.arch()))
                return it->first;
        }
        if (auto it = m_provided.find(std::string(rel.name)); it != m_provided.end())
            for (const auto& [provider, provide] : it->second)
                if (provide_satisfies(provide, rel)) return provider;
        return {};
    }

    static bool provide_satisfies(const Relation& provide, const Relation& rel) {
        if (rel.op == VersionOp::Any) return true;
        // A versioned relation is only met by a versioned Provides.
        return provide.op == VersionOp::Eq && satisfies(provide.version, rel.op, rel.version);
    }

    // Candidates for one alternative, best first: the real package's versions
    // that satisfy it, then providers. With `considered`, also says why each
    // candidate was or was not usable (only needed for error messages).
    std::vector<Candidate> candidates_for(const Relation& rel, std::vector<std::string>* considered) const {
        std::vector<Candidate> out;
        for (const auto& c : m_universe.versions(rel.name)) {
            bool ok = satisfies(c.record.version, rel.op, rel.version) &&
                      arch_qualifier_ok(rel, c.record, m_universe.arch());
            if (considered)
                considered->push_back(describe(c) + (ok ? "" : fmt::format(": does not satisfy {}", rel.to_string())));
            if (ok) out.push_back(c);
        }
        std::vector<Candidate> providers;
        for (const auto& [c, provide] : m_universe.providers(rel.name)) {
            Relation as_rel{provide.name, {}, provide.op, provide.version};
            bool ok = provide_satisfies(as_rel, rel);
            if (considered)
                considered->push_back(fmt::format("{} provides {}{}", describe(c), rel.name,
                                             ok ? "" : fmt::format(" but not {}", rel.to_string())));
            if (ok) providers.push_back(c);
        }
        // apt-like preference among providers: essential, then more important
        // priority, then name; each provider at its highest version.
        std::stable_sort(providers.begin(), providers.end(), [](const Candidate& a, const Candidate& b) {
            if (a.record.essential != b.record.essential) return a.record.essential;
            if (a.record.priority != b.record.priority) return a.record.priority < b.record.priority;
            if (a.record.name != b.record.name) return a.record.name < b.record.name;
            return compare_versions(a.record.version, b.record.version) > 0;
        });
        out.insert(out.end(), providers.begin(), providers.end());
        return out;
    }

    bool conflicts_with_selection(const Candidate& c) const {
        const std::string name(c.record.name);
        auto hits = [&](const PackageRecord& who, std::string_view field, const PackageRecord& other) {
            for (const auto& group : parse_relations(field, m_universe.arch(), who.name))
                for (const auto& rel : group)
                    if (rel.name == other.name && other.name != who.name && satisfies(other.version, rel.op, rel.version))
                        return true;
            return false;
        };
        for (const auto& [other_name, sel] : m_selected) {
            const auto& other = sel.candidate.record;
            if (hits(c.record, c.record.conflicts, other) || hits(c.record, c.record.breaks, other) ||
                hits(other, other.conflicts, c.record) || hits(other, other.breaks, c.record))
                return true;
        }
        return false;
    }

    std::string satisfy(const RelationGroup& group, const std::string& parent, bool required) {
        for (const auto& rel : group)
            if (auto s = selected_satisfier(rel); !s.empty()) return s;

        std::string group_text;
        for (const auto& rel : group) group_text += (group_text.empty() ? "" : " | ") + rel.to_string();

        std::optional<Candidate> fallback;
        for (const auto& rel : group) {
            for (const auto& c : candidates_for(rel, nullptr)) {
                // Excluding the package this group would choose leaves the group
                // unsatisfied: another alternative is never pulled in instead
                // (excluding mawk must not bring gawk).
                if (m_excluded.count(std::string(c.record.name))) {
                    if (required) m_left_out.push_back({parent, group_text, std::string(c.record.name)});
                    return {};
                }
                if (conflicts_with_selection(c)) {
                    if (!fallback) fallback = c;
                    continue;
                }
                select(c, parent);
                return std::string(c.record.name);
            }
        }
        if (fallback) {  // only conflicting choices: take it and let the conflict check explain
            select(*fallback, parent);
            return std::string(fallback->record.name);
        }
        if (!required) {
            m_log.debug(fmt::format("{}: optional relation {} cannot be satisfied; skipped", parent, group_text));
            return {};
        }
        std::string message = fmt::format("cannot satisfy {}, a dependency of {}", group_text, chain(parent));
        std::vector<std::string> considered;
        for (const auto& rel : group) candidates_for(rel, &considered);
        std::string hint = considered.empty() ? "no package of that name or providing it exists in the configured suites"
                                              : "candidates considered:\n    " + join(considered, "\n    ");
        throw Error(ErrorCode::Unsatisfiable, message, hint);
    }

    std::string chain(const std::string& name) const {
        std::string text;
        std::string current = name;
        std::set<std::string> seen;
        while (!current.empty() && seen.insert(current).second) {
            const auto& sel = m_selected.at(current);
            text += fmt::format("{}{} {}", text.empty() ? "" : ", required by ", current, sel.candidate.record.version);
            if (sel.parent.empty()) text += " (requested)";
            current = sel.parent;
        }
        return text;
    }

    static std::string join(const std::vector<std::string>& items, std::string_view sep) {
        std::string out;
        for (const auto& item : items) {
            if (!out.empty()) out += sep;
            out += item;
        }
        return out;
    }

    void check_conflicts() const {
        std::vector<std::string> problems;
        for (const auto& [name, sel] : m_selected) {
            const auto& rec = sel.candidate.record;
            for (auto [field, label] : {std::pair{rec.conflicts, "Conflicts"}, std::pair{rec.breaks, "Breaks"}}) {
                for (const auto& group : parse_relations(field, m_universe.arch(), name))
                    for (const auto& rel : group) {
                        if (auto it = m_selected.find(std::string(rel.name));
                            it != m_selected.end() && it->first != name &&
                            satisfies(it->second.candidate.record.version, rel.op, rel.version))
                            problems.push_back(fmt::format("{} {} {} {} ({}: {}); {} was pulled in by {}", name,
                                                           rec.version, label == std::string_view("Breaks") ? "breaks" : "conflicts with",
                                                           it->first, label, rel.to_string(), it->first,
                                                           chain(it->first)));
                        if (auto it = m_provided.find(std::string(rel.name)); it != m_provided.end())
                            for (const auto& [provider, provide] : it->second)
                                if (provider != name && provide_satisfies(provide, rel) && rel.name != provider)
                                    problems.push_back(fmt::format("{} {} {} {}, which provides {} ({}: {})", name,
                                                                   rec.version, label == std::string_view("Breaks") ? "breaks" : "conflicts with",
                                                                   provider, rel.name, label, rel.to_string()));
                    }
            }
        }
        if (!problems.empty())
            throw Error(ErrorCode::Unsatisfiable,
                        "the selected packages cannot be installed together:\n  " + join(problems, "\n  "),
                        "remove one of the requests, or exclude the package that pulls in the other");
    }

    // Post-order walk: a package is placed after what it depends on.
    void place(const std::string& name, std::set<std::string>& placed, std::vector<ResolvedPackage>& out) const {
        if (!placed.insert(name).second) return;
        const auto& sel = m_selected.at(name);
        for (const auto& dep : sel.edges) place(dep, placed, out);
        const auto& rec = sel.candidate.record;
        ResolvedPackage pkg;
        pkg.name = name;
        pkg.version = rec.version;
        pkg.arch = rec.architecture;
        pkg.source = rec.source;
        pkg.source_version = rec.source_version;
        pkg.suite = sel.candidate.origin->suite;
        pkg.mirror = sel.candidate.origin->mirror;
        pkg.filename = rec.filename;
        pkg.sha256 = rec.sha256;
        pkg.size = rec.size;
        pkg.required_by = sel.parent;
        out.push_back(std::move(pkg));
    }

    const PackageUniverse& m_universe;
    util::LogSink& m_log;
    const ResolveRequest& m_request;
    std::set<std::string> m_excluded;
    std::map<std::string, Selection> m_selected;
    std::unordered_map<std::string, std::vector<std::pair<std::string, Relation>>> m_provided;
    std::vector<ExcludedDependency> m_left_out;
};

}  // namespace

Resolver::Resolver(const PackageUniverse& universe, util::LogSink& log) : m_universe(universe), m_log(log) {}

ResolveResult Resolver::resolve(const ResolveRequest& request) {
    if (request.packages.empty())
        throw Error(ErrorCode::Usage, "nothing to resolve: no packages requested");
    Run run(m_universe, m_log, request);
    return run.run();
}

}  // namespace slate::deb
