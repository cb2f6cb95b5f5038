#include "support/paths.hpp"

namespace slate::test {

std::filesystem::path slate_binary() { return SLATE_BINARY; }
std::filesystem::path source_dir() { return SLATE_SOURCE_DIR; }
std::filesystem::path binary_dir() { return SLATE_TEST_BINARY_DIR; }
std::filesystem::path shared_vectors() { return source_dir().parent_path() / "shared" / "vectors"; }

TempDir::TempDir() : util::TempDir(std::filesystem::temp_directory_path(), "slate-test-") {}

}  // namespace slate::test
