// TarWriter against two independent readers (libarchive and GNU tar), and
// byte for byte against GNU tar's own ustar output for the same tree.
#include <gtest/gtest.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "slate/error.hpp"
#include "slate/oci/tar.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::oci {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t Epoch = 1700000000;  // 2023-11-14

std::shared_ptr<const std::string> bytes(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
}

TarEntry dir(std::string path, std::uint32_t mode = 0755, std::int64_t mtime = Epoch) {
    return {std::move(path), TarType::Directory, mode, 0, 0, mtime, {}, nullptr};
}
TarEntry file(std::string path, std::string content, std::uint32_t mode = 0644, std::int64_t mtime = Epoch) {
    return {std::move(path), TarType::File, mode, 0, 0, mtime, {}, bytes(std::move(content))};
}
TarEntry symlink(std::string path, std::string target) {
    return {std::move(path), TarType::Symlink, 0777, 0, 0, Epoch, std::move(target), nullptr};
}
TarEntry hardlink(std::string path, std::string target, std::uint32_t mode = 0644) {
    return {std::move(path), TarType::Hardlink, mode, 0, 0, Epoch, std::move(target), nullptr};
}

std::string write_tar(const std::vector<TarEntry>& entries, std::int64_t epoch = Epoch) {
    std::string out;
    TarWriter writer([&](std::string_view b) { out.append(b); }, epoch);
    for (const auto& e : entries) writer.add(e);
    writer.finish();
    EXPECT_EQ(writer.bytes_written(), out.size());
    return out;
}

// What libarchive sees in one entry.
struct ReadEntry {
    std::string path;
    mode_t filetype = 0;
    std::uint32_t perm = 0;
    std::int64_t uid = -1, gid = -1;
    std::int64_t mtime = 0;
    bool atime_set = false, ctime_set = false;
    std::string uname, gname;
    std::string symlink, hardlink;
    std::string content;
};

struct ArchiveReadDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};

std::vector<ReadEntry> read_with_libarchive(const std::string& tar) {
    std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
    archive_read_support_format_all(a.get());
    archive_read_support_filter_all(a.get());
    EXPECT_EQ(archive_read_open_memory(a.get(), tar.data(), tar.size()), ARCHIVE_OK);
    std::vector<ReadEntry> result;
    archive_entry* entry = nullptr;
    int rc;
    while ((rc = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK) {
        ReadEntry r;
        r.path = archive_entry_pathname(entry);
        r.filetype = archive_entry_filetype(entry);
        r.perm = archive_entry_perm(entry);
        r.uid = archive_entry_uid(entry);
        r.gid = archive_entry_gid(entry);
        r.mtime = archive_entry_mtime(entry);
        r.atime_set = archive_entry_atime_is_set(entry);
        r.ctime_set = archive_entry_ctime_is_set(entry);
        if (const char* s = archive_entry_uname(entry)) r.uname = s;
        if (const char* s = archive_entry_gname(entry)) r.gname = s;
        if (const char* s = archive_entry_symlink(entry)) r.symlink = s;
        if (const char* s = archive_entry_hardlink(entry)) r.hardlink = s;
        char buffer[8192];
        la_ssize_t n;
        while ((n = archive_read_data(a.get(), buffer, sizeof buffer)) > 0) r.content.append(buffer, n);
        EXPECT_GE(n, 0) << archive_error_string(a.get());
        result.push_back(std::move(r));
    }
    EXPECT_EQ(rc, ARCHIVE_EOF) << archive_error_string(a.get());
    EXPECT_EQ(archive_format(a.get()) & ARCHIVE_FORMAT_BASE_MASK, ARCHIVE_FORMAT_TAR);
    return result;
}

// The headers of the stream, walked by hand: (typeflag, 512-byte block).
std::vector<std::pair<char, std::string>> raw_headers(const std::string& tar) {
    std::vector<std::pair<char, std::string>> headers;
    std::size_t pos = 0;
    while (pos + 512 <= tar.size()) {
        std::string block = tar.substr(pos, 512);
        if (block == std::string(512, '\0')) break;
        std::uint64_t size = std::strtoull(block.substr(124, 12).c_str(), nullptr, 8);
        headers.emplace_back(block[156], block);
        pos += 512 + (size + 511) / 512 * 512;
    }
    return headers;
}

util::ProcessResult run(const std::vector<std::string>& argv, const util::ProcessOptions& options = {}) {
    auto result = util::run_process(argv, options);
    EXPECT_EQ(result.exit_code, 0) << argv[0] << " failed: " << result.err;
    return result;
}

// A tree with every kind of entry a Debian image has.
std::vector<TarEntry> sample_entries() {
    return {
        dir("etc"),
        file("etc/empty", ""),
        file("etc/hostname", "slate\n", 0644, Epoch - 86400),  // older than the epoch: kept
        file("etc/shadow", "root:*:19000:0:99999:7:::\n", 0640, Epoch + 5000),  // newer: clamped
        dir("tmp", 01777),
        dir("usr"),
        dir("usr/bin"),
        file("usr/bin/passwd", std::string(1000, 'x'), 04755),
        file("usr/bin/wall", std::string(513, 'w'), 02755),
        hardlink("usr/bin/passwd-again", "usr/bin/passwd", 04755),
        symlink("usr/bin/sh", "dash"),
        symlink("usr/lib-link", "/usr/lib"),
    };
}

TEST(TarWriter, LibarchiveReadsEveryEntryKind) {
    auto entries = sample_entries();
    entries[2].uid = 65532;
    entries[2].gid = 65532;
    auto read = read_with_libarchive(write_tar(entries));
    ASSERT_EQ(read.size(), entries.size());
    std::map<std::string, ReadEntry> by_path;
    for (auto& r : read) {
        EXPECT_TRUE(r.uname.empty()) << r.path;
        EXPECT_TRUE(r.gname.empty()) << r.path;
        EXPECT_FALSE(r.atime_set) << r.path;
        EXPECT_FALSE(r.ctime_set) << r.path;
        by_path[r.path] = r;
    }
    EXPECT_EQ(read[0].path, "etc/");  // directories end with "/"
    EXPECT_EQ(by_path["etc/"].filetype, AE_IFDIR);
    EXPECT_EQ(by_path["tmp/"].perm, 01777u);
    EXPECT_EQ(by_path["etc/empty"].content, "");
    EXPECT_EQ(by_path["etc/empty"].filetype, AE_IFREG);
    EXPECT_EQ(by_path["etc/hostname"].content, "slate\n");
    EXPECT_EQ(by_path["etc/hostname"].mtime, Epoch - 86400);
    EXPECT_EQ(by_path["etc/hostname"].uid, 65532);
    EXPECT_EQ(by_path["etc/hostname"].gid, 65532);
    EXPECT_EQ(by_path["etc/shadow"].mtime, Epoch);
    EXPECT_EQ(by_path["etc/shadow"].perm, 0640u);
    EXPECT_EQ(by_path["usr/bin/passwd"].perm, 04755u);
    EXPECT_EQ(by_path["usr/bin/passwd"].content, std::string(1000, 'x'));
    EXPECT_EQ(by_path["usr/bin/wall"].perm, 02755u);
    EXPECT_EQ(by_path["usr/bin/passwd-again"].hardlink, "usr/bin/passwd");
    EXPECT_EQ(by_path["usr/bin/sh"].filetype, AE_IFLNK);
    EXPECT_EQ(by_path["usr/bin/sh"].symlink, "dash");
    EXPECT_EQ(by_path["usr/lib-link"].symlink, "/usr/lib");
}

TEST(TarWriter, BlocksHeadersAndEndOfArchive) {
    std::string tar = write_tar(sample_entries());
    ASSERT_EQ(tar.size() % 512, 0u);
    ASSERT_GE(tar.size(), 1024u);
    EXPECT_EQ(tar.substr(tar.size() - 1024), std::string(1024, '\0'));
    auto headers = raw_headers(tar);
    ASSERT_EQ(headers.size(), sample_entries().size());
    for (const auto& [type, block] : headers) {
        EXPECT_NE(type, 'x') << "no pax header is needed for short names";
        EXPECT_EQ(block.substr(257, 8), std::string("ustar\0" "00", 8));
        EXPECT_EQ(block.substr(265, 64), std::string(64, '\0')) << "uname and gname are empty";
        EXPECT_EQ(block.substr(329, 16), std::string("0000000\0" "0000000\0", 16)) << "no device numbers";
    }
    EXPECT_EQ(headers[0].first, '5');
    EXPECT_EQ(headers[9].first, '1');
    EXPECT_EQ(headers[10].first, '2');
    // The whole archive: headers, 1000 bytes padded to 1024, 513 to 1024, the end.
    EXPECT_EQ(tar.size(), 12 * 512 + 512 /*hostname*/ + 512 /*shadow*/ + 1024 + 1024 + 1024);
}

TEST(TarWriter, SplitsLongPathsIntoUstarPrefix) {
    // 160 bytes, cut at the last '/' that leaves a prefix of at most 155.
    std::string parent = std::string(70, 'a') + "/" + std::string(70, 'b');
    std::string path = parent + "/" + std::string(18, 'c');
    std::string tar = write_tar({dir(std::string(70, 'a')), dir(parent), file(path, "deep")});
    auto headers = raw_headers(tar);
    ASSERT_EQ(headers.size(), 3u);
    for (const auto& [type, block] : headers) EXPECT_NE(type, 'x');
    EXPECT_EQ(headers[2].second.substr(345, parent.size()), parent);
    auto read = read_with_libarchive(tar);
    EXPECT_EQ(read[1].path, parent + "/");
    EXPECT_EQ(read[2].path, path);
    EXPECT_EQ(read[2].content, "deep");
}

TEST(TarWriter, UstarFieldBoundaries) {
    // Exactly 100 bytes: the name field is full, with no NUL; no pax.
    const std::string name100(100, 'n');
    // A directory of 100 bytes is 101 with its "/": it must be split.
    const std::string dir100 = std::string(49, 'd') + "/" + std::string(50, 'e');
    // Prefix of exactly 155 and name of exactly 100: the largest ustar path.
    const std::string prefix155 = std::string(77, 'p') + "/" + std::string(77, 'q');
    const std::string path255 = prefix155 + "/" + std::string(100, 'r');
    // A prefix of 156 cannot be cut anywhere else: pax.
    const std::string path257 = std::string(156, 's') + "/" + std::string(100, 't');
    std::string tar = write_tar({file(name100, "1"), dir(dir100), file(path255, "2"), file(path257, "3")});
    auto headers = raw_headers(tar);
    ASSERT_EQ(headers.size(), 5u);
    EXPECT_EQ(headers[0].second.substr(0, 100), name100);
    EXPECT_EQ(headers[1].second.substr(345, 49), std::string(49, 'd'));
    EXPECT_EQ(headers[1].second.substr(0, 52), std::string(50, 'e') + "/" + std::string(1, '\0'));
    EXPECT_EQ(headers[2].second.substr(345, 155), prefix155);
    EXPECT_EQ(headers[3].first, 'x');
    auto read = read_with_libarchive(tar);
    ASSERT_EQ(read.size(), 4u);
    EXPECT_EQ(read[0].path, name100);
    EXPECT_EQ(read[1].path, dir100 + "/");
    EXPECT_EQ(read[2].path, path255);
    EXPECT_EQ(read[3].path, path257);
    EXPECT_EQ(read[3].content, "3");
}

TEST(TarWriter, PaxOnlyWhereUstarCannot) {
    const std::string long_name = std::string(120, 'n');  // one segment over 100: no split works
    const std::string very_long = "usr/share/" + std::string(90, 'd') + "/" + std::string(90, 'e') + "/" +
                                  std::string(90, 'f') + "/file.txt";  // 290 bytes
    const std::string long_target = "../" + std::string(150, 't');
    auto entries = std::vector<TarEntry>{
        file(long_name, "a"),
        file(very_long, "b"),
        symlink("link", long_target),
        hardlink("hard", very_long),
        file("big-ids", "c"),
        file("old", "d", 0644, -86400),  // before 1970
    };
    entries[4].uid = 3000000;  // over 07777777
    entries[4].gid = 4000000;
    std::string tar = write_tar(entries);

    auto headers = raw_headers(tar);
    ASSERT_EQ(headers.size(), 12u);  // each entry needs one 'x' header
    std::string pax_text;
    for (std::size_t i = 0; i < headers.size(); i += 2) {
        EXPECT_EQ(headers[i].first, 'x');
        EXPECT_EQ(headers[i].second.find("PaxHeaders."), std::string::npos) << "no pid in the name";
    }
    for (std::string key : {"atime", "ctime"}) EXPECT_EQ(tar.find(" " + key + "="), std::string::npos);
    EXPECT_NE(tar.find("gid=4000000\n"), std::string::npos);
    EXPECT_NE(tar.find("uid=3000000\n"), std::string::npos);
    EXPECT_NE(tar.find("mtime=-86400\n"), std::string::npos);
    EXPECT_NE(tar.find("linkpath=" + long_target + "\n"), std::string::npos);

    auto read = read_with_libarchive(tar);
    ASSERT_EQ(read.size(), 6u);
    EXPECT_EQ(read[0].path, long_name);
    EXPECT_EQ(read[1].path, very_long);
    EXPECT_EQ(read[1].content, "b");
    EXPECT_EQ(read[2].symlink, long_target);
    EXPECT_EQ(read[3].hardlink, very_long);
    EXPECT_EQ(read[4].uid, 3000000);
    EXPECT_EQ(read[4].gid, 4000000);
    EXPECT_EQ(read[5].mtime, -86400);
    for (const auto& r : read) EXPECT_FALSE(r.atime_set || r.ctime_set) << r.path;
}

TEST(TarWriter, PaxRecordLengthsCountThemselves) {
    // A "LEN path=P\n" record is LEN = |P| + 7 + digits(LEN) bytes long: |P| =
    // 989 gives "999 path=...", |P| = 990 needs four digits ("1001 path=...").
    for (std::size_t n = 985; n <= 995; ++n) {
        std::string path(n, 'p');
        std::string tar = write_tar({file(path, "x")});
        std::string record_length = std::to_string(n + 7 + (n + 10 <= 999 ? 3 : 4));
        EXPECT_EQ(tar.compare(512, record_length.size() + 6, record_length + " path="), 0) << n;
        auto read = read_with_libarchive(tar);
        ASSERT_EQ(read.size(), 1u);
        EXPECT_EQ(read[0].path, path);
    }
}

TEST(TarWriter, GnuTarListsAndExtractsIt) {
    test::TempDir tmp;
    const std::string long_dir = "usr/share/" + std::string(110, 'l');
    const std::string long_target = "/opt/" + std::string(120, 'T');
    auto entries = sample_entries();
    entries.push_back(dir("usr/share"));
    entries.push_back(dir(long_dir, 0750));
    entries.push_back(file(long_dir + "/data", "long-dir file\n", 0600));
    entries.push_back(hardlink(long_dir + "/data-link", long_dir + "/data", 0600));
    entries.push_back(symlink("usr/long-link", long_target));
    entries.back().uid = 3000000;
    util::write_file_atomic(tmp.path() / "layer.tar", write_tar(entries));

    auto listing = run({"tar", "--numeric-owner", "-tvf", (tmp.path() / "layer.tar").string()}).out;
    EXPECT_NE(listing.find("-rwsr-xr-x 0/0"), std::string::npos) << listing;
    EXPECT_NE(listing.find("drwxrwxrwt 0/0"), std::string::npos) << listing;
    EXPECT_NE(listing.find(long_dir + "/data-link link to " + long_dir + "/data"), std::string::npos) << listing;
    EXPECT_NE(listing.find("usr/long-link -> " + long_target), std::string::npos) << listing;
    EXPECT_NE(listing.find("3000000/0"), std::string::npos) << listing;

    fs::path root = tmp.path() / "root";
    fs::create_directory(root);
    util::ProcessOptions utc;
    utc.env = {{"TZ", "UTC"}};
    // -p: keep modes as archived (root does by default; other users apply their umask).
    run({"tar", "--numeric-owner", "-p", "-xf", (tmp.path() / "layer.tar").string(), "-C", root.string()}, utc);

    auto st = [&](const std::string& path) {
        struct stat s {};
        EXPECT_EQ(::lstat((root / path).c_str(), &s), 0) << path;
        return s;
    };
    const bool root_user = ::geteuid() == 0;  // only root keeps owners and setuid bits
    EXPECT_EQ(util::read_file(root / "etc/hostname"), "slate\n");
    EXPECT_EQ(util::read_file(root / "etc/empty"), "");
    EXPECT_EQ(st("etc/hostname").st_mtime, Epoch - 86400);
    EXPECT_EQ(st("etc/shadow").st_mtime, Epoch);
    EXPECT_EQ(st("etc/shadow").st_mode & 07777, 0640u);
    EXPECT_EQ(st("tmp").st_mode & 07777, 01777u);
    if (root_user) {
        EXPECT_EQ(st("usr/bin/passwd").st_mode & 07777, 04755u);
        EXPECT_EQ(st("usr/bin/wall").st_mode & 07777, 02755u);
        EXPECT_EQ(st("usr/long-link").st_uid, 3000000u);
    }
    EXPECT_EQ(st("usr/bin/passwd").st_ino, st("usr/bin/passwd-again").st_ino);
    EXPECT_EQ(fs::read_symlink(root / "usr/bin/sh"), "dash");
    EXPECT_EQ(fs::read_symlink(root / "usr/long-link"), long_target);
    EXPECT_EQ(fs::read_symlink(root / "usr/lib-link"), "/usr/lib");
    EXPECT_EQ(st(long_dir).st_mode & 07777, 0750u);
    EXPECT_EQ(util::read_file(root / long_dir / "data"), "long-dir file\n");
    EXPECT_EQ(st(long_dir + "/data").st_ino, st(long_dir + "/data-link").st_ino);
}

// Makes the tree of `entries` on disk, for GNU tar to archive.
void materialise(const fs::path& root, const std::vector<TarEntry>& entries) {
    for (const auto& e : entries) {
        fs::path p = root / e.path;
        switch (e.type) {
            case TarType::Directory: fs::create_directory(p); break;
            case TarType::File: util::write_file_atomic(p, *e.content); break;
            case TarType::Symlink: fs::create_symlink(e.link_target, p); break;
            case TarType::Hardlink: fs::create_hard_link(root / e.link_target, p); break;
        }
        // chown clears setuid/setgid bits: owners first, then modes.
        ASSERT_EQ(::lchown(p.c_str(), e.uid, e.gid), 0) << p;
        if (e.type != TarType::Symlink) {
            ASSERT_EQ(::chmod(p.c_str(), e.mode), 0) << p;
        }
    }
    // Times last, children before parents (creating a child touches its directory).
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        timespec times[2] = {{it->mtime, 0}, {it->mtime, 0}};
        ASSERT_EQ(::utimensat(AT_FDCWD, (root / it->path).c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
    }
}

TEST(TarWriter, ByteIdenticalToGnuTarUstar) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to give the files owners and setuid bits";
    }
    // In GNU tar's --sort=name order (depth first, names sorted per directory).
    auto entries = std::vector<TarEntry>{
        dir("etc"),
        file("etc/empty", ""),
        file("etc/hostname", "slate\n", 0644, Epoch - 86400),
        file("etc/shadow", "root:*:19000:0:99999:7:::\n", 0640, Epoch + 5000),
        dir("home", 0750, Epoch - 10),
        dir("home/nonroot", 0700, Epoch - 20),
        file("home/nonroot/.profile", "umask 022\n", 0644, Epoch - 30),
        dir("tmp", 01777),
        dir("usr"),
        dir("usr/bin"),
        file("usr/bin/passwd", std::string(1000, 'x'), 04755),
        hardlink("usr/bin/passwd-again", "usr/bin/passwd", 04755),
        symlink("usr/bin/sh", "dash"),
        file("usr/bin/wall", std::string(513, 'w'), 02755),
        dir("usr/" + std::string(70, 'p')),
        file("usr/" + std::string(70, 'p') + "/" + std::string(60, 'q'), "split into prefix and name"),
    };
    for (auto& e : entries)
        if (e.path.starts_with("home/nonroot")) e.uid = e.gid = 65532;
    test::TempDir tmp;
    fs::path root = tmp.path() / "root";
    fs::create_directory(root);
    materialise(root, entries);
    util::ProcessOptions options;
    options.cwd = root;
    options.env = {{"TZ", "UTC"}, {"LC_ALL", "C"}};
    run({"tar", "--format=ustar", "--numeric-owner", "--sort=name", "--mtime=@" + std::to_string(Epoch),
         "--clamp-mtime", "-cf", (tmp.path() / "gnu.tar").string(), "etc", "home", "tmp", "usr"},
        options);
    std::string gnu = util::read_file(tmp.path() / "gnu.tar");
    std::string ours = write_tar(entries);
    // GNU tar pads the end to its 10 KiB record; the entries must match exactly.
    auto strip_end = [](std::string s) {
        while (s.size() >= 512 && s.compare(s.size() - 512, 512, std::string(512, '\0')) == 0) s.resize(s.size() - 512);
        return s;
    };
    auto ours_headers = raw_headers(ours), gnu_headers = raw_headers(gnu);
    ASSERT_EQ(ours_headers.size(), gnu_headers.size());
    for (std::size_t i = 0; i < ours_headers.size(); ++i) {
        const std::string& a = ours_headers[i].second;
        const std::string& b = gnu_headers[i].second;
        std::size_t at = std::mismatch(a.begin(), a.end(), b.begin()).first - a.begin();
        EXPECT_EQ(at, 512u) << "header " << i << " (" << a.substr(0, 100).c_str() << ") differs at byte " << at;
    }
    EXPECT_TRUE(strip_end(ours) == strip_end(gnu)) << "contents or padding differ";
}

TEST(TarWriter, SameInputSameBytesWhateverTheEnvironment) {
    std::string first = write_tar(sample_entries());
    mode_t old_umask = ::umask(0077);
    const char* old_tz = std::getenv("TZ");
    std::string saved_tz = old_tz ? old_tz : "";
    ::setenv("TZ", "Pacific/Kiritimati", 1);
    ::tzset();
    std::string second = write_tar(sample_entries());
    ::umask(old_umask);
    if (old_tz) ::setenv("TZ", saved_tz.c_str(), 1); else ::unsetenv("TZ");
    ::tzset();
    EXPECT_EQ(first, second);
    // A different epoch changes only what it clamps.
    EXPECT_NE(write_tar(sample_entries(), Epoch - 1), first);
    // Pinned: a change to this digest changes every layer digest slate has
    // ever produced, so it must be deliberate.
    EXPECT_EQ(util::sha256_hex(first), "b66182013f9edea2276f890cada11bfd98eddf90da6b07191ac6be419917f2a6");
}

TEST(TarWriter, RefusesMalformedEntries) {
    auto expect_refused = [](TarEntry entry) {
        std::string out;
        TarWriter writer([&](std::string_view b) { out.append(b); }, Epoch);
        try {
            writer.add(entry);
            ADD_FAILURE() << "accepted '" << entry.path << "'";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::Internal);
            EXPECT_NE(e.message().find("cannot write tar entry"), std::string::npos) << e.message();
        }
        EXPECT_TRUE(out.empty()) << "nothing written for a refused entry";
    };
    expect_refused(file("", "x"));
    expect_refused(file("/etc/passwd", "x"));
    expect_refused(file("etc/../../passwd", "x"));
    expect_refused(file("./etc", "x"));
    expect_refused(file("etc//passwd", "x"));
    expect_refused(dir("etc/"));
    expect_refused(file(std::string("a\0b", 3), "x"));
    expect_refused(hardlink("a", "/etc/shadow"));
    expect_refused(hardlink("a", "../x"));
    expect_refused(symlink("a", ""));

    EXPECT_THROW(TarWriter([](std::string_view) {}, -1), Error);
    TarWriter writer([](std::string_view) {}, Epoch);
    writer.finish();
    EXPECT_THROW(writer.finish(), Error);
    EXPECT_THROW(writer.add(file("late", "x")), Error);
}

}  // namespace
}  // namespace slate::oci
