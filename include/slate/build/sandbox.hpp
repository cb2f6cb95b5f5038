#pragma once
// Running commands inside an image's file system with bubblewrap (Debian's
// bwrap), as `slate run` and `slate build --test` do. Nothing of the image
// runs on the host: the command sees only the image root, a fresh /proc, a
// minimal /dev and an empty /tmp, in new user, mount, PID, IPC, UTS, cgroup
// and (unless asked otherwise) network namespaces.
//
// The sandbox (bwrap arguments, in order):
//   --unshare-all --unshare-user [--share-net] --die-with-parent --new-session
//   the image root's top-level entries bound at / (read-only unless
//   `writable`; symlinks such as merged-/usr's bin -> usr/bin recreated as
//   symlinks), --proc /proc, --dev /dev, --tmpfs /tmp (mode 1777), the
//   tmpfs root remounted read-only, --uid/--gid of the image user,
//   capabilities: Docker's default set for uid 0, none for anyone else,
//   --chdir workdir, --clearenv and one --setenv per variable, then argv.
// The root's own top-level proc, dev and tmp (if any) are hidden by the
// fresh mounts. The user namespace maps only the caller's uid: inside, every
// file of the root appears owned by the sandbox user.
//
// Unpacking an image: UnpackedImage applies an OCI layout's layers, bottom
// first, into a private directory with libarchive (never through a symlink,
// never outside the directory, whiteouts applied, device nodes and
// setuid/setgid bits dropped) and removes the directory when it dies.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slate/oci/image.hpp"
#include "slate/util/log.hpp"
#include "slate/util/subprocess.hpp"

namespace slate::build {

struct SandboxSpec {
    std::filesystem::path root;                               // the image's unpacked file system
    std::vector<std::string> argv;                            // argv[0] is looked up in the sandbox's PATH
    std::vector<std::pair<std::string, std::string>> env;     // the whole environment, in order
    std::string user;                                         // "", "root", "name", "uid", "name:group", "uid:gid"
    std::string workdir;                                      // absolute, inside the image; empty: "/"
    bool network = false;                                     // share the host's network (else a private loopback)
    bool writable = false;                                    // bind the root read-write (changes reach `root`)
    std::chrono::seconds timeout{60};                         // 0: none; on expiry the sandbox is killed
    std::string stdin_data{};                                 // run_in_sandbox only: the command's stdin
    bool stdout_to_stderr = false;                            // streaming only: keep the caller's stdout clean
};

// The numeric identity a SandboxSpec::user means in an image.
struct SandboxUser {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string home;  // from the image's /etc/passwd; when not listed there: /root for uid 0, else /
};

// Resolves `user` through the image's etc/passwd and etc/group (read inside
// `root`: symlinks are followed within it, never on the host). "" means root.
// A numeric uid that passwd does not list gets gid 0, as runc does.
// Throws slate::Error (Config) for a name the image does not define.
SandboxUser resolve_sandbox_user(const std::filesystem::path& root, std::string_view user);

// The bwrap command line for `spec` (bwrap found in PATH). Throws
// slate::Error: NotFound when bwrap is not installed or `root` is not a
// directory, Config for an unknown user or a relative workdir, Usage for an
// empty argv.
std::vector<std::string> sandbox_command(const SandboxSpec& spec);

// Runs the command and captures its output. ProcessResult::exit_code is the
// command's exit status (128+signal when killed); bwrap's own failures
// (e.g. a workdir missing in the image) exit 1 with "bwrap: ..." on err.
util::ProcessResult run_in_sandbox(const SandboxSpec& spec);

// Runs the command with the caller's stdin, stdout and stderr, and returns its
// exit status (128+signal when killed, 124 on timeout, as timeout(1)).
// `on_started` receives bwrap's process id, e.g. to forward a signal to it
// (killing bwrap kills the whole sandbox).
int run_in_sandbox_streaming(const SandboxSpec& spec, const std::function<void(int pid)>& on_started = {});

// An image's file system unpacked into a private directory, removed (with
// everything in it) when the object dies.
class UnpackedImage {
public:
    // Reads the OCI layout in `layout_dir` (its only index.json entry), picks
    // the image for the Debian architecture `arch`, checks each layer's digest
    // and applies the layers in order into a new directory under `work_dir`.
    // `host_arch` is the Debian architecture of this machine: anything else
    // cannot run without emulation. Throws slate::Error: Usage for a foreign
    // architecture ("cannot run arm64 images on amd64 without emulation"),
    // NotFound / Parse / Integrity from reading the layout, Integrity for a
    // layer with a path escaping the root or a digest mismatch, Io.
    static UnpackedImage unpack(const std::filesystem::path& layout_dir, std::string_view arch,
                                std::string_view host_arch, const std::filesystem::path& work_dir,
                                util::LogSink& log);

    UnpackedImage(UnpackedImage&&) noexcept;
    UnpackedImage& operator=(UnpackedImage&&) noexcept;
    UnpackedImage(const UnpackedImage&) = delete;
    UnpackedImage& operator=(const UnpackedImage&) = delete;
    ~UnpackedImage();

    const std::filesystem::path& root() const { return m_root; }
    const oci::ImageConfig& config() const { return m_config; }

    // A sandbox that runs the image as a container runtime would: the image's
    // User, Env (plus PATH and HOME when it sets none), WorkingDir, and
    // Entrypoint followed by `command` (or by the image's Cmd when `command`
    // is empty); argv stays empty when all are. The timeout is the
    // SandboxSpec default; set 0 for none.
    SandboxSpec sandbox_spec(const std::vector<std::string>& command) const;

private:
    UnpackedImage(std::filesystem::path dir, oci::ImageConfig config);
    void remove() noexcept;

    std::filesystem::path m_dir;   // the private directory (mode 0700)
    std::filesystem::path m_root;  // m_dir / "rootfs"
    oci::ImageConfig m_config;
};

}  // namespace slate::build
