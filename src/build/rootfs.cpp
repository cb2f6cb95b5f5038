#include "slate/build/rootfs.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "slate/deb/relation.hpp"
#include "slate/deb/version.hpp"
#include "slate/error.hpp"

namespace slate::build {

namespace {

constexpr int MaxSymlinks = 40;  // as the kernel's ELOOP limit

// Top-level directories that merged /usr turns into symlinks.
bool is_merged_dir(std::string_view top) {
    return top == "bin" || top == "sbin" || top == "lib" || top == "lib32" || top == "lib64" || top == "libx32" ||
           top == "libo32";
}

std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i <= path.size()) {
        auto slash = path.find('/', i);
        if (slash == std::string_view::npos) slash = path.size();
        if (slash > i) parts.emplace_back(path.substr(i, slash - i));
        i = slash + 1;
    }
    return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        if (i) out += '/';
        out += parts[i];
    }
    return out;
}

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

const char* type_name(deb::EntryType type) {
    switch (type) {
    case deb::EntryType::File: return "a file";
    case deb::EntryType::Directory: return "a directory";
    case deb::EntryType::Symlink: return "a symlink";
    case deb::EntryType::Hardlink: return "a hard link";
    }
    return "an entry";
}

bool same_content(const FsEntry& a, const FsEntry& b) {
    if (a.type != b.type || a.mode != b.mode) return false;
    switch (a.type) {
    case deb::EntryType::File: return a.content && b.content && *a.content == *b.content;
    case deb::EntryType::Symlink:
    case deb::EntryType::Hardlink: return a.link_target == b.link_target;
    case deb::EntryType::Directory: return true;
    }
    return false;
}

}  // namespace

namespace {
FsEntry directory(std::uint32_t mode = 0755) { return FsEntry{deb::EntryType::Directory, mode, 0, 0, {}, {}, {}}; }
FsEntry symlink(std::string target) { return FsEntry{deb::EntryType::Symlink, 0777, 0, 0, std::move(target), {}, {}}; }
}  // namespace

RootFs::RootFs() {
    m_entries[""] = directory();
    m_entries["usr"] = directory();
    for (const char* dir : {"bin", "sbin", "lib"}) {
        m_entries[std::string("usr/") + dir] = directory();
        m_entries[dir] = symlink(std::string("usr/") + dir);
    }
}

std::string RootFs::normalise(std::string_view path) {
    std::vector<std::string> out;
    for (auto& part : split(path)) {
        if (part == ".") continue;
        if (part == "..") {
            if (out.empty())
                throw Error(ErrorCode::Integrity, fmt::format("path \"{}\" climbs above the image root", path));
            out.pop_back();
            continue;
        }
        out.push_back(std::move(part));
    }
    return join(out, out.size());
}

std::optional<std::string> resolve_image_path(std::string_view path, bool follow_final, const LinkLookup& link_target) {
    std::vector<std::string> done;
    auto parts = split(path);
    std::deque<std::string> todo(parts.begin(), parts.end());
    int links = 0;
    while (!todo.empty()) {
        std::string part = std::move(todo.front());
        todo.pop_front();
        if (part == ".") continue;
        if (part == "..") {
            if (!done.empty()) done.pop_back();  // "/.." is "/" inside the image too
            continue;
        }
        done.push_back(std::move(part));
        if (todo.empty() && !follow_final) break;
        auto target = link_target(join(done, done.size()));
        if (!target) continue;
        if (++links > MaxSymlinks) return std::nullopt;
        done.pop_back();
        if (!target->empty() && target->front() == '/') done.clear();
        auto target_parts = split(*target);
        todo.insert(todo.begin(), target_parts.begin(), target_parts.end());
    }
    return join(done, done.size());
}

std::optional<std::string> RootFs::resolve_impl(std::string_view path, bool follow_final) const {
    return resolve_image_path(path, follow_final, [this](const std::string& p) -> std::optional<std::string> {
        auto it = m_entries.find(p);
        if (it == m_entries.end() || it->second.type != deb::EntryType::Symlink) return std::nullopt;
        return it->second.link_target;
    });
}

std::optional<std::string> RootFs::resolve(std::string_view path) const { return resolve_impl(path, true); }

std::string RootFs::place(std::string_view package_path) {
    std::string path = normalise(package_path);
    auto slash = path.find('/');
    std::string top = path.substr(0, slash);
    if (is_merged_dir(top)) {
        if (!m_entries.count("usr/" + top)) {  // first use of e.g. lib64: make the usr/ dir and the link
            m_entries["usr/" + top] = directory();
            m_entries[top] = symlink("usr/" + top);
        }
        path = "usr/" + path;
    }
    auto parent = parent_of(path);
    if (parent.empty()) return path;
    auto resolved = resolve_impl(parent, true);
    if (!resolved)
        throw Error(ErrorCode::Integrity, fmt::format("too many levels of symbolic links in /{}", parent));
    std::string name = path.substr(parent.size() + 1);
    return resolved->empty() ? name : *resolved + "/" + name;
}

void RootFs::ensure_parents(const std::string& path) {
    std::string parent = parent_of(path);
    std::vector<std::string> missing;
    while (!parent.empty() && !m_entries.count(parent)) {
        missing.push_back(parent);
        parent = parent_of(parent);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it)
        m_entries[*it] = FsEntry{deb::EntryType::Directory, 0755, 0, 0, {}, {}, {}};
    if (!parent.empty() && m_entries.at(parent).type != deb::EntryType::Directory)
        throw Error(ErrorCode::Integrity,
                    fmt::format("/{} needs /{} to be a directory, but it is {}", path, parent,
                                type_name(m_entries.at(parent).type)));
}

bool RootFs::may_replace(const PackageFacts& facts, const std::string& owner) const {
    if (owner.empty() || owner == facts.name) return true;  // slate's own files, or the package itself
    if (facts.replaces.empty()) return false;
    auto owner_version = m_versions.find(owner);
    for (const auto& group : deb::parse_relations(facts.replaces, "", facts.name))
        for (const auto& rel : group)
            if (rel.name == owner &&
                (owner_version == m_versions.end() ||
                 deb::satisfies(owner_version->second, rel.op, rel.version)))
                return true;
    return false;
}

void RootFs::add_package(const PackageFacts& facts, const deb::DebFile& deb) {
    m_versions[facts.name] = facts.version;
    for (const auto& entry : deb.entries) {
        std::string path = place(entry.path);
        if (path.empty()) continue;  // the root directory itself
        FsEntry fs{entry.type, entry.mode & 07777, entry.uid, entry.gid, entry.link_target, entry.content, facts.name};
        if (entry.type == deb::EntryType::Hardlink) fs.link_target = place(entry.link_target);

        auto it = m_entries.find(path);
        if (it != m_entries.end()) {
            FsEntry& existing = it->second;
            if (entry.type == deb::EntryType::Directory) {
                // A directory shipped by several packages, or over a symlink to
                // a directory (merged /usr): the first one stays.
                auto resolved = resolve_impl(path, true);
                auto target = resolved ? m_entries.find(*resolved) : m_entries.end();
                if (existing.type == deb::EntryType::Directory ||
                    (existing.type == deb::EntryType::Symlink && target != m_entries.end() &&
                     target->second.type == deb::EntryType::Directory))
                    continue;
            } else if (existing.type != deb::EntryType::Directory) {
                const std::string absolute = "/" + path;
                bool allowed = std::any_of(m_overwrite.begin(), m_overwrite.end(), [&](const std::string& glob) {
                    return ::fnmatch(glob.c_str(), absolute.c_str(), FNM_PATHNAME) == 0;
                });
                if (allowed || may_replace(facts, existing.package)) {
                    existing = std::move(fs);
                    continue;
                }
                if (same_content(existing, fs)) continue;  // identical (e.g. Multi-Arch: same): keep the first owner
            }
            const std::string owner = existing.package.empty() ? std::string("slate") : existing.package;
            throw Error(ErrorCode::Integrity,
                        fmt::format("file conflict: {} {} ships /{} as {}, but {} already put {} there", facts.name,
                                    facts.version, path, type_name(entry.type), owner, type_name(existing.type)),
                        "the packages cannot be installed together: exclude one of them (contents.exclude), or "
                        "let the later one win with contents.overwrite");
        }
        ensure_parents(path);
        m_entries.emplace(std::move(path), std::move(fs));
    }
}


void RootFs::put_file(std::string_view path, std::string content, std::uint32_t mode, std::uint32_t uid,
                      std::uint32_t gid) {
    auto p = place(path);
    ensure_parents(p);
    m_entries[p] = FsEntry{deb::EntryType::File, mode & 07777, uid, gid, {},
                           std::make_shared<const std::string>(std::move(content)), {}};
}

void RootFs::put_directory(std::string_view path, std::uint32_t mode, std::uint32_t uid, std::uint32_t gid) {
    auto p = place(path);
    if (p.empty()) return;
    ensure_parents(p);
    auto& entry = m_entries[p];
    if (entry.type != deb::EntryType::Directory && !entry.package.empty())
        throw Error(ErrorCode::Config, fmt::format("/{} is {} from {}, not a directory", p, type_name(entry.type), entry.package));
    entry = FsEntry{deb::EntryType::Directory, mode & 07777, uid, gid, {}, {}, entry.package};
}

void RootFs::put_symlink(std::string_view path, std::string target) {
    auto p = place(path);
    if (auto it = m_entries.find(p); it != m_entries.end() && it->second.type == deb::EntryType::Directory &&
                                      m_entries.lower_bound(p + "/") != m_entries.end() &&
                                      m_entries.lower_bound(p + "/")->first.starts_with(p + "/"))
        throw Error(ErrorCode::Config, fmt::format("cannot replace the directory /{} (not empty) with a symlink", p));
    ensure_parents(p);
    m_entries[p] = FsEntry{deb::EntryType::Symlink, 0777, 0, 0, std::move(target), {}, {}};
}

void RootFs::set_attributes(std::string_view path, std::optional<std::uint32_t> mode, std::optional<std::uint32_t> uid,
                            std::optional<std::uint32_t> gid, bool recursive) {
    auto resolved = resolve(normalise(path));
    auto it = resolved ? m_entries.find(*resolved) : m_entries.end();
    if (it == m_entries.end())
        throw Error(ErrorCode::NotFound, fmt::format("cannot set permissions of {}: no such path in the image", path));
    auto apply = [&](FsEntry& e) {
        if (mode && e.type != deb::EntryType::Symlink) e.mode = *mode & 07777;
        if (uid) e.uid = *uid;
        if (gid) e.gid = *gid;
    };
    apply(it->second);
    if (!recursive) return;
    const std::string prefix = it->first.empty() ? std::string() : it->first + "/";
    for (auto child = m_entries.lower_bound(prefix); child != m_entries.end() && child->first.starts_with(prefix); ++child)
        if (!child->first.empty()) apply(child->second);
}

void RootFs::remove(std::string_view path) {
    auto p = normalise(path);
    if (p.empty()) throw Error(ErrorCode::Config, "cannot remove the image root");
    m_entries.erase(p);
    const std::string prefix = p + "/";
    auto it = m_entries.lower_bound(prefix);
    while (it != m_entries.end() && it->first.starts_with(prefix)) it = m_entries.erase(it);
}

const FsEntry* RootFs::find(std::string_view path) const {
    auto it = m_entries.find(normalise(path));
    return it == m_entries.end() ? nullptr : &it->second;
}

std::optional<std::string_view> RootFs::read(std::string_view path) const {
    auto resolved = resolve(normalise(path));
    if (!resolved) return std::nullopt;
    auto it = m_entries.find(*resolved);
    if (it == m_entries.end()) return std::nullopt;
    if (it->second.type == deb::EntryType::Hardlink) it = m_entries.find(it->second.link_target);
    if (it == m_entries.end() || it->second.type != deb::EntryType::File || !it->second.content) return std::nullopt;
    return std::string_view(*it->second.content);
}

std::vector<std::string> RootFs::list(std::string_view dir) const {
    auto d = normalise(dir);
    const std::string prefix = d.empty() ? std::string() : d + "/";
    std::vector<std::string> out;
    for (auto it = m_entries.lower_bound(prefix); it != m_entries.end() && it->first.starts_with(prefix); ++it) {
        if (it->first.size() == prefix.size()) continue;
        if (it->first.find('/', prefix.size()) == std::string::npos) out.push_back(it->first);
    }
    return out;
}

std::vector<oci::TarEntry> RootFs::tar_entries(
    const std::function<bool(const std::string&, const FsEntry&)>& filter) const {
    std::vector<oci::TarEntry> out;
    for (const auto& [path, entry] : m_entries) {
        if (path.empty()) continue;
        if (filter && !filter(path, entry)) continue;
        oci::TarEntry t;
        t.path = path;
        switch (entry.type) {
        case deb::EntryType::File: t.type = oci::TarType::File; break;
        case deb::EntryType::Directory: t.type = oci::TarType::Directory; break;
        case deb::EntryType::Symlink: t.type = oci::TarType::Symlink; break;
        case deb::EntryType::Hardlink: t.type = oci::TarType::Hardlink; break;
        }
        t.mode = entry.mode;
        t.uid = entry.uid;
        t.gid = entry.gid;
        t.mtime = std::numeric_limits<std::int64_t>::max();  // clamped to SOURCE_DATE_EPOCH by the writer
        t.link_target = entry.link_target;
        t.content = entry.content;
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace slate::build
