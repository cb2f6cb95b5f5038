#include "slate/build/lock.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "slate/error.hpp"

namespace slate::build {
using ordered_json = nlohmann::ordered_json;

deb::ResolveRequest request_from_spec(const ImageSpec& spec) {
    deb::ResolveRequest request;
    request.packages = spec.contents.packages;
    request.exclude = spec.contents.exclude;
    request.recommends = spec.contents.recommends;
    return request;
}

deb::ResolveResult resolve_arch(deb::ArchiveClient& archive, const std::vector<deb::SuiteRelease>& releases,
                                const deb::ResolveRequest& request, const std::string& arch, util::LogSink& log) {
    std::vector<deb::LoadedIndex> loaded;
    for (const auto& release : releases)
        for (auto& index : archive.load_packages(release, arch)) loaded.push_back(std::move(index));
    std::vector<const deb::LoadedIndex*> pointers;
    for (const auto& index : loaded) pointers.push_back(&index);
    deb::PackageUniverse universe(pointers, arch);
    auto result = deb::Resolver(universe, log).resolve(request);
    for (const auto& left : result.excluded)
        log.warning(fmt::format("{}: dependency {} of {} left unsatisfied because {} is excluded", arch,
                                left.dependency, left.package, left.excluded));
    return result;
}

Lock resolve_lock(const ImageSpec& spec, const std::vector<deb::SuiteSource>& suites, deb::ArchiveClient& archive,
                  util::LogSink& log) {
    Lock lock;
    lock.spec_name = spec.name;
    lock.spec_digest = spec.digest;
    std::vector<deb::SuiteRelease> releases;
    for (const auto& source : suites) {
        releases.push_back(archive.fetch_release(source));
        const auto& r = releases.back();
        lock.suites.push_back(LockedSuite{source.suite, source.mirror, source.components, r.inrelease_sha256,
                                          r.release.date});
    }
    auto request = request_from_spec(spec);
    for (const auto& arch : spec.archs) {
        try {
            auto result = resolve_arch(archive, releases, request, arch, log);
            lock.archs[arch] = LockedArch{std::move(result.packages), std::move(result.excluded)};
        } catch (Error& e) {
            e.add_context(fmt::format("while resolving image {} for {}", spec.name, arch));
            throw;
        }
    }
    return lock;
}

ordered_json package_json(const deb::ResolvedPackage& p) {
    return {{"name", p.name},
            {"version", p.version},
            {"arch", p.arch},
            {"source", p.source},
            {"source_version", p.source_version},
            {"suite", p.suite},
            {"filename", p.filename},
            {"size", p.size},
            {"sha256", p.sha256}};
}

std::string lock_to_json(const Lock& lock) {
    ordered_json doc;
    doc["lockfile-version"] = LockfileVersion;
    doc["spec"] = {{"name", lock.spec_name}, {"digest", lock.spec_digest}};
    doc["suites"] = ordered_json::array();
    for (const auto& s : lock.suites)
        doc["suites"].push_back({{"suite", s.suite},
                                 {"mirror", s.mirror},
                                 {"components", s.components},
                                 {"inrelease-sha256", s.inrelease_sha256},
                                 {"date", s.date}});
    doc["archs"] = ordered_json::object();
    for (const auto& [arch, locked] : lock.archs) {
        ordered_json packages = ordered_json::array();
        for (const auto& p : locked.packages) packages.push_back(package_json(p));
        ordered_json excluded = ordered_json::array();
        for (const auto& e : locked.excluded)
            excluded.push_back({{"package", e.package}, {"dependency", e.dependency}, {"excluded", e.excluded}});
        doc["archs"][arch] = {{"packages", packages}, {"excluded-dependencies", excluded}};
    }
    return doc.dump(2) + "\n";
}

namespace {

template <typename T>
T field(const ordered_json& object, const char* key, const std::string& where) {
    if (!object.is_object() || !object.contains(key))
        throw Error(ErrorCode::Parse, fmt::format("{}: missing \"{}\"", where, key));
    try {
        return object.at(key).get<T>();
    } catch (const ordered_json::exception&) {
        throw Error(ErrorCode::Parse, fmt::format("{}: \"{}\" has the wrong type", where, key));
    }
}

}  // namespace

Lock lock_from_json(const std::string& text, const std::string& name) {
    ordered_json doc;
    try {
        doc = ordered_json::parse(text);
    } catch (const ordered_json::parse_error& e) {
        throw Error(ErrorCode::Parse, fmt::format("{}: not valid JSON: {}", name, e.what()),
                    "regenerate it with slate lock");
    }
    auto version = field<int>(doc, "lockfile-version", name);
    if (version != LockfileVersion)
        throw Error(ErrorCode::Parse, fmt::format("{}: lockfile-version {} is not supported (this slate reads {})", name,
                                                  version, LockfileVersion),
                    "regenerate it with this slate's `slate lock`");
    Lock lock;
    const auto& spec = doc.at("spec");
    lock.spec_name = field<std::string>(spec, "name", name + ": spec");
    lock.spec_digest = field<std::string>(spec, "digest", name + ": spec");
    const auto suites = field<ordered_json>(doc, "suites", name);
    for (const auto& s : suites) {
        auto where = name + ": suites";
        lock.suites.push_back(LockedSuite{field<std::string>(s, "suite", where), field<std::string>(s, "mirror", where),
                                          field<std::vector<std::string>>(s, "components", where),
                                          field<std::string>(s, "inrelease-sha256", where),
                                          field<std::string>(s, "date", where)});
    }
    const auto archs = field<ordered_json>(doc, "archs", name);  // items() must not outlive it
    for (const auto& [arch, body] : archs.items()) {
        auto where = fmt::format("{}: archs.{}", name, arch);
        LockedArch locked;
        const auto packages = field<ordered_json>(body, "packages", where);
        for (const auto& p : packages) {
            deb::ResolvedPackage pkg;
            pkg.name = field<std::string>(p, "name", where);
            pkg.version = field<std::string>(p, "version", where);
            pkg.arch = field<std::string>(p, "arch", where);
            pkg.source = field<std::string>(p, "source", where);
            pkg.source_version = field<std::string>(p, "source_version", where);
            pkg.suite = field<std::string>(p, "suite", where);
            pkg.filename = field<std::string>(p, "filename", where);
            pkg.size = field<std::uint64_t>(p, "size", where);
            pkg.sha256 = field<std::string>(p, "sha256", where);
            for (const auto& s : lock.suites)
                if (s.suite == pkg.suite) pkg.mirror = s.mirror;
            locked.packages.push_back(std::move(pkg));
        }
        if (body.contains("excluded-dependencies"))
            for (const auto& e : body.at("excluded-dependencies"))
                locked.excluded.push_back({field<std::string>(e, "package", where),
                                           field<std::string>(e, "dependency", where),
                                           field<std::string>(e, "excluded", where)});
        lock.archs[arch] = std::move(locked);
    }
    return lock;
}

std::filesystem::path lock_path_for(const std::filesystem::path& spec_path) {
    auto out = spec_path;
    out.replace_extension(".lock.json");
    return out;
}

std::vector<std::string> lock_differences(const Lock& before, const Lock& after) {
    std::vector<std::string> out;
    if (before.spec_digest != after.spec_digest)
        out.push_back(fmt::format("the spec changed ({} -> {})", before.spec_digest, after.spec_digest));
    std::map<std::string, const LockedSuite*> old_suites;
    for (const auto& s : before.suites) old_suites[s.suite] = &s;
    for (const auto& s : after.suites) {
        auto it = old_suites.find(s.suite);
        if (it == old_suites.end()) out.push_back(fmt::format("suite {} added", s.suite));
        else if (it->second->inrelease_sha256 != s.inrelease_sha256 || it->second->mirror != s.mirror)
            out.push_back(fmt::format("suite {} changed (Release of {} -> {})", s.suite, it->second->date, s.date));
        if (it != old_suites.end()) old_suites.erase(it);
    }
    for (const auto& [suite, unused] : old_suites) out.push_back(fmt::format("suite {} removed", suite));

    std::set<std::string> archs;
    for (const auto& [arch, unused] : before.archs) archs.insert(arch);
    for (const auto& [arch, unused] : after.archs) archs.insert(arch);
    for (const auto& arch : archs) {
        std::map<std::string, const deb::ResolvedPackage*> old_pkgs, new_pkgs;
        if (auto it = before.archs.find(arch); it != before.archs.end())
            for (const auto& p : it->second.packages) old_pkgs[p.name] = &p;
        if (auto it = after.archs.find(arch); it != after.archs.end())
            for (const auto& p : it->second.packages) new_pkgs[p.name] = &p;
        for (const auto& [name, p] : new_pkgs) {
            auto it = old_pkgs.find(name);
            if (it == old_pkgs.end()) out.push_back(fmt::format("{}: + {} {}", arch, name, p->version));
            else if (it->second->version != p->version || it->second->sha256 != p->sha256)
                out.push_back(fmt::format("{}: {} {} -> {}", arch, name, it->second->version, p->version));
        }
        for (const auto& [name, p] : old_pkgs)
            if (!new_pkgs.count(name)) out.push_back(fmt::format("{}: - {} {}", arch, name, p->version));
    }
    if (out.empty() && lock_to_json(before) != lock_to_json(after))
        out.push_back("the install order or the excluded dependencies changed");
    return out;
}

}  // namespace slate::build
