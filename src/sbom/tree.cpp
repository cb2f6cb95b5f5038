#include "slate/sbom/tree.hpp"

#include <libdeflate.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "util/archive_handle.hpp"

namespace slate::sbom {
namespace fs = std::filesystem;

namespace {

constexpr int MaxLinkHops = 40;

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        std::string_view part = path.substr(start, slash - start);
        if (!part.empty() && part != ".") parts.emplace_back(part);
        start = slash + 1;
    }
    return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += "/" + parts[i];
    return out.empty() ? "/" : out;
}

bool is_below(std::string_view path, std::string_view dir) {
    if (dir == "/") return path != "/";
    return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

// What a reader does with one regular file's bytes.
struct FileRoute {
    bool keep = false;
    bool inspect = false;
    bool hash = false;
    bool any() const { return keep || inspect || hash; }
};

FileRoute route(const TreeInterest& interest, const std::string& path, const TreeEntry& entry, bool hashing,
                std::vector<Warning>& warnings) {
    FileRoute r;
    if (interest.keep && interest.keep(path, entry)) {
        if (entry.size <= interest.keep_limit) {
            r.keep = true;
        } else {
            warnings.push_back({path, fmt::format("{} bytes is too large to read as package metadata; skipped",
                                                  entry.size)});
        }
    }
    if (!r.keep && interest.inspect && interest.inspector && entry.size <= interest.inspect_limit &&
        interest.inspect(path, entry))
        r.inspect = true;
    r.hash = hashing;
    return r;
}

void deliver(FileTree& tree, const TreeInterest& interest, const FileRoute& r, const std::string& path,
             const TreeEntry& entry, std::string_view content, std::vector<FileEntry>* files) {
    if (r.keep) tree.keep(path, std::string(content));
    if (r.inspect) interest.inspector(path, entry, content);
    if (r.hash && files) files->push_back(file_entry(path, content));
}

void forget_all(const TreeInterest& interest, const std::vector<std::string>& removed,
                std::vector<FileEntry>* files) {
    if (removed.empty()) return;
    if (interest.forget)
        for (const auto& path : removed) interest.forget(path);
    if (files) {
        std::set<std::string_view> gone(removed.begin(), removed.end());
        std::erase_if(*files, [&](const FileEntry& f) { return gone.count(f.path) > 0; });
    }
}

}  // namespace

std::string normalize_tree_path(std::string_view path) {
    std::vector<std::string> parts;
    for (auto& part : split_path(path)) {
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else {
            parts.push_back(std::move(part));
        }
    }
    return join(parts, parts.size());
}

// ------------------------------------------------------------ FileTree

const TreeEntry* FileTree::find(std::string_view path) const {
    auto it = m_entries.find(std::string(path));
    return it == m_entries.end() ? nullptr : &it->second;
}

std::string FileTree::resolve(std::string_view path) const {
    std::vector<std::string> pending = split_path(path);
    std::reverse(pending.begin(), pending.end());  // a stack: next component at the back
    std::vector<std::string> done;
    int hops = 0;
    while (!pending.empty()) {
        std::string part = std::move(pending.back());
        pending.pop_back();
        if (part == "..") {
            if (!done.empty()) done.pop_back();
            continue;
        }
        done.push_back(part);
        const TreeEntry* entry = find(join(done, done.size()));
        if (!entry || entry->type != TreeEntry::Type::Symlink) continue;
        if (++hops > MaxLinkHops) return {};
        done.pop_back();
        const std::string& target = entry->link_target;
        if (target.starts_with("/")) done.clear();
        std::vector<std::string> more = split_path(target);
        for (auto it = more.rbegin(); it != more.rend(); ++it) pending.push_back(*it);
    }
    std::string resolved = join(done, done.size());
    if (resolved != "/" && !find(resolved)) return {};
    return resolved;
}

std::optional<std::string_view> FileTree::read(std::string_view path) const {
    std::string resolved = resolve(path);
    if (resolved.empty()) return std::nullopt;
    const TreeEntry* entry = find(resolved);
    for (int hops = 0; entry && entry->type == TreeEntry::Type::Hardlink && hops < MaxLinkHops; ++hops) {
        resolved = entry->link_target;
        entry = find(resolved);
    }
    if (!entry || entry->type != TreeEntry::Type::File) return std::nullopt;
    auto content = m_contents.find(resolved);
    if (content == m_contents.end()) return std::nullopt;
    return std::string_view(content->second);
}

void FileTree::add(std::string path, TreeEntry entry) {
    m_contents.erase(path);
    m_entries[std::move(path)] = std::move(entry);
}

void FileTree::keep(std::string path, std::string content) { m_contents[std::move(path)] = std::move(content); }

std::vector<std::string> FileTree::remove(std::string_view path, const std::function<bool(const std::string&)>& spare) {
    return erase_from(m_entries.lower_bound(std::string(path)), path, true, spare);
}

std::vector<std::string> FileTree::remove_children(std::string_view dir,
                                                   const std::function<bool(const std::string&)>& spare) {
    return erase_from(m_entries.upper_bound(std::string(dir)), dir, false, spare);
}

std::vector<std::string> FileTree::erase_from(std::map<std::string, TreeEntry>::iterator it, std::string_view base,
                                              bool with_base, const std::function<bool(const std::string&)>& spare) {
    std::vector<std::string> removed;
    // Every path that starts with `base` sorts together, but "/a-b" sorts
    // between "/a" and "/a/x": skip those, do not stop at them.
    while (it != m_entries.end() && it->first.starts_with(base)) {
        const bool hit = (with_base && it->first == base) || is_below(it->first, base);
        if (!hit || (spare && spare(it->first))) {
            ++it;
            continue;
        }
        m_contents.erase(it->first);
        removed.push_back(it->first);
        it = m_entries.erase(it);
    }
    return removed;
}

// ------------------------------------------------------------ directories

FileTree read_directory_tree(const fs::path& root, const TreeInterest& interest, std::vector<Warning>& warnings,
                             std::vector<FileEntry>* files) {
    std::error_code ec;
    if (!fs::is_directory(root, ec))
        throw Error(ErrorCode::NotFound, fmt::format("{} is not a directory", root.string()),
                    "dir: takes the root directory of an unpacked image or system");
    FileTree tree;
    tree.add("/", {TreeEntry::Type::Directory, 0755, 0, {}});
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw Error(ErrorCode::Io, fmt::format("cannot read {}: {}", root.string(), ec.message()));
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
        if (ec) {
            warnings.push_back({"/", fmt::format("cannot list part of {}: {}", root.string(), ec.message())});
            ec.clear();
            continue;
        }
        const fs::path& host_path = it->path();
        std::string path = "/" + host_path.lexically_relative(root).generic_string();
        struct stat info {};
        if (::lstat(host_path.c_str(), &info) != 0) {
            warnings.push_back({path, "cannot stat it"});
            continue;
        }
        TreeEntry entry;
        entry.mode = info.st_mode & 07777;
        if (S_ISDIR(info.st_mode)) {
            entry.type = TreeEntry::Type::Directory;
        } else if (S_ISLNK(info.st_mode)) {
            entry.type = TreeEntry::Type::Symlink;
            entry.link_target = fs::read_symlink(host_path, ec).string();
            if (ec) {
                warnings.push_back({path, "cannot read the link"});
                ec.clear();
            }
        } else if (S_ISREG(info.st_mode)) {
            entry.type = TreeEntry::Type::File;
            entry.size = static_cast<std::uint64_t>(info.st_size);
        } else {
            entry.type = TreeEntry::Type::Other;
        }
        tree.add(path, entry);
        if (entry.type != TreeEntry::Type::File) continue;
        FileRoute r = route(interest, path, entry, files != nullptr, warnings);
        if (!r.any()) continue;
        try {
            util::MappedFile mapped(host_path);
            deliver(tree, interest, r, path, entry, mapped.view(), files);
        } catch (const Error& e) {
            warnings.push_back({path, "cannot read it: " + e.message()});
        }
    }
    if (files) std::sort(files->begin(), files->end(), [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
    return tree;
}

// ------------------------------------------------------------ image layers

namespace {

// Reads the rest of the current entry's data into `out` (at most `limit`
// bytes; false when it is longer or the stream breaks).
bool read_entry_data(archive* reader, std::uint64_t limit, std::string& out, std::string& error) {
    out.clear();
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
        int rc = archive_read_data_block(reader, &block, &size, &offset);
        if (rc == ARCHIVE_EOF) return true;
        if (rc < ARCHIVE_WARN) {
            error = archive_error_string(reader) ? archive_error_string(reader) : "unreadable data";
            return false;
        }
        if (static_cast<std::uint64_t>(offset) > out.size()) out.resize(static_cast<std::size_t>(offset), '\0');  // sparse
        if (out.size() + size > limit) {
            error = "larger than expected";
            return false;
        }
        out.append(static_cast<const char*>(block), size);
    }
}

// Layers up to this size (uncompressed) are inflated in one piece by
// libdeflate, about 2.5 times faster than zlib's streaming inflate under
// libarchive; larger ones stream, so memory stays bounded.
constexpr std::uint64_t WholeLayerLimit = 256u << 20;

// The tar inside a single-member gzip file, inflated at once; nullopt when
// the file is not gzip, too large, multi-member or damaged (libarchive then
// reads it as a stream and reports what is wrong).
std::optional<std::string> inflate_whole(const fs::path& layer) {
    std::error_code ec;
    const auto size = fs::file_size(layer, ec);
    if (ec || size < 18 || size > WholeLayerLimit) return std::nullopt;
    std::string gzip;
    try {
        gzip = util::read_file(layer);
    } catch (const Error&) {
        return std::nullopt;
    }
    if (static_cast<unsigned char>(gzip[0]) != 0x1f || static_cast<unsigned char>(gzip[1]) != 0x8b) return std::nullopt;
    // ISIZE, the last member's uncompressed size mod 2^32.
    std::uint32_t isize = 0;
    for (int i = 3; i >= 0; --i) isize = (isize << 8) | static_cast<unsigned char>(gzip[gzip.size() - 4 + static_cast<std::size_t>(i)]);
    if (isize > WholeLayerLimit) return std::nullopt;
    std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> inflater(
        libdeflate_alloc_decompressor(), &libdeflate_free_decompressor);
    if (!inflater) return std::nullopt;
    std::string tar(isize, '\0');
    std::size_t in_used = 0, out_used = 0;
    if (libdeflate_gzip_decompress_ex(inflater.get(), gzip.data(), gzip.size(), tar.data(), tar.size(), &in_used,
                                      &out_used) != LIBDEFLATE_SUCCESS ||
        in_used != gzip.size() || out_used != isize)
        return std::nullopt;
    return tar;
}

void read_one_layer(const fs::path& layer, std::size_t index, FileTree& tree, const TreeInterest& interest,
                    std::vector<Warning>& warnings, std::vector<FileEntry>* files) {
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_filter_all(reader.get());
    archive_read_support_format_tar(reader.get());
    const std::string name = fmt::format("layer {} ({})", index + 1, layer.filename().string());
    const std::optional<std::string> inflated = inflate_whole(layer);
    const int opened = inflated ? archive_read_open_memory(reader.get(), inflated->data(), inflated->size())
                                : archive_read_open_filename(reader.get(), layer.c_str(), 1 << 16);
    if (opened != ARCHIVE_OK) {
        warnings.push_back({"", fmt::format("cannot read {}: {}", name,
                                            archive_error_string(reader.get()) ? archive_error_string(reader.get())
                                                                               : "unknown error")});
        return;
    }
    std::set<std::string> this_layer;  // whiteouts only hide what lower layers hold
    auto spare = [&](const std::string& path) { return this_layer.count(path) > 0; };
    std::string content;
    for (;;) {
        archive_entry* raw = nullptr;
        int rc = archive_read_next_header(reader.get(), &raw);
        if (rc == ARCHIVE_EOF) return;
        if (rc < ARCHIVE_WARN) {
            warnings.push_back({"", fmt::format("{} is damaged or truncated ({}); the files after it were not read",
                                                name, archive_error_string(reader.get()) ? archive_error_string(reader.get())
                                                                                         : "unreadable")});
            return;
        }
        const char* raw_path = archive_entry_pathname(raw);
        if (!raw_path) continue;
        std::string path = normalize_tree_path(raw_path);
        if (path == "/") continue;
        std::string dir = path.substr(0, path.rfind('/'));
        if (dir.empty()) dir = "/";
        std::string base = path.substr(path.rfind('/') + 1);
        if (base == ".wh..wh..opq") {
            forget_all(interest, tree.remove_children(dir, spare), files);
            continue;
        }
        if (base.starts_with(".wh.")) {
            std::string hidden = (dir == "/" ? "" : dir) + "/" + base.substr(4);
            forget_all(interest, tree.remove(hidden, spare), files);
            continue;
        }
        TreeEntry entry;
        entry.mode = static_cast<std::uint32_t>(archive_entry_perm(raw));
        if (const char* hardlink = archive_entry_hardlink(raw)) {
            entry.type = TreeEntry::Type::Hardlink;
            entry.link_target = normalize_tree_path(hardlink);
        } else {
            switch (archive_entry_filetype(raw)) {
                case AE_IFDIR: entry.type = TreeEntry::Type::Directory; break;
                case AE_IFLNK:
                    entry.type = TreeEntry::Type::Symlink;
                    entry.link_target = archive_entry_symlink(raw) ? archive_entry_symlink(raw) : "";
                    break;
                case AE_IFREG:
                    entry.type = TreeEntry::Type::File;
                    entry.size = static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(raw), 0));
                    break;
                default: entry.type = TreeEntry::Type::Other; break;
            }
        }
        // A file replaces whatever was there (a directory keeps its children).
        if (const TreeEntry* old = tree.find(path); old && entry.type != TreeEntry::Type::Directory)
            forget_all(interest, tree.remove(path), files);
        else if (old && old->type != TreeEntry::Type::Directory)
            forget_all(interest, tree.remove(path), files);
        this_layer.insert(path);
        tree.add(path, entry);
        if (entry.type != TreeEntry::Type::File) continue;
        FileRoute r = route(interest, path, entry, files != nullptr, warnings);
        if (!r.any()) continue;
        std::string error;
        std::uint64_t limit = std::max<std::uint64_t>(entry.size, 1);
        if (!read_entry_data(reader.get(), limit, content, error)) {
            warnings.push_back({path, fmt::format("cannot read it from {}: {}", name, error)});
            if (error != "larger than expected") {
                warnings.push_back({"", fmt::format("{} is damaged or truncated; the files after {} were not read",
                                                    name, path)});
                return;
            }
            continue;
        }
        deliver(tree, interest, r, path, entry, content, files);
    }
}

}  // namespace

FileTree read_layers_tree(const std::vector<fs::path>& layers, const TreeInterest& interest,
                          std::vector<Warning>& warnings, std::vector<FileEntry>* files) {
    FileTree tree;
    tree.add("/", {TreeEntry::Type::Directory, 0755, 0, {}});
    for (std::size_t i = 0; i < layers.size(); ++i) read_one_layer(layers[i], i, tree, interest, warnings, files);
    if (files) std::sort(files->begin(), files->end(), [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
    return tree;
}

}  // namespace slate::sbom
