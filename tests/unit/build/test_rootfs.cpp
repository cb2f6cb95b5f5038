#include <gtest/gtest.h>

#include "slate/build/rootfs.hpp"
#include "slate/error.hpp"
#include "support/expect.hpp"

namespace slate::build {
namespace {

using deb::EntryType;

deb::DebEntry file(std::string path, std::string content, std::uint32_t mode = 0644) {
    return test::file_entry(std::move(path), std::move(content), mode);
}
deb::DebEntry dir(std::string path, std::uint32_t mode = 0755) { return test::dir_entry(std::move(path), mode); }
deb::DebEntry link(std::string path, std::string target) { return test::link_entry(std::move(path), std::move(target)); }
deb::DebFile deb_of(std::vector<deb::DebEntry> entries) {
    deb::DebFile d;
    d.entries = std::move(entries);
    return d;
}

TEST(RootFs, MergedUsrPlacesTopLevelDirectoriesUnderUsr) {
    RootFs fs;
    fs.add_package({"coreutils", "9.1-1", ""}, deb_of({dir("bin"), file("bin/ls", "ELF", 0755),
                                                        dir("lib64"), link("lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld.so"),
                                                        file("usr/bin/env", "ELF", 0755)}));
    EXPECT_EQ(fs.find("bin")->type, EntryType::Symlink);
    EXPECT_EQ(fs.find("bin")->link_target, "usr/bin");
    ASSERT_NE(fs.find("usr/bin/ls"), nullptr);
    EXPECT_EQ(fs.find("usr/bin/ls")->package, "coreutils");
    EXPECT_EQ(fs.find("usr/bin/ls")->mode, 0755u);
    EXPECT_EQ(fs.find("bin/ls"), nullptr);  // nothing is stored under the symlink
    EXPECT_EQ(fs.find("lib64")->link_target, "usr/lib64");  // made on first use
    EXPECT_NE(fs.find("usr/lib64/ld-linux-x86-64.so.2"), nullptr);
    EXPECT_EQ(fs.read("/bin/ls"), "ELF");
    EXPECT_EQ(fs.resolve("/lib64/ld-linux-x86-64.so.2"), "usr/lib/x86_64-linux-gnu/ld.so");
}

TEST(RootFs, ParentsAreResolvedThroughTheImagesOwnSymlinks) {
    RootFs fs;
    fs.add_package({"jre", "1", ""}, deb_of({dir("etc/java"), dir("usr/lib/jvm/java"), link("usr/lib/jvm/java/conf", "/etc/java")}));
    fs.add_package({"jre-conf", "1", ""}, deb_of({file("usr/lib/jvm/java/conf/security.properties", "x")}));
    EXPECT_NE(fs.find("etc/java/security.properties"), nullptr);
    EXPECT_EQ(fs.find("usr/lib/jvm/java/conf")->type, EntryType::Symlink);
}

TEST(RootFs, SymlinksNeverLeaveTheRoot) {
    RootFs fs;
    fs.add_package({"evil", "1", ""}, deb_of({link("usr/share/up", "../../../../../.."), link("usr/share/abs", "/")}));
    EXPECT_EQ(fs.resolve("usr/share/up/etc/passwd"), "etc/passwd");
    EXPECT_EQ(fs.resolve("usr/share/abs/etc/passwd"), "etc/passwd");
    fs.add_package({"loop", "1", ""}, deb_of({link("a", "b"), link("b", "a")}));
    EXPECT_EQ(fs.resolve("a/x"), std::nullopt);
    EXPECT_THROW(fs.add_package({"loop2", "1", ""}, deb_of({file("a/x", "y")})), Error);
    EXPECT_THROW(RootFs::normalise("../etc"), Error);
}

TEST(RootFs, ConflictingFilesAreRefusedUnlessReplacesOrIdentical) {
    RootFs fs;
    fs.add_package({"a", "1.0", ""}, deb_of({file("usr/bin/tool", "A")}));
    try {
        fs.add_package({"b", "2.0", ""}, deb_of({file("usr/bin/tool", "B")}));
        FAIL() << "expected a conflict";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Integrity);
        EXPECT_NE(e.message().find("file conflict: b 2.0 ships /usr/bin/tool as a file, but a already put a file there"),
                  std::string::npos)
            << e.message();
    }
    fs.add_package({"same", "1", ""}, deb_of({file("usr/bin/tool", "A")}));  // identical: fine, first owner stays
    EXPECT_EQ(fs.find("usr/bin/tool")->package, "a");
    fs.add_package({"newer", "1", "a (<< 2.0)"}, deb_of({file("usr/bin/tool", "N")}));
    EXPECT_EQ(fs.find("usr/bin/tool")->package, "newer");
    EXPECT_EQ(fs.read("usr/bin/tool"), "N");
    // A Replaces whose version range does not cover the owner does not count.
    EXPECT_THROW(fs.add_package({"other", "1", "newer (>> 5)"}, deb_of({file("usr/bin/tool", "O")})), Error);
    // A file where a directory is.
    EXPECT_THROW(fs.add_package({"c", "1", ""}, deb_of({file("usr/bin", "x")})), Error);
}

TEST(RootFs, GeneratedFilesAttributesAndRemoval) {
    RootFs fs;
    fs.put_file("/etc/passwd", "root:x:0:0::/root:/sbin/nologin\n");
    fs.put_directory("/tmp", 01777);
    fs.put_directory("/home/nonroot", 0755, 65532, 65532);
    EXPECT_EQ(fs.find("tmp")->mode, 01777u);
    EXPECT_EQ(fs.find("home")->mode, 0755u);
    EXPECT_EQ(fs.find("home/nonroot")->uid, 65532u);
    fs.set_attributes("/home", 0700, 1, 2, true);
    EXPECT_EQ(fs.find("home/nonroot")->mode, 0700u);
    EXPECT_EQ(fs.find("home/nonroot")->gid, 2u);
    EXPECT_THROW(fs.set_attributes("/nope", 0700, {}, {}, false), Error);
    fs.remove("/home");
    EXPECT_EQ(fs.find("home/nonroot"), nullptr);
    EXPECT_EQ(fs.list("/"), (std::vector<std::string>{"bin", "etc", "lib", "sbin", "tmp", "usr"}));
}

TEST(RootFs, TarEntriesAreSortedParentsFirst) {
    RootFs fs;
    fs.add_package({"p", "1", ""}, deb_of({file("usr/lib-x/a", "1"), file("usr/lib/z", "2"), file("etc/p.conf", "3")}));
    auto entries = fs.tar_entries();
    std::vector<std::string> paths;
    for (const auto& e : entries) paths.push_back(e.path);
    EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
    for (std::size_t i = 0; i < paths.size(); ++i) {
        auto slash = paths[i].rfind('/');
        if (slash == std::string::npos) continue;
        auto parent = paths[i].substr(0, slash);
        EXPECT_NE(std::find(paths.begin(), paths.begin() + static_cast<long>(i), parent), paths.begin() + static_cast<long>(i))
            << paths[i] << " comes before its parent";
    }
    auto only_etc = fs.tar_entries([](const std::string& path, const FsEntry&) { return path.starts_with("etc"); });
    EXPECT_EQ(only_etc.size(), 2u);
}

}  // namespace
}  // namespace slate::build
