#pragma once
// Where tests find the slate binary, the source tree and scratch space.

#include <filesystem>

#include "slate/util/fs.hpp"

namespace slate::test {

std::filesystem::path slate_binary();
std::filesystem::path source_dir();
std::filesystem::path binary_dir();
// ../shared/vectors next to the source tree: the specifications' own test vectors.
std::filesystem::path shared_vectors();

// A fresh directory under the system's temporary directory, removed when the object dies.
class TempDir : public util::TempDir {
public:
    TempDir();
};

}  // namespace slate::test
