#include "slate/build/system_files.hpp"

#include <fnmatch.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "slate/deb/deb822.hpp"
#include "slate/error.hpp"
#include "slate/util/text.hpp"

namespace slate::build {

namespace {

using deb::EntryType;

// ---------------------------------------------------------------------------
// Small helpers

std::string parent_of(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// The image path an entry for `path` occupies: its parent directories resolved
// through the image's own symlinks, as RootFs places generated entries; the
// last component is not followed.
std::string location_of(const RootFs& root, std::string_view path) {
    std::string norm = RootFs::normalise(path);
    auto slash = norm.rfind('/');
    if (slash == std::string::npos) return norm;
    auto parent = root.resolve(norm.substr(0, slash));
    if (!parent)
        throw Error(ErrorCode::Config, fmt::format("/{}: too many levels of symbolic links", norm.substr(0, slash)));
    std::string name = norm.substr(slash + 1);
    return parent->empty() ? name : *parent + "/" + name;
}

const FsEntry* entry_at(const RootFs& root, std::string_view path) { return root.find(location_of(root, path)); }

bool is_directory(const RootFs& root, std::string_view path) {
    auto resolved = root.resolve(RootFs::normalise(path));
    const FsEntry* e = resolved ? root.find(*resolved) : nullptr;
    return e && e->type == EntryType::Directory;
}

bool has_package(const RootFs& root, std::string_view name) {
    return std::any_of(root.entries().begin(), root.entries().end(),
                       [&](const auto& item) { return item.second.package == name; });
}

const char* kind_of(const FsEntry& e) {
    switch (e.type) {
    case EntryType::File: return "a file";
    case EntryType::Directory: return "a directory";
    case EntryType::Symlink: return "a symlink";
    case EntryType::Hardlink: return "a hard link";
    }
    return "an entry";
}

std::string shipped_by(const FsEntry& e) {
    return e.package.empty() ? std::string(" made by slate") : fmt::format(" from {}", e.package);
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    const std::string* best = nullptr;
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 4) + 1;
    for (const auto& c : candidates) {
        std::size_t d = util::suggestion_distance(word, c);
        if (d < best_distance) best_distance = d, best = &c;
    }
    return best ? fmt::format("; did you mean '{}'?", *best) : std::string();
}

std::optional<std::uint32_t> parse_id(std::string_view text) {
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0xffffffffu)
        return std::nullopt;
    return value;
}

// ---------------------------------------------------------------------------
// Accounts

struct User {
    std::string name;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string home;
    std::string shell;
    bool builtin = false;
};

struct Group {
    std::string name;
    std::uint32_t gid = 0;
    std::vector<std::string> members;
    bool builtin = false;
};

// root's shell is /sbin/nologin as in distroless: the image usually has no
// shell, and nothing should log in (`slate run -- /bin/sh` still works).
std::vector<User> builtin_users() {
    return {{"root", 0, 0, "/root", "/sbin/nologin", true},
            {"nobody", NobodyId, NobodyId, "/nonexistent", "/sbin/nologin", true},
            {"nonroot", NonrootId, NonrootId, "/home/nonroot", "/sbin/nologin", true}};
}

std::vector<Group> builtin_groups() {
    return {{"root", 0, {}, true}, {"nogroup", NobodyId, {}, true}, {"nonroot", NonrootId, {}, true}};
}

const std::string BuiltinIdsHint =
    "uid/gid 0, 65534 and 65532 belong to the built-in root, nobody/nogroup and nonroot accounts: choose another "
    "id, or declare a user or group named nonroot to replace the built-in one";

template <typename Account, typename Spec, typename NameOf, typename Convert>
void merge_accounts(std::vector<Account>& accounts, const std::vector<Spec>& specs, NameOf name_of, Convert convert,
                    std::string_view what) {
    for (const Spec& spec : specs) {
        Account account = convert(spec);
        auto same = std::find_if(accounts.begin(), accounts.end(), [&](const Account& a) { return a.name == name_of(spec); });
        if (same == accounts.end()) {
            accounts.push_back(std::move(account));
        } else if (same->builtin && same->name == "nonroot") {
            *same = std::move(account);  // the spec's own nonroot replaces the built-in one
        } else {
            throw Error(ErrorCode::Config,
                        fmt::format("accounts.{}: '{}' is a built-in account of every image", what, same->name),
                        "remove it from the spec: every image has the users root, nobody and nonroot and the groups "
                        "root, nogroup and nonroot; only nonroot may be declared again, to replace the built-in one");
        }
    }
}

template <typename Account, typename IdOf>
void check_unique_ids(const std::vector<Account>& accounts, IdOf id_of, std::string_view kind, std::string_view id_name) {
    for (std::size_t i = 0; i < accounts.size(); ++i)
        for (std::size_t j = i + 1; j < accounts.size(); ++j)
            if (id_of(accounts[i]) == id_of(accounts[j])) {
                const auto& first = accounts[i];
                const auto& second = accounts[j];
                throw Error(ErrorCode::Config,
                            fmt::format("accounts: {} '{}' has {} {}, which the {}{} '{}' already has", kind,
                                        second.name, id_name, id_of(second), first.builtin ? "built-in " : "", kind,
                                        first.name),
                            BuiltinIdsHint);
            }
}

std::string passwd_text(const std::vector<User>& users) {
    std::string out;
    for (const auto& u : users) out += fmt::format("{0}:x:{1}:{2}:{0}:{3}:{4}\n", u.name, u.uid, u.gid, u.home, u.shell);
    return out;
}

std::string group_text(const std::vector<Group>& groups) {
    std::string out;
    for (const auto& g : groups) out += fmt::format("{}:x:{}:{}\n", g.name, g.gid, fmt::join(g.members, ","));
    return out;
}

// Debian's default (libc-bin's /usr/share/libc-bin/nsswitch.conf) without the
// systemd and NIS lines, and without "db" (libnss-db is not in these images).
constexpr std::string_view NsswitchConf =
    "# /etc/nsswitch.conf, written by slate: local files and DNS only.\n"
    "# See nsswitch.conf(5).\n"
    "\n"
    "passwd:         files\n"
    "group:          files\n"
    "shadow:         files\n"
    "gshadow:        files\n"
    "\n"
    "hosts:          files dns\n"
    "networks:       files\n"
    "\n"
    "protocols:      files\n"
    "services:       files\n"
    "ethers:         files\n"
    "rpc:            files\n";

bool home_is_created(const User& user) { return user.home != "/" && user.home != "/nonexistent"; }

// Refuses a home that exists as something other than a directory.
void check_home(const RootFs& root, const User& user) {
    if (!home_is_created(user)) return;
    const FsEntry* existing = entry_at(root, user.home);
    if (existing && !is_directory(root, user.home))
        throw Error(ErrorCode::Config,
                    fmt::format("accounts: the home directory {} of user '{}' is {}{}", user.home, user.name,
                                kind_of(*existing), shipped_by(*existing)),
                    "give the user another home");
}

void create_home(RootFs& root, const User& user) {
    if (!home_is_created(user)) return;
    if (user.uid == 0 && user.home == "/root")
        root.put_directory(user.home, 0700, 0, 0);
    else if (!entry_at(root, user.home))
        root.put_directory(user.home, 0755, user.uid, user.gid);
    // An existing directory is left as it is, as `useradd -m` does.
}

RunAs resolve_run_as(const std::string& run_as, const std::vector<User>& users) {
    if (run_as.empty()) return {"", 0, 0};
    auto colon = run_as.find(':');
    if (colon != std::string::npos) {
        auto uid = parse_id(std::string_view(run_as).substr(0, colon));
        auto gid = parse_id(std::string_view(run_as).substr(colon + 1));
        if (uid && gid) return {run_as, *uid, *gid};
    } else if (auto uid = parse_id(run_as)) {
        auto user = std::find_if(users.begin(), users.end(), [&](const User& u) { return u.uid == *uid; });
        return {run_as, *uid, user == users.end() ? 0 : user->gid};
    } else {
        auto user = std::find_if(users.begin(), users.end(), [&](const User& u) { return u.name == run_as; });
        if (user != users.end()) return {run_as, user->uid, user->gid};
    }
    std::vector<std::string> names;
    for (const auto& u : users) names.push_back(u.name);
    throw Error(ErrorCode::Config,
                fmt::format("accounts.run-as: '{}' is not a user of the image (users: {}){}", run_as,
                            fmt::join(names, ", "), did_you_mean(run_as, names)),
                "name a user, or give a numeric uid or uid:gid");
}

// ---------------------------------------------------------------------------
// CA certificates

constexpr std::string_view CertsDir = "/usr/share/ca-certificates";
constexpr std::string_view LocalCertsDir = "/usr/local/share/ca-certificates";
constexpr std::string_view EtcCertsDir = "/etc/ssl/certs";

// The header ca-certificates's postinst writes into a new /etc/ca-certificates.conf.
constexpr std::string_view CaConfHeader =
    "# This file lists certificates that you wish to use or to ignore to be\n"
    "# installed in /etc/ssl/certs.\n"
    "# update-ca-certificates(8) will update /etc/ssl/certs by reading this file.\n"
    "#\n"
    "# This is autogenerated by dpkg-reconfigure ca-certificates.\n"
    "# Certificates should be installed under /usr/share/ca-certificates\n"
    "# and files with extension '.crt' is recognized as available certs.\n"
    "#\n"
    "# line begins with # is comment.\n"
    "# line begins with ! is certificate filename to be deselected.\n"
    "#\n";

struct CertFile {
    std::string relative;  // below its directory, e.g. "mozilla/ISRG_Root_X1.crt"
    std::string_view content;
};

// `find -L DIR -type f -name '*.crt' | sort` inside the image (C locale order).
std::vector<CertFile> find_certificates(const RootFs& root, std::string_view dir) {
    std::vector<CertFile> out;
    auto resolved = root.resolve(RootFs::normalise(dir));
    if (!resolved || !is_directory(root, *resolved)) return out;
    const std::string prefix = *resolved + "/";
    const auto& entries = root.entries();
    for (auto it = entries.lower_bound(prefix); it != entries.end() && it->first.starts_with(prefix); ++it) {
        if (!it->first.ends_with(".crt")) continue;
        if (auto content = root.read(it->first)) out.push_back({it->first.substr(prefix.size()), *content});
    }
    return out;  // std::map order is byte order, as `sort` in the C locale
}

// update-ca-certificates's name for the link to a certificate.
std::string pem_link_name(std::string_view crt_path) {
    std::string name = base_name(crt_path);
    if (name.ends_with(".crt")) name.resize(name.size() - 4);
    for (char& c : name) {
        if (c == ' ' || c == ',') c = '_';
        if (c == '(' || c == ')') c = '=';
    }
    return name + ".pem";
}

struct BioDeleter {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct X509InfoStackDeleter {
    void operator()(STACK_OF(X509_INFO) * stack) const { sk_X509_INFO_pop_free(stack, X509_INFO_free); }
};
using X509InfoStackPtr = std::unique_ptr<STACK_OF(X509_INFO), X509InfoStackDeleter>;

struct HashedCertificate {
    unsigned long subject_hash = 0;
    std::array<unsigned char, EVP_MAX_MD_SIZE> sha1{};
};

// What `openssl rehash` reads from one file: exactly one certificate, or nullopt
// with the reason in `why`.
std::optional<HashedCertificate> hash_certificate(std::string_view pem, std::string& why) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw Error(ErrorCode::Internal, "out of memory creating an OpenSSL BIO");
    X509InfoStackPtr infos(PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    if (!infos || sk_X509_INFO_num(infos.get()) != 1) {
        why = "it does not contain exactly one certificate or CRL";
        return std::nullopt;
    }
    X509* cert = sk_X509_INFO_value(infos.get(), 0)->x509;
    if (!cert) {
        why = "it holds a CRL, not a certificate";
        return std::nullopt;
    }
    HashedCertificate out;
    out.subject_hash = X509_subject_name_hash(cert);
    unsigned int size = 0;
    if (!X509_digest(cert, EVP_sha1(), out.sha1.data(), &size)) {
        ERR_clear_error();
        why = "OpenSSL cannot compute its fingerprint";
        return std::nullopt;
    }
    return out;
}

bool is_hash_link_name(std::string_view name) {
    static const std::regex pattern("^[0-9a-f]{8}\\.r?[0-9]+$");
    return std::regex_match(name.begin(), name.end(), pattern);
}

bool has_rehash_suffix(std::string_view name) {
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos) return false;
    std::string ext;
    for (char c : name.substr(dot + 1)) ext += lower(c);
    return ext == "pem" || ext == "crt" || ext == "cer" || ext == "crl";
}

// `openssl rehash` on a fresh directory: files in strcmp order; per subject
// hash, links <hash>.0, .1, ... in that order; a certificate identical (SHA-1
// fingerprint) to one already linked is skipped.
void rehash(RootFs& root, std::vector<std::string>& notes) {
    const std::string dir = *root.resolve(RootFs::normalise(EtcCertsDir));
    struct Linked {
        std::vector<std::array<unsigned char, EVP_MAX_MD_SIZE>> digests;
    };
    std::map<unsigned long, Linked> buckets;
    std::vector<std::pair<std::string, std::string>> links;  // name, target
    for (const std::string& path : root.list(dir)) {
        std::string name = base_name(path);
        if (is_hash_link_name(name) || !has_rehash_suffix(name)) continue;
        auto content = root.read(path);
        if (!content) continue;
        std::string why;
        auto cert = hash_certificate(*content, why);
        if (!cert) {
            notes.push_back(fmt::format("{}/{} has no hash link: {}", EtcCertsDir, name, why));
            continue;
        }
        auto& bucket = buckets[cert->subject_hash];
        if (std::find(bucket.digests.begin(), bucket.digests.end(), cert->sha1) != bucket.digests.end()) continue;
        links.emplace_back(fmt::format("{:08x}.{}", cert->subject_hash, bucket.digests.size()), name);
        bucket.digests.push_back(cert->sha1);
    }
    for (auto& [name, target] : links) root.put_symlink(fmt::format("{}/{}", EtcCertsDir, name), std::move(target));
}

// ---------------------------------------------------------------------------
// Time zone

constexpr std::string_view ZoneInfo = "/usr/share/zoneinfo/";
constexpr std::string_view DefaultZone = "Etc/UTC";

bool is_utc_name(std::string_view zone) {
    for (std::string_view utc : {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
                                 "GMT", "Etc/GMT", "UTC0", "GMT0"})
        if (zone == utc) return true;
    return false;
}

// A POSIX TZ rule (std offset [dst [offset] [,rule]]) that glibc applies without a zone file.
bool is_posix_rule(std::string_view tz) {
    static const std::regex pattern("^(<[A-Za-z0-9+-]+>|[A-Za-z]{3,})[+-]?[0-9]{1,2}(:[0-9]{2}){0,2}"
                                    "((<[A-Za-z0-9+-]+>|[A-Za-z]{3,})([+-]?[0-9]{1,2}(:[0-9]{2}){0,2})?(,.*)?)?$");
    return std::regex_match(tz.begin(), tz.end(), pattern);
}

bool is_zone_file(const RootFs& root, std::string_view zone) {
    if (zone.empty() || zone.front() == '/' || zone.find("..") != std::string_view::npos) return false;
    auto content = root.read(fmt::format("{}{}", ZoneInfo, zone));
    return content && content->starts_with("TZif");
}

std::vector<std::string> zone_names(const RootFs& root) {
    std::vector<std::string> out;
    const std::string prefix = RootFs::normalise(ZoneInfo) + "/";
    const auto& entries = root.entries();
    for (auto it = entries.lower_bound(prefix); it != entries.end() && it->first.starts_with(prefix); ++it) {
        std::string zone = it->first.substr(prefix.size());
        if (zone.starts_with("posix/") || zone.starts_with("right/")) continue;
        if (it->second.type != EntryType::Directory && is_zone_file(root, zone)) out.push_back(std::move(zone));
    }
    return out;
}

// ---------------------------------------------------------------------------
// Package database

bool field_is(std::string_view line, std::string_view field) {
    return line.size() > field.size() && line[field.size()] == ':' && deb::iequals(line.substr(0, field.size()), field);
}

// The control text with "Status: install ok installed" after the Package line
// (an existing Status field is dropped); `name` receives the package's name.
std::string status_stanza(std::string_view control, std::string& name) {
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0; pos < control.size();) {
        auto end = control.find('\n', pos);
        if (end == std::string_view::npos) end = control.size();
        lines.push_back(control.substr(pos, end - pos));
        pos = end + 1;
    }
    while (!lines.empty() && deb::trim(lines.back()).empty()) lines.pop_back();
    std::string out;
    bool skipping = false;
    name.clear();
    for (std::string_view line : lines) {
        bool continuation = !line.empty() && (line.front() == ' ' || line.front() == '\t');
        if (skipping && continuation) continue;
        skipping = !continuation && field_is(line, "Status");
        if (skipping) continue;
        out.append(line).push_back('\n');
        if (!continuation && name.empty() && field_is(line, "Package")) {
            name = std::string(deb::trim(line.substr(8)));
            out += "Status: install ok installed\n";
        }
    }
    if (!is_valid_package_name(name))
        throw Error(ErrorCode::Parse,
                    name.empty() ? std::string("a control file has no Package field")
                                 : fmt::format("a control file names the package '{}', which is not a valid name", name),
                    "the .deb is malformed: check where it came from");
    return out;
}

// ---------------------------------------------------------------------------
// paths-exclude

struct ExcludePattern {
    std::string glob;
    bool keep = false;
};

// Rewrites the pattern's literal directory prefix through the image's symlinks,
// so /lib/x86_64-linux-gnu/*.a matches where merged /usr put those files.
std::string resolve_literal_prefix(const RootFs& root, const std::string& glob) {
    auto meta = glob.find_first_of("*?[\\");
    auto slash = glob.rfind('/', meta == std::string::npos ? std::string::npos : meta);
    if (slash == std::string::npos || slash == 0) return glob;
    auto resolved = root.resolve(RootFs::normalise(glob.substr(0, slash)));
    if (!resolved) return glob;
    return "/" + *resolved + glob.substr(slash);
}

}  // namespace

// ---------------------------------------------------------------------------

RunAs write_accounts(RootFs& root, const AccountsSpec& accounts) {
    std::vector<User> users = builtin_users();
    merge_accounts(
        users, accounts.users, [](const UserAccount& u) { return u.username; },
        [](const UserAccount& u) { return User{u.username, u.uid, u.gid, u.home, u.shell, false}; }, "users");
    std::vector<Group> groups = builtin_groups();
    merge_accounts(
        groups, accounts.groups, [](const GroupAccount& g) { return g.groupname; },
        [](const GroupAccount& g) { return Group{g.groupname, g.gid, g.members, false}; }, "groups");
    check_unique_ids(users, [](const User& u) { return u.uid; }, "user", "uid");

    // A user's own group when its primary gid has none yet (useradd's user groups).
    for (const auto& u : users) {
        bool gid_known = std::any_of(groups.begin(), groups.end(), [&](const Group& g) { return g.gid == u.gid; });
        bool name_taken = std::any_of(groups.begin(), groups.end(), [&](const Group& g) { return g.name == u.name; });
        if (!u.builtin && !gid_known && !name_taken) groups.push_back(Group{u.name, u.gid, {}, false});
    }
    check_unique_ids(groups, [](const Group& g) { return g.gid; }, "group", "gid");

    std::vector<std::string> user_names;
    for (const auto& u : users) user_names.push_back(u.name);
    for (const auto& g : groups)
        for (const auto& member : g.members)
            if (std::find(user_names.begin(), user_names.end(), member) == user_names.end())
                throw Error(ErrorCode::Config,
                            fmt::format("accounts.groups: member '{}' of group '{}' is not a user of the image{}",
                                        member, g.name, did_you_mean(member, user_names)),
                            "declare the user under accounts.users, or remove it from the group");

    RunAs run_as = resolve_run_as(accounts.run_as, users);
    for (const auto& u : users) check_home(root, u);

    // slate's files replace any a package shipped (base-passwd only ships
    // templates under /usr/share/base-passwd, which its postinst would copy).
    root.put_file("/etc/passwd", passwd_text(users));
    root.put_file("/etc/group", group_text(groups));
    root.put_file("/etc/nsswitch.conf", std::string(NsswitchConf));
    for (const auto& u : users) create_home(root, u);
    return run_as;
}

BaseLayout write_base_layout(RootFs& root) {
    root.put_directory("/tmp", 01777, 0, 0);
    root.put_directory("/root", 0700, 0, 0);
    BaseLayout layout;
    layout.os_release = root.read("/etc/os-release").has_value();
    if (!layout.os_release && has_package(root, "base-files")) {
        const FsEntry* e = root.find("etc/os-release");
        throw Error(ErrorCode::Integrity,
                    fmt::format("base-files is installed but /etc/os-release {}",
                                e ? fmt::format("is {} that does not lead to a file", kind_of(*e))
                                  : std::string("is missing")),
                    "check the base-files package and the spec's paths entries");
    }
    return layout;
}

CaCertificates write_ca_certificates(RootFs& root) {
    CaCertificates result;
    if (!has_package(root, "ca-certificates")) return result;

    // The postinst lists every certificate the package ships, all enabled, sorted.
    std::vector<CertFile> shipped = find_certificates(root, CertsDir);
    std::string conf(CaConfHeader);
    for (const auto& cert : shipped) conf += cert.relative + "\n";
    root.put_file("/etc/ca-certificates.conf", std::move(conf));

    if (!is_directory(root, EtcCertsDir)) root.put_directory(EtcCertsDir, 0755, 0, 0);
    std::string bundle;
    auto add = [&](std::string_view dir, const CertFile& cert) {
        std::string target = fmt::format("{}/{}", dir, cert.relative);
        root.put_symlink(fmt::format("{}/{}", EtcCertsDir, pem_link_name(target)), target);
        bundle.append(cert.content);
        if (!cert.content.empty() && cert.content.back() != '\n') bundle.push_back('\n');  // sed '$a\'
        ++result.certificates;
    };
    for (const auto& cert : shipped) add(CertsDir, cert);
    for (const auto& cert : find_certificates(root, LocalCertsDir)) add(LocalCertsDir, cert);

    rehash(root, result.notes);  // before the bundle exists, as on a fresh install
    root.put_file(CaBundlePath, std::move(bundle), 0644);
    result.generated = true;
    return result;
}

TimeZone write_time_zone(RootFs& root, const std::map<std::string, std::string>& environment) {
    std::string tz;
    if (auto it = environment.find("TZ"); it != environment.end()) tz = it->second;
    bool given = !tz.empty();
    if (tz.starts_with(':')) tz.erase(0, 1);
    if (tz.starts_with(ZoneInfo)) tz.erase(0, ZoneInfo.size());
    if (tz.empty()) tz = DefaultZone;

    // tzdata's zone files are what makes a zone name mean something.
    if (!has_package(root, "tzdata")) {
        if (given && !is_utc_name(tz) && !is_posix_rule(tz))
            throw Error(ErrorCode::Config,
                        fmt::format("environment TZ: the time zone '{}' needs tzdata, which is not in the image", tz),
                        "add tzdata to contents.packages, or use UTC");
        return {};
    }
    if (!is_zone_file(root, tz)) {
        if (!is_posix_rule(tz))
            throw Error(ErrorCode::Config,
                        fmt::format("environment TZ: unknown time zone '{}': the image has no zone file {}{}{}", tz,
                                    ZoneInfo, tz, did_you_mean(tz, zone_names(root))),
                        "zone names are tzdata's Area/Location names such as Europe/Paris or Etc/UTC: list them with "
                        "`ls /usr/share/zoneinfo` or `timedatectl list-timezones`, or read zone1970.tab in tzdata; a "
                        "POSIX rule such as UTC0 works too");
        tz = DefaultZone;  // glibc applies the rule from TZ itself; the files keep Debian's default
    }
    root.put_symlink("/etc/localtime", fmt::format("{}{}", ZoneInfo, tz));
    root.put_file("/etc/timezone", tz + "\n");
    return {true, tz};
}

InstalledPackage installed_package(const deb::DebFile& deb) {
    auto md5sums = deb.control_files.find("md5sums");
    return {deb.control, md5sums == deb.control_files.end() ? std::string() : md5sums->second};
}

void write_package_database(RootFs& root, const std::vector<InstalledPackage>& packages) {
    std::set<std::string> seen;
    for (const auto& package : packages) {
        std::string name;
        std::string stanza = status_stanza(package.control, name);
        if (!seen.insert(name).second)
            throw Error(ErrorCode::Internal, fmt::format("package {} is in the package database twice", name));
        root.put_file("/var/lib/dpkg/status.d/" + name, std::move(stanza));
        if (!package.md5sums.empty()) root.put_file("/var/lib/dpkg/status.d/" + name + ".md5sums", package.md5sums);
    }
}

namespace {

void apply_path(RootFs& root, const PathSpec& spec, std::size_t i) {
    {
        const std::string where = fmt::format("paths[{}] ({} {})", i, to_string(spec.type), spec.path);
        const FsEntry* existing = entry_at(root, spec.path);
        auto refuse = [&](std::string_view what, std::string_view hint) {
            throw Error(ErrorCode::Config,
                        fmt::format("{}: {} is {}{}; {}", where, spec.path, kind_of(*existing), shipped_by(*existing), what),
                        std::string(hint));
        };
        std::uint32_t uid = spec.uid.value_or(0);
        std::uint32_t gid = spec.gid.value_or(0);
        switch (spec.type) {
        case PathType::Directory: {
            // Like mkdir -p: an existing directory, or a symlink to one, is reused.
            std::string target = location_of(root, spec.path);
            if (existing && existing->type != EntryType::Directory) {
                if (!is_directory(root, spec.path))
                    refuse("a directory cannot replace it", "choose another path, or make it a file entry");
                target = *root.resolve(target);
            }
            root.put_directory("/" + target, spec.mode, uid, gid);
            if (spec.recursive) root.set_attributes("/" + target, spec.mode, uid, gid, true);
            break;
        }
        case PathType::File:
            if (existing && existing->type == EntryType::Directory)
                refuse("a file cannot replace a directory", "choose another path");
            root.put_file(spec.path, spec.content, spec.mode, uid, gid);
            break;
        case PathType::Symlink:
            if (existing && existing->type == EntryType::Directory)
                refuse("a symlink must not replace a directory",
                       "choose another path, or make links to the files inside the directory");
            root.put_symlink(spec.path, spec.source);
            break;
        case PathType::Permissions: {
            auto resolved = root.resolve(RootFs::normalise(spec.path));
            if (!resolved || !root.find(*resolved))
                throw Error(ErrorCode::Config,
                            fmt::format("{}: cannot change permissions of {}: it does not exist in the image", where,
                                        spec.path),
                            "check the path, or create it with a directory or file entry before this one");
            root.set_attributes(spec.path, spec.mode, spec.uid, spec.gid, spec.recursive);
            break;
        }
        }
    }
}

}  // namespace

void apply_paths(RootFs& root, const std::vector<PathSpec>& paths) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
        try {
            apply_path(root, paths[i], i);
        } catch (Error& e) {
            e.add_context(fmt::format("while applying paths[{}] ({})", i, paths[i].path));
            throw;
        }
    }
}

std::size_t apply_paths_exclude(RootFs& root, const std::vector<std::string>& patterns) {
    if (patterns.empty()) return 0;
    std::vector<ExcludePattern> rules;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        bool keep = patterns[i].starts_with('!');
        std::string glob = keep ? patterns[i].substr(1) : patterns[i];
        if (!glob.starts_with('/'))
            throw Error(ErrorCode::Config,
                        fmt::format("paths-exclude[{}]: '{}' must start with '/' (after any '!')", i, patterns[i]),
                        "patterns are matched against absolute paths in the image");
        rules.push_back({resolve_literal_prefix(root, glob), keep});
    }
    // Always kept: licence texts and the C.UTF-8 locale (both spellings).
    for (const char* keep : {"/usr/share/doc/*/copyright", "/usr/lib/locale/C.utf8", "/usr/lib/locale/C.UTF-8"})
        rules.push_back({keep, true});

    // The deciding rule of each path: the last one matching the path itself or
    // a parent directory. Parents sort before their children in the map.
    const auto& entries = root.entries();
    std::unordered_map<std::string, int> decided;  // path -> rule index, -1 for none
    std::set<std::string> doomed;
    for (const auto& [path, entry] : entries) {
        if (path.empty()) continue;
        auto parent = decided.find(parent_of(path));
        int rule = parent == decided.end() ? -1 : parent->second;
        const std::string absolute = "/" + path;
        for (int r = static_cast<int>(rules.size()) - 1; r > rule; --r)
            if (::fnmatch(rules[r].glob.c_str(), absolute.c_str(), FNM_PATHNAME) == 0) {
                rule = r;
                break;
            }
        decided[path] = rule;
        if (rule >= 0 && !rules[rule].keep) doomed.insert(path);
    }
    // What stays keeps its parent directories, and the target of a kept hard link.
    std::vector<std::string> rescue;
    for (const auto& [path, entry] : entries) {
        if (path.empty() || doomed.count(path)) continue;
        if (entry.type == EntryType::Hardlink && doomed.count(entry.link_target)) rescue.push_back(entry.link_target);
        rescue.push_back(path);
    }
    for (const auto& path : rescue) {
        doomed.erase(path);
        for (auto p = parent_of(path); !p.empty() && doomed.erase(p); p = parent_of(p)) {
        }
    }
    // Remove top-most doomed paths; RootFs::remove takes everything below, all doomed too.
    std::size_t removed = doomed.size();
    std::string last;
    for (const auto& path : doomed) {
        if (!last.empty() && path.starts_with(last + "/")) continue;
        root.remove(path);
        last = path;
    }
    return removed;
}

SystemFiles write_system_files(RootFs& root, const ImageSpec& spec, const std::vector<InstalledPackage>& packages) {
    SystemFiles out;
    write_package_database(root, packages);
    out.base_layout = write_base_layout(root);
    out.run_as = write_accounts(root, spec.accounts);
    out.time_zone = write_time_zone(root, spec.environment);
    apply_paths(root, spec.paths);
    out.ca_certificates = write_ca_certificates(root);
    out.excluded = apply_paths_exclude(root, spec.paths_exclude);
    return out;
}

}  // namespace slate::build
