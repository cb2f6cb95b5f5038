#pragma once
// Where tests find the slate binary, the source tree and scratch space.

#include <filesystem>

namespace slate::test {

std::filesystem::path slate_binary();
std::filesystem::path source_dir();
std::filesystem::path binary_dir();

// A fresh directory removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

}  // namespace slate::test
