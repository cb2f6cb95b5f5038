// Running commands in an image root with bubblewrap, and unpacking OCI
// images for it.
#include "slate/build/sandbox.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <optional>
#include <set>
#include <thread>

#include <archive.h>
#include <archive_entry.h>

#include <fmt/format.h>

#include "slate/build/image_spec.hpp"
#include "slate/error.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/hash.hpp"
#include "util/archive_handle.hpp"

extern char** environ;

namespace slate::build {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int MaxSymlinkHops = 40;  // as Linux's MAXSYMLINKS
constexpr int ExitTimedOut = 124;   // as timeout(1)
constexpr const char* BwrapHint = "install bubblewrap (apt-get install bubblewrap); slate runs images with bwrap";

// What Docker grants a container's root by default (moby's oci/caps/defaults.go).
// Inside the sandbox's user namespace they only reach the sandbox's own objects.
constexpr const char* RootCapabilities[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",  "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        std::size_t end = text.find(separator, start);
        parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

std::optional<std::uint32_t> parse_id(std::string_view text) {
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// The host path of `path` as the sandbox would see it: every symlink is
// resolved inside `root` (an absolute target restarts at `root`, ".." stops at
// it), so nothing outside `root` is ever reached. nullopt when the links loop,
// or a component other than the last is not a directory; a missing component
// gives nullopt too, unless `allow_missing`: then it and the rest are
// appended as they are (they do not exist, so nothing can redirect them).
std::optional<fs::path> locate_in_root(const fs::path& root, std::string_view path, bool allow_missing = false) {
    std::deque<std::string> todo;
    for (auto& part : split(path, '/')) todo.push_back(std::move(part));
    std::vector<std::string> done;
    int hops = 0;
    bool missing = false;  // past a component that does not exist
    auto host_path = [&] {
        fs::path p = root;
        for (const auto& c : done) p /= c;
        return p;
    };
    while (!todo.empty()) {
        std::string part = std::move(todo.front());
        todo.pop_front();
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!done.empty()) done.pop_back();
            continue;
        }
        if (missing) {
            done.push_back(std::move(part));
            continue;
        }
        fs::path host = host_path() / part;
        struct stat st {};
        if (::lstat(host.c_str(), &st) != 0) {
            if (!allow_missing || errno != ENOENT) return std::nullopt;
            missing = true;
            done.push_back(std::move(part));
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (++hops > MaxSymlinkHops) return std::nullopt;
            std::error_code ec;
            std::string target = fs::read_symlink(host, ec).string();
            if (ec) return std::nullopt;
            if (!target.empty() && target[0] == '/') done.clear();
            auto parts = split(target, '/');
            todo.insert(todo.begin(), parts.begin(), parts.end());
            continue;
        }
        if (!todo.empty() && !S_ISDIR(st.st_mode)) return std::nullopt;
        done.push_back(std::move(part));
    }
    return host_path();
}

// A regular file of the image, read without following anything on the host.
std::optional<std::string> read_image_file(const fs::path& root, std::string_view path) {
    auto host = locate_in_root(root, path);
    if (!host) return std::nullopt;
    int fd = ::open(host->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    std::string text;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        char buffer[8192];
        for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (!S_ISREG(st.st_mode)) return std::nullopt;
    return text;
}

// The colon-separated lines of an /etc/passwd or /etc/group.
std::vector<std::vector<std::string>> database(const fs::path& root, std::string_view path) {
    std::vector<std::vector<std::string>> rows;
    auto text = read_image_file(root, path);
    if (!text) return rows;
    for (const auto& line : split(*text, '\n'))
        if (!line.empty() && line[0] != '#') rows.push_back(split(line, ':'));
    return rows;
}

}  // namespace

SandboxUser resolve_sandbox_user(const fs::path& root, std::string_view user) {
    const std::string spec = user.empty() ? "root" : std::string(user);
    auto colon = spec.find(':');
    std::string name = spec.substr(0, colon);
    std::string group = colon == std::string::npos ? "" : spec.substr(colon + 1);

    // passwd: name:password:uid:gid:gecos:home:shell
    auto passwd = database(root, "etc/passwd");
    const std::vector<std::string>* entry = nullptr;
    auto numeric = parse_id(name);
    for (const auto& row : passwd) {
        if (row.size() < 6) continue;
        if (numeric ? parse_id(row[2]) == numeric : row[0] == name) {
            entry = &row;
            break;
        }
    }
    SandboxUser out;
    if (numeric) {
        out.uid = *numeric;
    } else if (entry && parse_id((*entry)[2])) {
        out.uid = *parse_id((*entry)[2]);
    } else if (name == "root") {
        out.uid = 0;
    } else {
        throw Error(ErrorCode::Config, fmt::format("user \"{}\" is not in the image's /etc/passwd", name),
                    "use a numeric uid (\"65532\" or \"65532:65532\"), or declare the account under accounts: in "
                    "the image spec");
    }
    out.gid = entry && parse_id((*entry)[3]) ? *parse_id((*entry)[3]) : 0;
    out.home = entry && !(*entry)[5].empty() ? (*entry)[5] : (out.uid == 0 ? "/root" : "/");

    if (!group.empty()) {
        if (auto gid = parse_id(group)) {
            out.gid = *gid;
        } else {
            // group: name:password:gid:members
            bool found = false;
            for (const auto& row : database(root, "etc/group"))
                if (row.size() >= 3 && row[0] == group && parse_id(row[2])) {
                    out.gid = *parse_id(row[2]);
                    found = true;
                    break;
                }
            if (!found)
                throw Error(ErrorCode::Config, fmt::format("group \"{}\" is not in the image's /etc/group", group),
                            "use a numeric gid, or declare the group under accounts: in the image spec");
        }
    }
    return out;
}

std::vector<std::string> sandbox_command(const SandboxSpec& spec) {
    auto bwrap = util::find_program("bwrap");
    if (!bwrap) throw Error(ErrorCode::NotFound, "bwrap (bubblewrap) is not installed", BwrapHint);
    std::error_code ec;
    if (!fs::is_directory(spec.root, ec))
        throw Error(ErrorCode::NotFound, fmt::format("{} is not a directory", spec.root.string()),
                    "give the directory that holds the image's file system");
    if (spec.argv.empty())
        throw Error(ErrorCode::Usage, "nothing to run: the image has no Entrypoint or Cmd, and no command was given",
                    "give the command after --, e.g. slate run IMAGE -- /bin/sh -c 'echo hello'");
    const std::string workdir = spec.workdir.empty() ? "/" : spec.workdir;
    if (workdir[0] != '/')
        throw Error(ErrorCode::Config, fmt::format("the working directory \"{}\" is not absolute", workdir),
                    "write it from the image's root, e.g. /app");
    const SandboxUser user = resolve_sandbox_user(spec.root, spec.user);
    const fs::path root = fs::absolute(spec.root);

    std::vector<std::string> cmd{bwrap->string(), "--unshare-all", "--unshare-user"};
    if (spec.network) cmd.emplace_back("--share-net");
    cmd.insert(cmd.end(), {"--die-with-parent", "--new-session"});

    // bwrap's new root is an empty tmpfs: bind the image's top-level entries
    // into it. (Binding the root itself at / would need proc, dev and tmp to
    // exist in the image as mount points.)
    std::vector<fs::directory_entry> top;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) top.push_back(*it);
    if (ec) throw Error(ErrorCode::Io, fmt::format("cannot list {}: {}", root.string(), ec.message()));
    std::sort(top.begin(), top.end());
    for (const auto& entry : top) {
        const std::string name = entry.path().filename().string();
        if (name == "proc" || name == "dev" || name == "tmp") continue;
        const std::string inside = "/" + name;
        if (entry.is_symlink(ec)) {
            cmd.insert(cmd.end(), {"--symlink", fs::read_symlink(entry.path(), ec).string(), inside});
            continue;
        }
        cmd.insert(cmd.end(), {spec.writable ? "--bind" : "--ro-bind", entry.path().string(), inside});
    }
    cmd.insert(cmd.end(), {"--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"});
    if (!spec.writable) cmd.insert(cmd.end(), {"--remount-ro", "/"});

    cmd.insert(cmd.end(), {"--uid", std::to_string(user.uid), "--gid", std::to_string(user.gid)});
    cmd.insert(cmd.end(), {"--cap-drop", "ALL"});
    if (user.uid == 0)
        for (const char* cap : RootCapabilities) cmd.insert(cmd.end(), {"--cap-add", cap});
    cmd.insert(cmd.end(), {"--chdir", workdir, "--clearenv"});
    for (const auto& [name, value] : spec.env) {
        if (name.empty() || name.find('=') != std::string::npos)
            throw Error(ErrorCode::Config, fmt::format("invalid environment variable name \"{}\"", name),
                        "a name is non-empty and has no '='");
        cmd.insert(cmd.end(), {"--setenv", name, value});
    }
    cmd.emplace_back("--");
    cmd.insert(cmd.end(), spec.argv.begin(), spec.argv.end());
    return cmd;
}

util::ProcessResult run_in_sandbox(const SandboxSpec& spec) {
    util::ProcessOptions options;
    options.stdin_data = spec.stdin_data;
    options.timeout = spec.timeout;
    return util::run_process(sandbox_command(spec), options);
}

namespace {

// posix_spawn attributes that give the child default signal handling and an
// empty signal mask: a caller that ignores SIGPIPE or SIGINT (the CLI does)
// must not pass that on to the image's programs.
class SpawnAttributes {
public:
    SpawnAttributes() {
        posix_spawnattr_init(&m_attr);
        sigset_t defaults;
        sigemptyset(&defaults);
        for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
        sigset_t empty;
        sigemptyset(&empty);
        posix_spawnattr_setsigdefault(&m_attr, &defaults);
        posix_spawnattr_setsigmask(&m_attr, &empty);
        posix_spawnattr_setflags(&m_attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    }
    ~SpawnAttributes() { posix_spawnattr_destroy(&m_attr); }
    SpawnAttributes(const SpawnAttributes&) = delete;
    SpawnAttributes& operator=(const SpawnAttributes&) = delete;
    const posix_spawnattr_t* get() const { return &m_attr; }

private:
    posix_spawnattr_t m_attr;
};

int exit_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

}  // namespace

int run_in_sandbox_streaming(const SandboxSpec& spec, const std::function<void(int pid)>& on_started) {
    const auto cmd = sandbox_command(spec);
    std::vector<char*> argv;
    for (const auto& arg : cmd) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);

    SpawnAttributes attributes;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (spec.stdout_to_stderr) posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0], &actions, attributes.get(), argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        throw Error(ErrorCode::NotFound, fmt::format("cannot run {}: {}", cmd[0], std::strerror(rc)), BwrapHint);
    if (on_started) on_started(pid);

    int status = 0;
    if (spec.timeout.count() <= 0) {
        while (::waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) throw Error(ErrorCode::Internal, fmt::format("waitpid: {}", std::strerror(errno)));
        return exit_status(status);
    }
    const auto deadline = std::chrono::steady_clock::now() + spec.timeout;
    for (;;) {
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) return exit_status(status);
        if (done < 0 && errno != EINTR) throw Error(ErrorCode::Internal, fmt::format("waitpid: {}", std::strerror(errno)));
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);  // bwrap's death takes the sandbox with it (--die-with-parent)
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            return ExitTimedOut;
        }
        std::this_thread::sleep_for(20ms);
    }
}

// ------------------------------------------------------------- unpacking images

namespace {

using util::ArchiveReader;
using util::ArchiveWriter;


class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : m_fd(fd) {}
    ~FileDescriptor() {
        if (m_fd >= 0) ::close(m_fd);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

// A layer blob read for libarchive, hashed on the way so its digest is
// checked in the same pass.
struct LayerSource {
    int fd = -1;
    util::Sha256 hash;
    std::uint64_t size = 0;
    std::vector<char> buffer = std::vector<char>(1 << 16);
    int read_errno = 0;

    ssize_t read_more() {
        ssize_t n;
        do n = ::read(fd, buffer.data(), buffer.size());
        while (n < 0 && errno == EINTR);
        if (n < 0) read_errno = errno;
        if (n > 0) {
            hash.update(buffer.data(), static_cast<std::size_t>(n));
            size += static_cast<std::uint64_t>(n);
        }
        return n;
    }
    static la_ssize_t read(archive*, void* user, const void** data) {
        auto* self = static_cast<LayerSource*>(user);
        *data = self->buffer.data();
        return self->read_more();
    }
};

// Splits a layer entry's name into normalised components: "./usr/bin/" ->
// {"usr", "bin"}. A ".." or an absolute name is refused: it would leave the root.
std::vector<std::string> layer_path(const char* raw, std::string_view what) {
    std::string name = raw ? raw : "";
    if (!name.empty() && name[0] == '/')
        throw Error(ErrorCode::Integrity, fmt::format("{} has an absolute path \"{}\"", what, name),
                    "the image is malformed or hostile; rebuild it with slate build");
    std::vector<std::string> parts;
    for (auto& part : split(name, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..")
            throw Error(ErrorCode::Integrity, fmt::format("{} has a path \"{}\" that climbs out of the root", what, name),
                        "the image is malformed or hostile; rebuild it with slate build");
        parts.push_back(std::move(part));
    }
    return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += (i ? "/" : "") + parts[i];
    return out;
}

// Where the entry `parts` lands under `root`: its parent directories as the
// image sees them (symlinks of earlier layers followed inside `root`, as
// container runtimes apply layers), the last component as is, so that a
// symlink there is replaced, never followed.
fs::path place_in_root(const fs::path& root, const std::vector<std::string>& parts, std::string_view what) {
    auto parent = locate_in_root(root, join(parts, parts.size() - 1), /*allow_missing=*/true);
    if (!parent)
        throw Error(ErrorCode::Integrity,
                    fmt::format("{}: the parent of \"{}\" is not a directory, or its symlinks loop", what,
                                join(parts, parts.size())),
                    "the image is malformed; rebuild it with slate build");
    return *parent / parts.back();
}

// Applies one whiteout entry (OCI image spec, layer.md): ".wh.NAME" deletes
// NAME from the layers below; ".wh..wh..opq" empties its directory of
// everything the layers below put there.
void apply_whiteout(const fs::path& root, const std::vector<std::string>& parts, const std::set<std::string>& this_layer,
                    std::string_view what) {
    const std::string& base = parts.back();
    std::error_code ec;
    if (base == ".wh..wh..opq") {
        // The directory as this layer names it: its entries so far are in this_layer.
        auto dir = locate_in_root(root, join(parts, parts.size() - 1));
        if (!dir || !fs::is_directory(fs::symlink_status(*dir, ec))) return;
        const std::string prefix = join(parts, parts.size() - 1);
        for (fs::directory_iterator it(*dir, ec), end; !ec && it != end; it.increment(ec)) {
            std::string rel = (prefix.empty() ? "" : prefix + "/") + it->path().filename().string();
            if (!this_layer.count(rel)) fs::remove_all(it->path(), ec);
        }
        return;
    }
    const std::string victim = base.substr(4);
    if (victim.empty() || victim == "." || victim == "..") return;
    std::vector<std::string> target(parts.begin(), parts.end() - 1);
    target.push_back(victim);
    // remove_all never follows a symlink it is given or finds below it.
    fs::remove_all(place_in_root(root, target, what), ec);
    if (ec) throw Error(ErrorCode::Io, fmt::format("{}: cannot apply the whiteout {}: {}", what, join(parts, parts.size()), ec.message()));
}

[[noreturn]] void archive_failure(archive* a, std::string_view what, std::string_view doing) {
    const char* message = archive_error_string(a);
    throw Error(ErrorCode::Integrity, fmt::format("{}: cannot {}: {}", what, doing, message ? message : "unknown error"),
                "the layer is corrupt, or it tries to write outside the image root");
}

// Extracts one layer into `root` with `out` (an archive_write_disk shared by
// all layers, so directory permissions are fixed once, after the last layer).
void apply_layer(const fs::path& blob, const oci::Descriptor& layer, const fs::path& root, archive* out,
                 std::size_t number, util::LogSink& log) {
    const std::string what = fmt::format("layer {} ({})", number, layer.digest);
    FileDescriptor fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        throw Error(ErrorCode::NotFound, fmt::format("cannot open {} at {}: {}", what, blob.string(), std::strerror(errno)));
    LayerSource source;
    source.fd = fd.get();

    ArchiveReader in(archive_read_new());
    if (!in) throw std::bad_alloc();
    archive_read_support_filter_all(in.get());  // gzip, zstd, or none, whatever the media type says
    archive_read_support_format_tar(in.get());
    if (archive_read_open(in.get(), &source, nullptr, &LayerSource::read, nullptr) != ARCHIVE_OK)
        archive_failure(in.get(), what, "read it");

    std::set<std::string> this_layer;  // paths written by this layer: an opaque whiteout keeps them
    std::size_t dropped = 0;
    archive_entry* entry = nullptr;
    for (int rc; (rc = archive_read_next_header(in.get(), &entry)) != ARCHIVE_EOF;) {
        if (rc < ARCHIVE_WARN) archive_failure(in.get(), what, "read it");
        auto parts = layer_path(archive_entry_pathname(entry), what);
        if (parts.empty()) continue;  // the root directory itself
        if (parts.back().starts_with(".wh.")) {
            apply_whiteout(root, parts, this_layer, what);
            continue;
        }
        const auto type = archive_entry_filetype(entry);
        if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
            ++dropped;  // device nodes, FIFOs: the sandbox's /dev is its own
            continue;
        }
        archive_entry_set_perm(entry, archive_entry_perm(entry) & 01777);  // no setuid/setgid on the host
        const std::string rel = join(parts, parts.size());
        archive_entry_set_pathname(entry, place_in_root(root, parts, what).c_str());
        if (const char* link = archive_entry_hardlink(entry)) {
            auto target = layer_path(link, what);
            if (target.empty())
                throw Error(ErrorCode::Integrity, fmt::format("{}: {} is a hard link to the root", what, rel));
            archive_entry_set_hardlink(entry, place_in_root(root, target, what).c_str());
        }
        if (archive_write_header(out, entry) < ARCHIVE_WARN) archive_failure(out, what, "extract " + rel);
        if (archive_entry_size(entry) > 0 && type == AE_IFREG) {
            const void* block = nullptr;
            std::size_t size = 0;
            la_int64_t offset = 0;
            for (int r; (r = archive_read_data_block(in.get(), &block, &size, &offset)) != ARCHIVE_EOF;) {
                if (r < ARCHIVE_WARN) archive_failure(in.get(), what, "read " + rel);
                if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN)
                    archive_failure(out, what, "write " + rel);
            }
        }
        if (archive_write_finish_entry(out) < ARCHIVE_WARN) archive_failure(out, what, "finish " + rel);
        this_layer.insert(rel);
    }
    // libarchive may stop before the end of the blob (tar padding): hash the rest.
    while (source.read_more() > 0) {}
    if (source.read_errno != 0)
        throw Error(ErrorCode::Io, fmt::format("cannot read {}: {}", what, std::strerror(source.read_errno)));
    std::string digest = "sha256:" + source.hash.finish_hex();
    if (digest != layer.digest || source.size != layer.size)
        throw Error(ErrorCode::Integrity,
                    fmt::format("{} does not match its manifest: {} bytes with digest {}, the manifest says {} bytes",
                                what, source.size, digest, layer.size),
                    "the image layout is damaged; build it again");
    if (dropped > 0) log.debug(fmt::format("{}: left out {} device nodes or FIFOs", what, dropped));
}

// The Debian name of an OCI platform ("arm64" for linux/arm64/v8), or its OCI
// name when Debian has none.
std::string debian_arch_of(const oci::Platform& platform) {
    for (std::string_view arch : supported_architectures()) {
        auto candidate = oci::platform_for_debian_arch(arch);
        if (candidate.architecture == platform.architecture &&
            (platform.variant.empty() || candidate.variant == platform.variant))
            return std::string(arch);
    }
    return platform.architecture;
}

const oci::LayoutImage& select_image(const oci::Layout& layout, std::string_view arch, std::string_view host_arch) {
    if (arch != host_arch)
        throw Error(ErrorCode::Usage, fmt::format("cannot run {} images on {} without emulation", arch, host_arch),
                    fmt::format("run it on a machine of that architecture ({}); slate run does not emulate others", arch));
    oci::Platform wanted = oci::platform_for_debian_arch(arch);
    const oci::LayoutImage* image = layout.find(wanted);
    if (!image && wanted.architecture == "arm64") image = layout.find({wanted.architecture, wanted.os, ""});
    if (image) return *image;
    std::string have;
    for (const auto& other : layout.images) have += (have.empty() ? "" : ", ") + oci::to_string(other.platform);
    std::string other_arch = layout.images.empty() ? std::string("other") : debian_arch_of(layout.images.front().platform);
    throw Error(ErrorCode::Usage,
                fmt::format("cannot run {} images on {} without emulation: {} holds no {} image (it has {})",
                            other_arch, host_arch, layout.dir.string(), oci::to_string(wanted), have),
                fmt::format("build the image for {} too (archs: [{}, ...] or --arch {})", host_arch, host_arch, host_arch));
}

// Creates the working directory in the private root when the image lacks it,
// as container runtimes do. Stops at a symlink: bwrap resolves those inside.
void ensure_workdir(const fs::path& root, std::string_view workdir) {
    fs::path dir = root;
    for (const auto& part : split(workdir, '/')) {
        if (part.empty() || part == "." || part == "..") continue;
        dir /= part;
        struct stat st {};
        if (::lstat(dir.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) return;
            continue;
        }
        if (::mkdir(dir.c_str(), 0755) != 0) return;
    }
}

// Makes every directory under `dir` writable by its owner (layers may make
// them read-only), so the tree can be removed. Never follows a symlink.
void make_removable(const fs::path& dir) noexcept {
    ::chmod(dir.c_str(), 0700);
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec) && !it->is_symlink(ec)) make_removable(it->path());
}

}  // namespace

UnpackedImage::UnpackedImage(fs::path dir, oci::ImageConfig config)
    : m_dir(std::move(dir)), m_root(m_dir / "rootfs"), m_config(std::move(config)) {}

UnpackedImage::UnpackedImage(UnpackedImage&& other) noexcept
    : m_dir(std::exchange(other.m_dir, {})), m_root(std::exchange(other.m_root, {})),
      m_config(std::move(other.m_config)) {}

UnpackedImage& UnpackedImage::operator=(UnpackedImage&& other) noexcept {
    if (this != &other) {
        remove();
        m_dir = std::exchange(other.m_dir, {});
        m_root = std::exchange(other.m_root, {});
        m_config = std::move(other.m_config);
    }
    return *this;
}

UnpackedImage::~UnpackedImage() { remove(); }

void UnpackedImage::remove() noexcept {
    if (m_dir.empty()) return;
    make_removable(m_dir);
    std::error_code ec;
    fs::remove_all(m_dir, ec);
    m_dir.clear();
}

UnpackedImage UnpackedImage::unpack(const fs::path& layout_dir, std::string_view arch, std::string_view host_arch,
                                    const fs::path& work_dir, util::LogSink& log) {
    auto layout = oci::read_layout(layout_dir);
    const oci::LayoutImage& image = select_image(layout, arch, host_arch);

    // A private directory (0700) on a symlink-free path: libarchive refuses
    // to extract through any symlink, including one in the prefix.
    std::error_code ec;
    fs::path parent = fs::canonical(work_dir, ec);
    if (ec) throw Error(ErrorCode::Io, fmt::format("cannot use {} for unpacking: {}", work_dir.string(), ec.message()));
    std::string templ = (parent / "slate-run-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw Error(ErrorCode::Io, fmt::format("cannot create a directory in {}: {}", parent.string(), std::strerror(errno)),
                    "check free space and permissions of the temporary directory (TMPDIR)");
    UnpackedImage unpacked(templ, image.config);  // removes the directory if anything below throws
    if (::mkdir(unpacked.m_root.c_str(), 0755) != 0)
        throw Error(ErrorCode::Io, fmt::format("cannot create {}: {}", unpacked.m_root.string(), std::strerror(errno)));

    ArchiveWriter out(archive_write_disk_new());
    if (!out) throw std::bad_alloc();
    // No ARCHIVE_EXTRACT_OWNER: files belong to the caller, whom the sandbox's
    // user namespace maps to the image user. Paths are absolute (placed by
    // place_in_root, with the image's symlinks already resolved inside the
    // root), so NOABSOLUTEPATHS cannot be used; SECURE_SYMLINKS is the safety
    // net that refuses any write still going through a symlink, NODOTDOT any "..".
    archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                  ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    for (std::size_t i = 0; i < image.manifest.layers.size(); ++i) {
        const auto& layer = image.manifest.layers[i];
        try {
            apply_layer(layout.blob_path(layer.digest), layer, unpacked.m_root, out.get(), i + 1, log);
        } catch (Error& e) {
            e.add_context(fmt::format("while unpacking {} ({})", layout_dir.string(), oci::to_string(image.platform)));
            throw;
        }
    }
    if (archive_write_close(out.get()) < ARCHIVE_WARN) archive_failure(out.get(), "the image", "set permissions");
    if (!image.config.config.working_dir.empty()) ensure_workdir(unpacked.m_root, image.config.config.working_dir);
    return unpacked;
}

SandboxSpec UnpackedImage::sandbox_spec(const std::vector<std::string>& command) const {
    const auto& rc = m_config.config;
    SandboxSpec spec;
    spec.root = m_root;
    spec.user = rc.user;
    spec.workdir = rc.working_dir.empty() ? "/" : rc.working_dir;
    spec.argv = rc.entrypoint;
    const auto& args = command.empty() ? rc.cmd : command;
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());

    bool has_path = false, has_home = false;
    for (const auto& line : rc.env) {
        auto eq = line.find('=');
        std::string name = line.substr(0, eq);
        has_path |= name == "PATH";
        has_home |= name == "HOME";
        spec.env.emplace_back(name, eq == std::string::npos ? "" : line.substr(eq + 1));
    }
    // What Docker adds when the image does not say.
    if (!has_path) spec.env.emplace_back("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if (!has_home) spec.env.emplace_back("HOME", resolve_sandbox_user(m_root, rc.user).home);
    return spec;
}

}  // namespace slate::build
