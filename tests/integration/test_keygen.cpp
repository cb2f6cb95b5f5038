// `slate keygen` end to end: the real binary writes a key pair that the
// library reads back, with the file modes, overwrite rules and password
// sources (SLATE_PASSWORD, a terminal prompt, neither) users rely on.
//
// Every run goes through `setsid`, so slate has no controlling terminal
// even when the tests run from one: the terminal case gets its own
// pseudo-terminal from Python's pty module.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "slate/error.hpp"
#include "slate/sign/keys.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

// Types into a program on a pseudo-terminal: waits for each prompt (the text
// before "::"), then sends the line after it. Prints what the terminal
// showed, and exits with the program's status.
constexpr const char* PtyDriver = R"PY(
import os, pty, select, sys, time
script, argv = sys.argv[1].split("\n"), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
seen = b""
def read_some(deadline):
    global seen
    ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
    if not ready:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        chunk = b""
    if not chunk:
        return None
    seen += chunk
    return True
for step in script:
    prompt, answer = step.split("::", 1)
    deadline = time.time() + 60
    while prompt.encode() not in seen:
        got = read_some(deadline)
        if not got:
            sys.stdout.write(seen.decode(errors="replace"))
            sys.exit("no prompt %r" % prompt)
    seen = seen.replace(prompt.encode(), b"<prompt>", 1)
    os.write(fd, answer.encode() + b"\n")
deadline = time.time() + 60
while read_some(deadline):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
)PY";

class Keygen : public ::testing::Test {
protected:
    // slate keygen ARGS in the work directory, without a terminal; SLATE_PASSWORD
    // set to `password` or unset.
    util::ProcessResult keygen(std::vector<std::string> args, std::optional<std::string> password) const {
        std::vector<std::string> argv{"setsid", "--wait", slate_binary().string(), "keygen"};
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.cwd = m_work.path();
        options.timeout = std::chrono::seconds(120);
        if (password)
            options.env = {{"SLATE_PASSWORD", *password}};
        else
            options.unset_env = {"SLATE_PASSWORD"};
        return util::run_process(argv, options);
    }
    // slate keygen on a pseudo-terminal, answering the prompts with `answers`.
    util::ProcessResult keygen_on_terminal(const std::vector<std::string>& answers, const fs::path& prefix) const {
        std::string script;
        const char* prompts[] = {"Enter password for the new private key " , " again: "};
        for (std::size_t i = 0; i < answers.size(); ++i)
            script += (i ? "\n" : "") + std::string(prompts[i > 0 ? 1 : 0]) + "::" + answers[i];
        util::ProcessOptions options;
        options.unset_env = {"SLATE_PASSWORD"};
        options.timeout = std::chrono::seconds(120);
        return util::run_process({"python3", "-c", PtyDriver, script, slate_binary().string(), "keygen",
                                  "--output-prefix", prefix.string()},
                                 options);
    }
    sign::PrivateKey read_key(const fs::path& path, const std::string& password) const {
        return sign::PrivateKey::from_pem(
            util::read_file(path), [&] { return password; }, path.string());
    }

    TempDir m_work;
};

TEST_F(Keygen, WritesAnEncryptedKeyAndItsPublicKey) {
    auto r = keygen({}, "s3cret");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path key = m_work.path() / "slate.key";
    const fs::path pub = m_work.path() / "slate.pub";
    EXPECT_NE(r.err.find("Private key written to slate.key"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Public key written to slate.pub"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(mode_of(key), 0600u);
    EXPECT_EQ(mode_of(pub), 0644u);

    std::string pem = util::read_file(key);
    EXPECT_TRUE(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")) << pem;
    auto private_key = read_key(key, "s3cret");
    auto public_key = sign::PublicKey::from_pem(util::read_file(pub), pub.string());
    EXPECT_EQ(private_key.public_key().der(), public_key.der());
    EXPECT_TRUE(public_key.verify("m", private_key.sign("m")));
    try {
        read_key(key, "wrong");
        ADD_FAILURE() << "a wrong password was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Auth);
    }
    // Nothing else is left in the directory (no temporary files).
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(m_work.path())) ++entries;
    EXPECT_EQ(entries, 2u);
}

TEST_F(Keygen, EmptyPasswordFromTheEnvironmentAndAPrefixWithDirectories) {
    auto r = keygen({"--output-prefix", "keys/release"}, "");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(mode_of(m_work.path() / "keys" / "release.key"), 0600u);
    auto key = read_key(m_work.path() / "keys" / "release.key", "");
    EXPECT_EQ(key.public_key().pem(), util::read_file(m_work.path() / "keys" / "release.pub"));
}

TEST_F(Keygen, RefusesToOverwriteWithoutForce) {
    ASSERT_EQ(keygen({}, "one").exit_code, 0);
    const std::string first_key = util::read_file(m_work.path() / "slate.key");
    const std::string first_pub = util::read_file(m_work.path() / "slate.pub");

    auto again = keygen({}, "two");
    EXPECT_EQ(again.exit_code, 2) << again.err;
    EXPECT_NE(again.err.find("slate.key already exists"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
    EXPECT_EQ(util::read_file(m_work.path() / "slate.key"), first_key);
    EXPECT_EQ(util::read_file(m_work.path() / "slate.pub"), first_pub);

    // Only the .pub exists: refused as well, naming it.
    fs::remove(m_work.path() / "slate.key");
    auto pub_only = keygen({}, "two");
    EXPECT_EQ(pub_only.exit_code, 2);
    EXPECT_NE(pub_only.err.find("slate.pub already exists"), std::string::npos) << pub_only.err;
    EXPECT_FALSE(fs::exists(m_work.path() / "slate.key"));

    auto forced = keygen({"--force"}, "two");
    ASSERT_EQ(forced.exit_code, 0) << forced.err;
    EXPECT_NE(util::read_file(m_work.path() / "slate.pub"), first_pub);
    EXPECT_EQ(mode_of(m_work.path() / "slate.key"), 0600u);
    auto key = read_key(m_work.path() / "slate.key", "two");
    EXPECT_EQ(key.public_key().pem(), util::read_file(m_work.path() / "slate.pub"));
}

TEST_F(Keygen, NoTerminalAndNoPasswordIsAUsageErrorWithAHint) {
    auto r = keygen({}, std::nullopt);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("no terminal"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("SLATE_PASSWORD"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(m_work.path() / "slate.key"));
    EXPECT_FALSE(fs::exists(m_work.path() / "slate.pub"));
}

TEST_F(Keygen, PromptsTwiceOnATerminalWithoutEcho) {
    if (!util::find_program("python3")) GTEST_SKIP() << "python3 is needed to drive a pseudo-terminal";
    const fs::path prefix = m_work.path() / "tty";
    auto r = keygen_on_terminal({"typed on the tty", "typed on the tty"}, prefix);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find("typed on the tty"), std::string::npos) << "the password was echoed:\n" << r.out;
    EXPECT_NE(r.out.find("Private key written to"), std::string::npos) << r.out;
    EXPECT_EQ(mode_of(prefix.string() + ".key"), 0600u);
    auto key = read_key(prefix.string() + ".key", "typed on the tty");
    EXPECT_EQ(key.public_key().pem(), util::read_file(prefix.string() + ".pub"));
}

TEST_F(Keygen, MismatchedPasswordsOnATerminalWriteNothing) {
    if (!util::find_program("python3")) GTEST_SKIP() << "python3 is needed to drive a pseudo-terminal";
    const fs::path prefix = m_work.path() / "tty";
    auto r = keygen_on_terminal({"first", "second"}, prefix);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.out.find("do not match"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(prefix.string() + ".key"));
    EXPECT_FALSE(fs::exists(prefix.string() + ".pub"));
}

}  // namespace
}  // namespace slate::test
