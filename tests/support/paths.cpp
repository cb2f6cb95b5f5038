#include "support/paths.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace slate::test {

std::filesystem::path slate_binary() { return SLATE_BINARY; }
std::filesystem::path source_dir() { return SLATE_SOURCE_DIR; }
std::filesystem::path binary_dir() { return SLATE_TEST_BINARY_DIR; }

TempDir::TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "slate-test-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    m_path = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

}  // namespace slate::test
