// `slate deb compare-versions`, run as a user runs it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

util::ProcessResult slate(std::vector<std::string> args, std::string stdin_data = {}) {
    args.insert(args.begin(), slate_binary().string());
    util::ProcessOptions options;
    options.stdin_data = std::move(stdin_data);
    options.timeout = std::chrono::seconds(60);
    return util::run_process(args, options);
}

std::size_t count_lines(const std::string& text) {
    std::size_t n = 0;
    for (char c : text) n += c == '\n';
    return n;
}

TEST(CompareVersionsCommand, PrintsTheRelation) {
    auto lt = slate({"deb", "compare-versions", "2.36-9+deb12u4", "2.36-9+deb12u10"});
    EXPECT_EQ(lt.exit_code, 0) << lt.err;
    EXPECT_EQ(lt.out, "<\n");
    EXPECT_EQ(lt.err, "");

    auto eq = slate({"deb", "compare-versions", "0:1.0", "1.0-0"});
    EXPECT_EQ(eq.exit_code, 0) << eq.err;
    EXPECT_EQ(eq.out, "=\n");

    auto gt = slate({"deb", "compare-versions", "1:0.1", "9.9~rc1"});
    EXPECT_EQ(gt.exit_code, 0) << gt.err;
    EXPECT_EQ(gt.out, ">\n");
}

TEST(CompareVersionsCommand, InvalidVersionIsAUsageError) {
    auto r = slate({"deb", "compare-versions", "1.0-", "1.0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("error: invalid version \"1.0-\": revision number is empty"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;

    auto epoch = slate({"deb", "compare-versions", "1.0", "x:1"});
    EXPECT_EQ(epoch.exit_code, 2);
    EXPECT_NE(epoch.err.find("invalid version \"x:1\": epoch in version is empty"), std::string::npos) << epoch.err;
}

TEST(CompareVersionsCommand, WarnsButComparesWhatDpkgOnlyWarnsAbout) {
    auto r = slate({"deb", "compare-versions", "abc", "1.0"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, ">\n");
    EXPECT_NE(r.err.find("warning: version \"abc\": version number does not start with digit"), std::string::npos)
        << r.err;
}

TEST(CompareVersionsCommand, WrongNumberOfArgumentsIsAUsageError) {
    auto one = slate({"deb", "compare-versions", "1.0"});
    EXPECT_EQ(one.exit_code, 2);
    EXPECT_NE(one.err.find("two versions"), std::string::npos) << one.err;

    auto both = slate({"deb", "compare-versions", "--stdin", "1.0", "2.0"}, "1 2\n");
    EXPECT_EQ(both.exit_code, 2);
    EXPECT_EQ(both.out, "");
}

TEST(CompareVersionsCommand, StdinManyLines) {
    // 100,000 pairs with known answers: i vs i+1, i vs i, i+1 vs i~ in turn.
    std::string input;
    std::string expected;
    for (int i = 0; i < 100000; ++i) {
        switch (i % 3) {
        case 0:
            input += "1." + std::to_string(i) + "-1 1." + std::to_string(i + 1) + "-1\n";
            expected += "<\n";
            break;
        case 1:
            input += "\t2:" + std::to_string(i) + "  2:0" + std::to_string(i) + "-0\r\n";  // blanks, CRLF
            expected += "=\n";
            break;
        default:
            input += std::to_string(i) + "+b1 " + std::to_string(i) + "~rc1\n";
            expected += ">\n";
            break;
        }
    }
    input.pop_back();  // the last line has no newline and still counts
    auto r = slate({"deb", "compare-versions", "--stdin"}, input);
    EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 500);
    EXPECT_EQ(count_lines(r.out), 100000u);
    EXPECT_TRUE(r.out == expected) << "output differs from the expected relations";
    EXPECT_EQ(r.err, "");
}

TEST(CompareVersionsCommand, StdinEmptyInputPrintsNothing) {
    auto r = slate({"deb", "compare-versions", "--stdin"}, "");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(CompareVersionsCommand, StdinBadLineNamesTheLine) {
    auto r = slate({"deb", "compare-versions", "--stdin"}, "1 2\n2 2\n3 1:\n4 1\n");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "<\n=\n");  // the results before the bad line are kept
    EXPECT_NE(r.err.find("line 3: invalid version \"1:\": nothing after colon"), std::string::npos) << r.err;

    auto fields = slate({"deb", "compare-versions", "--stdin"}, "1 2\n1 2 3\n");
    EXPECT_EQ(fields.exit_code, 2);
    EXPECT_EQ(fields.out, "<\n");
    EXPECT_NE(fields.err.find("line 2: expected two versions"), std::string::npos) << fields.err;

    auto blank = slate({"deb", "compare-versions", "--stdin"}, "1 2\n\n");
    EXPECT_EQ(blank.exit_code, 2);
    EXPECT_NE(blank.err.find("line 2: expected two versions separated by whitespace, got 0 fields"),
              std::string::npos)
        << blank.err;
}

}  // namespace
}  // namespace slate::test
