#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/paths.hpp"

namespace slate::util {
namespace {

TEST(AtomicFile, InvisibleUntilCommitted) {
    test::TempDir dir;
    auto target = dir.path() / "sub" / "file.txt";
    {
        AtomicFile file(target);
        file.write("hello");
        EXPECT_FALSE(std::filesystem::exists(target));
        file.commit();
    }
    EXPECT_EQ(read_file(target), "hello");
}

TEST(AtomicFile, AbandonedWriteLeavesNothing) {
    test::TempDir dir;
    auto target = dir.path() / "file.txt";
    {
        AtomicFile file(target);
        file.write("partial");
    }
    EXPECT_FALSE(std::filesystem::exists(target));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(WriteFileAtomic, WritesIntoAFifoOrDeviceInsteadOfReplacingIt) {
    test::TempDir dir;
    const auto fifo = dir.path() / "pipe";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::string received;
    std::thread reader([&] { received = read_file(fifo); });
    write_file_atomic(fifo, "through the pipe");
    reader.join();
    EXPECT_EQ(received, "through the pipe");
    struct stat st {};
    ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));  // still a FIFO, not a file renamed over it
    write_file_atomic("/dev/null", "discarded");
    ASSERT_EQ(::stat("/dev/null", &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(AtomicFile, ReplacesExistingFileWhole) {
    test::TempDir dir;
    auto target = dir.path() / "file.txt";
    write_file_atomic(target, "old contents");
    write_file_atomic(target, "new");
    EXPECT_EQ(read_file(target), "new");
}

TEST(ReadFile, MissingFileIsNotFound) {
    test::TempDir dir;
    try {
        read_file(dir.path() / "nope");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
    }
}

TEST(MappedFile, MapsContents) {
    test::TempDir dir;
    write_file_atomic(dir.path() / "f", "mapped bytes");
    MappedFile mapped(dir.path() / "f");
    EXPECT_EQ(mapped.view(), "mapped bytes");
    write_file_atomic(dir.path() / "empty", "");
    MappedFile empty(dir.path() / "empty");
    EXPECT_TRUE(empty.view().empty());
}

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    test::TempDir dir;
    write_file_atomic(dir.path() / "abc", "abc");
    EXPECT_EQ(sha256_file_hex(dir.path() / "abc"), sha256_hex("abc"));
    EXPECT_TRUE(is_sha256_hex(sha256_hex("x")));
    EXPECT_FALSE(is_sha256_hex("ABC"));
}

}  // namespace
}  // namespace slate::util
