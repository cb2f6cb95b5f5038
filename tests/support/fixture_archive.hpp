#pragma once
// The fixture Debian archive (tests/fixtures/make-archive.sh): a small signed
// archive with real .deb files, shared by all tests of a build tree.

#include <filesystem>

namespace slate::test {

// The archive's directory (holding keyring.gpg, keyring.asc, wrong-keyring.gpg,
// debian/ and debian-security/; see the script's header for the packages).
// Built once into SLATE_TEST_BINARY_DIR/fixture-archive and reused across test
// processes; rebuilt when the script's content changes. Safe to call from
// parallel test processes (flock) and threads. Throws std::runtime_error when
// the script fails, with its output.
const std::filesystem::path& fixture_archive();

}  // namespace slate::test
