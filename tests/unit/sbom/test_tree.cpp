// sbom::FileTree and its readers: a directory, and image layers applied in
// order with OCI whiteouts, real tar streams (gzip and zstd) made with
// libslate's own TarWriter and LayerCompressor.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "slate/error.hpp"
#include "slate/oci/compress.hpp"
#include "slate/oci/tar.hpp"
#include "slate/sbom/tree.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/paths.hpp"

namespace slate::sbom {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

oci::TarEntry file(std::string path, std::string content, std::uint32_t mode = 0644) {
    oci::TarEntry e;
    e.path = std::move(path);
    e.mode = mode;
    e.content = std::make_shared<const std::string>(std::move(content));
    return e;
}

oci::TarEntry dir(std::string path) {
    oci::TarEntry e;
    e.path = std::move(path);
    e.type = oci::TarType::Directory;
    e.mode = 0755;
    return e;
}

oci::TarEntry link(std::string path, std::string target, oci::TarType type = oci::TarType::Symlink) {
    oci::TarEntry e;
    e.path = std::move(path);
    e.type = type;
    e.mode = 0777;
    e.link_target = std::move(target);
    return e;
}

fs::path write_layer(const fs::path& path, const std::vector<oci::TarEntry>& entries,
                     oci::Compression compression = oci::Compression::Gzip) {
    std::string bytes;
    oci::LayerCompressor compressor(compression, [&](std::string_view b) { bytes.append(b); });
    oci::TarWriter tar(compressor.sink(), 1700000000);
    for (const auto& entry : entries) tar.add(entry);
    tar.finish();
    compressor.finish();
    util::write_file_atomic(path, bytes);
    return path;
}

// Keeps files under /meta, inspects files under /bin, records what it saw.
struct Recorder {
    std::map<std::string, std::string> inspected;
    TreeInterest interest() {
        TreeInterest i;
        i.keep = [](std::string_view path, const TreeEntry&) { return path.starts_with("/meta/"); };
        i.inspect = [](std::string_view path, const TreeEntry&) { return path.starts_with("/bin/"); };
        i.inspector = [this](const std::string& path, const TreeEntry&, std::string_view content) {
            inspected[path] = std::string(content);
        };
        i.forget = [this](std::string_view path) {
            for (auto it = inspected.begin(); it != inspected.end();)
                it = (it->first == path || it->first.starts_with(std::string(path) + "/")) ? inspected.erase(it) : ++it;
        };
        return i;
    }
};

TEST(FileTree, ResolvesSymlinksInsideTheTree) {
    FileTree tree;
    tree.add("/", {TreeEntry::Type::Directory, 0755, 0, {}});
    tree.add("/usr", {TreeEntry::Type::Directory, 0755, 0, {}});
    tree.add("/usr/share", {TreeEntry::Type::Directory, 0755, 0, {}});
    tree.add("/usr/share/doc", {TreeEntry::Type::Directory, 0755, 0, {}});
    tree.add("/usr/share/doc/libfoo1", {TreeEntry::Type::Directory, 0755, 0, {}});
    tree.add("/usr/share/doc/libfoo1/copyright", {TreeEntry::Type::File, 0644, 5, {}});
    tree.keep("/usr/share/doc/libfoo1/copyright", "text!");
    tree.add("/usr/share/doc/libfoo-dev", {TreeEntry::Type::Symlink, 0777, 0, "libfoo1"});
    tree.add("/escape", {TreeEntry::Type::Symlink, 0777, 0, "../../../../usr/share/doc/libfoo-dev"});
    tree.add("/loop", {TreeEntry::Type::Symlink, 0777, 0, "/loop"});
    tree.add("/hard", {TreeEntry::Type::Hardlink, 0644, 0, "/usr/share/doc/libfoo1/copyright"});

    EXPECT_EQ(tree.resolve("/usr/share/doc/libfoo-dev/copyright"), "/usr/share/doc/libfoo1/copyright");
    EXPECT_EQ(tree.read("/usr/share/doc/libfoo-dev/copyright"), "text!");
    EXPECT_EQ(tree.read("/escape/copyright"), "text!");  // ".." stops at the root
    EXPECT_EQ(tree.read("/hard"), "text!");
    EXPECT_EQ(tree.resolve("/loop"), "");
    EXPECT_FALSE(tree.read("/loop"));
    EXPECT_FALSE(tree.read("/usr/share/doc/missing/copyright"));
    EXPECT_FALSE(tree.read("/usr/share/doc"));  // a directory
}

TEST(ReadLayersTree, AppliesLayersInOrderWithWhiteouts) {
    TempDir work;
    fs::path base = write_layer(work.path() / "base.tar.gz",
                                {dir("meta"), file("meta/a", "A1"), file("meta/b", "B1"), dir("meta/sub"),
                                 file("meta/sub/c", "C1"), dir("bin"), file("bin/tool", "ELF v1", 0755),
                                 file("bin/gone", "ELF gone", 0755), dir("opaque"), file("opaque/old", "x")});
    fs::path top = write_layer(work.path() / "top.tar.zst",
                               {file("meta/a", "A2"),                    // replaced
                                file("meta/.wh.b", ""),                  // deleted
                                file("bin/.wh.gone", ""),                // deleted binary: its findings go
                                dir("opaque"), file("opaque/.wh..wh..opq", ""), file("opaque/new", "y"),
                                link("meta/link", "sub/c"), link("meta/hard", "meta/sub/c", oci::TarType::Hardlink)},
                               oci::Compression::Zstd);
    Recorder recorder;
    std::vector<Warning> warnings;
    std::vector<FileEntry> files;
    FileTree tree = read_layers_tree({base, top}, recorder.interest(), warnings, &files);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(tree.read("/meta/a"), "A2");
    EXPECT_FALSE(tree.find("/meta/b"));
    EXPECT_EQ(tree.read("/meta/link"), "C1");
    EXPECT_EQ(tree.read("/meta/hard"), "C1");
    EXPECT_FALSE(tree.find("/opaque/old"));  // hidden by the opaque whiteout
    EXPECT_TRUE(tree.find("/opaque/new"));   // the whiteout's own layer is kept
    EXPECT_FALSE(tree.read("/opaque/new"));  // not kept: nobody asked for it
    EXPECT_EQ(recorder.inspected, (std::map<std::string, std::string>{{"/bin/tool", "ELF v1"}}));
    // --files: every regular file of the final tree, hashed.
    std::vector<std::string> listed;
    for (const auto& f : files) listed.push_back(f.path);
    EXPECT_EQ(listed, (std::vector<std::string>{"/bin/tool", "/meta/a", "/meta/sub/c", "/opaque/new"}));
    EXPECT_EQ(files[1].sha256, util::sha256_hex("A2"));
}

TEST(ReadLayersTree, ATruncatedLayerIsAWarningAndTheRestIsKept) {
    TempDir work;
    std::vector<oci::TarEntry> entries{dir("meta"), file("meta/first", "1")};
    for (int i = 0; i < 50; ++i) entries.push_back(file("meta/f" + std::to_string(i), std::string(4000, 'a' + i % 26)));
    fs::path good = write_layer(work.path() / "good.tar.gz", entries);
    std::string bytes = util::read_file(good);
    util::write_file_atomic(work.path() / "cut.tar.gz", bytes.substr(0, bytes.size() / 2));
    Recorder recorder;
    std::vector<Warning> warnings;
    FileTree tree = read_layers_tree({work.path() / "cut.tar.gz"}, recorder.interest(), warnings);
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(warnings.back().message.find("layer 1"), std::string::npos) << warnings.back().message;
    EXPECT_EQ(tree.read("/meta/first"), "1");

    std::vector<Warning> missing;
    read_layers_tree({work.path() / "nope.tar.gz"}, recorder.interest(), missing);
    ASSERT_EQ(missing.size(), 1u);
    EXPECT_NE(missing[0].message.find("cannot read layer 1"), std::string::npos);
}

TEST(ReadDirectoryTree, ReadsADirectoryWithoutLeavingIt) {
    TempDir work;
    fs::path root = work.path() / "root";
    fs::create_directories(root / "meta" / "sub");
    fs::create_directories(root / "bin");
    util::write_file_atomic(root / "meta" / "sub" / "c", "C");
    util::write_file_atomic(root / "bin" / "tool", "ELF", 0755);
    util::write_file_atomic(work.path() / "outside", "secret");
    fs::create_symlink("/meta/sub", root / "meta" / "abs");
    fs::create_symlink("../../outside", root / "meta" / "out");
    Recorder recorder;
    std::vector<Warning> warnings;
    std::vector<FileEntry> files;
    FileTree tree = read_directory_tree(root, recorder.interest(), warnings, &files);
    EXPECT_EQ(tree.read("/meta/sub/c"), "C");
    EXPECT_EQ(tree.read("/meta/abs/c"), "C");  // absolute links stay inside the tree
    EXPECT_FALSE(tree.read("/meta/out"));      // never the host's file
    EXPECT_EQ(recorder.inspected.at("/bin/tool"), "ELF");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].path, "/bin/tool");
    EXPECT_THROW(read_directory_tree(work.path() / "none", recorder.interest(), warnings), slate::Error);
}

TEST(FileTree, RemovingADirectoryRemovesAllBelowItAndNothingBeside) {
    FileTree tree;
    for (const char* path : {"/a", "/a-b", "/a.c", "/a/x", "/a/x/y", "/ab", "/b"})
        tree.add(path, {TreeEntry::Type::Directory, 0755, 0, {}});
    auto removed = tree.remove("/a");
    EXPECT_EQ(removed, (std::vector<std::string>{"/a", "/a/x", "/a/x/y"}));
    std::vector<std::string> left;
    for (const auto& [path, entry] : tree.entries()) left.push_back(path);
    EXPECT_EQ(left, (std::vector<std::string>{"/a-b", "/a.c", "/ab", "/b"}));
    tree.add("/a-b/z", {TreeEntry::Type::File, 0644, 1, {}});
    EXPECT_EQ(tree.remove_children("/a-b"), (std::vector<std::string>{"/a-b/z"}));
    EXPECT_TRUE(tree.find("/a-b"));
}

TEST(NormalizeTreePath, MakesPathsAbsoluteAndClean) {
    EXPECT_EQ(normalize_tree_path("./usr//bin/"), "/usr/bin");
    EXPECT_EQ(normalize_tree_path("../../etc/passwd"), "/etc/passwd");
    EXPECT_EQ(normalize_tree_path(""), "/");
}

}  // namespace
}  // namespace slate::sbom
