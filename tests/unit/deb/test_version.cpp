#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "slate/deb/version.hpp"
#include "slate/util/subprocess.hpp"

namespace slate::deb {
namespace {

struct Case {
    const char* a;
    const char* b;
    int expected;  // -1, 0 or 1
};

// Each expectation was also confirmed with `dpkg --compare-versions`; the
// agreement test below re-checks them all against dpkg on every run.
const Case Cases[] = {
    // Equality, missing pieces and leading zeros.
    {"1.0", "1.0", 0},
    {"1.0", "1.0-0", 0},     // a missing revision orders like "0"
    {"1.0-0", "1.0-00", 0},
    {"0:1.0", "1.0", 0},     // a missing epoch is 0
    {"00001:1", "1:1", 0},
    {"+1:2", "1:2", 0},      // dpkg reads the epoch with strtol, which takes a sign
    {"1.0", "1.00", 0},
    {"1.01", "1.1", 0},
    {"1.000000000000000000000000000000001", "1.1", 0},
    // Epochs win over everything else.
    {"1:1.0", "2.0", 1},
    {"1:0", "0:9999", 1},
    {"2147483647:1", "2147483646:9", 1},
    // Revisions.
    {"1.0", "1.0-1", -1},
    {"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
    {"2.36-9+deb12u4", "2.36-9", 1},
    {"1.2.3-1ubuntu1", "1.2.3-1", 1},
    {"1.0-1", "1.0-1~bpo", 1},
    {"1-1", "1-1.0", -1},
    {"1.0-1", "1.0-a", -1},
    {"1.2-3-4", "1.2-3-5", -1},  // the revision follows the LAST '-'
    {"1.2-3-4", "1.2-4-1", -1},
    {"1:2:3", "1:2:4", -1},      // the epoch precedes the FIRST ':'
    // Tilde sorts before everything, even the end of the string.
    {"1.0~rc1", "1.0", -1},
    {"1.0~", "1.0", -1},
    {"1.0~~", "1.0~", -1},
    {"1~", "1~~", 1},
    {"1.0~~a", "1.0~~", 1},
    {"1.0~bpo1", "1.0", -1},
    {"1.0a", "1.0~", 1},
    // Letters sort before other characters, the end before letters.
    {"1.0", "1.0+1", -1},
    {"1.0+", "1.0.", -1},
    {"1.0a", "1.0+", -1},
    {"1.0a", "1.0", 1},
    {"1.0", "1.0.", -1},
    {"1.0", "1", 1},
    {"A", "a", -1},
    {"Z", "a", -1},
    {"a", "b", -1},
    // Digit runs compare as numbers of any length.
    {"1.10", "1.9", 1},
    {"1.99999999999999999999999999", "1.100000000000000000000000000", -1},
    // Bytes >= 0x80 sort after letters and before ASCII punctuation (dpkg on amd64).
    {"1.\xc3\xa9", "1.!", -1},
    {"1.\xc3\xa9", "1.z", 1},
};

TEST(CompareVersions, KnownOrderings) {
    for (const auto& c : Cases) {
        EXPECT_EQ(compare_versions(c.a, c.b), c.expected) << c.a << " vs " << c.b;
        EXPECT_EQ(compare_versions(c.b, c.a), -c.expected) << c.b << " vs " << c.a;
    }
}

TEST(CompareVersions, DpkgSelfTestCases) {
    // From dpkg's lib/dpkg/t/t-version.c.
    EXPECT_EQ(compare_versions("0-0", "0-0"), 0);
    EXPECT_EQ(compare_versions("0-00", "00-0"), 0);
    EXPECT_EQ(compare_versions("1:2-3", "1:2-3"), 0);
    EXPECT_LT(compare_versions("0-0", "1:0-0"), 0);
    EXPECT_LT(compare_versions("a-0", "b-0"), 0);
    EXPECT_LT(compare_versions("0-a", "0-b"), 0);
    EXPECT_EQ(compare_versions("0:0-0-0", "0-0-0"), 0);
    EXPECT_EQ(compare_versions("0:0:0:0-0", "0:0:0:0-0"), 0);
    EXPECT_EQ(compare_versions("  \t0:0-1", "0:0-1"), 0);  // leading and trailing blanks are ignored
    EXPECT_EQ(compare_versions("0:0-1\t  ", "0-1"), 0);
}

TEST(CompareVersions, IsATotalOrderOnSortedList) {
    // Strictly increasing, as Debian uploads of one package would be.
    const std::vector<std::string_view> sorted = {
        "0~~",     "0~",      "0",        "0.0.1",   "0.1~rc1", "0.1",      "0.1-0.1",  "0.1-1~bpo1",
        "0.1-1",   "0.1-1a",  "0.1-1+b1", "0.1-1.1", "0.1a",    "0.1+dfsg", "0.1.1",    "0.9",
        "0.10",    "1",       "1.0a",     "1.0+",    "1.0.",    "1:0~",     "1:0",      "2:0"};
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        for (std::size_t j = 0; j < sorted.size(); ++j) {
            int expected = i < j ? -1 : i > j ? 1 : 0;
            EXPECT_EQ(compare_versions(sorted[i], sorted[j]), expected) << sorted[i] << " vs " << sorted[j];
        }
    }
}

TEST(SplitVersion, EpochUpstreamRevision) {
    auto p = split_version("1:2.36-9+deb12u4");
    EXPECT_EQ(p.epoch, 1u);
    EXPECT_EQ(p.upstream, "2.36");
    EXPECT_EQ(p.revision, "9+deb12u4");

    p = split_version("2.36");
    EXPECT_EQ(p.epoch, 0u);
    EXPECT_EQ(p.upstream, "2.36");
    EXPECT_EQ(p.revision, "");

    p = split_version("3:1:2-3-4");  // first ':' and last '-'
    EXPECT_EQ(p.epoch, 3u);
    EXPECT_EQ(p.upstream, "1:2-3");
    EXPECT_EQ(p.revision, "4");

    p = split_version(" 007:1-2\t");
    EXPECT_EQ(p.epoch, 7u);
    EXPECT_EQ(p.upstream, "1");
    EXPECT_EQ(p.revision, "2");

    p = split_version("99999999999:1");  // invalid, but splitting must still be safe
    EXPECT_EQ(p.epoch, UINT32_MAX);
    EXPECT_EQ(p.upstream, "1");
}

TEST(VersionError, AcceptsWhatDpkgAccepts) {
    for (const char* v : {"1", "0", "1.0-1", "1:2.36-9+deb12u4", "0:09azAZ.-+~:-0", "0:0-azAZ09.+~", " 1.0 ",
                          "+1:2", "-0:2", "2147483647:1", "1:1:1-1-1"}) {
        EXPECT_EQ(version_error(v), std::nullopt) << v;
        EXPECT_EQ(version_warning(v), std::nullopt) << v;
    }
    // dpkg reads the epoch with strtol(), which skips any whitespace before
    // the number: `dpkg --compare-versions $'\v+1:2' eq 1:2` succeeds silently.
    EXPECT_EQ(version_error("\v+1:2"), std::nullopt);
    EXPECT_EQ(compare_versions("\n1:2", "1:2"), 0);
}

TEST(VersionError, RejectsWhatDpkgRejects) {
    struct Bad {
        const char* version;
        const char* reason_part;
    };
    const Bad bad[] = {
        {"", "empty"},
        {"  \t", "empty"},
        {"0:0 0-1", "embedded spaces"},
        {":1.0", "epoch in version is empty"},
        {"a:0-0", "epoch in version is empty"},
        {"1a:0", "not a number"},
        {"0x1:1", "not a number"},
        {"-1:0-1", "negative"},
        {"2147483648:1", "too big"},
        {"999999999999999999999999:0-1", "too big"},
        {"0:", "nothing after colon"},
        {"1.0-", "revision number is empty"},
        {"1.0-1-", "revision number is empty"},
        {"-0", "version number is empty"},
        {"0:-0", "version number is empty"},
    };
    for (const auto& b : bad) {
        auto error = version_error(b.version);
        ASSERT_TRUE(error.has_value()) << '"' << b.version << '"';
        EXPECT_NE(error->find(b.reason_part), std::string::npos) << b.version << ": " << *error;
        EXPECT_EQ(version_warning(b.version), std::nullopt) << b.version;
    }
}

TEST(VersionWarning, WhatDpkgOnlyWarnsAbout) {
    EXPECT_EQ(version_error("0:abc3-0"), std::nullopt);
    EXPECT_EQ(version_warning("0:abc3-0"), "version number does not start with digit");
    for (char c : std::string_view("!#@$%&/|\\<>()[]{};,_=*^'")) {
        std::string v = "0:0a-0";
        v[3] = c;
        EXPECT_EQ(version_error(v), std::nullopt) << v;
        EXPECT_EQ(version_warning(v), "invalid character in version number") << v;
    }
    for (char c : std::string_view("!#@$%&/|\\<>()[]{}:;,_=*^'")) {
        std::string v = "0:0-0";
        v[4] = c;
        EXPECT_EQ(version_error(v), std::nullopt) << v;
        EXPECT_EQ(version_warning(v), "invalid character in revision number") << v;
    }
}

TEST(Satisfies, EveryOperator) {
    EXPECT_TRUE(satisfies("1.0", VersionOp::Any, "anything"));
    EXPECT_TRUE(satisfies("1.0", VersionOp::Less, "1.1"));
    EXPECT_FALSE(satisfies("1.0", VersionOp::Less, "1.0-0"));
    EXPECT_TRUE(satisfies("1.0", VersionOp::LessEq, "1.0-0"));
    EXPECT_FALSE(satisfies("1.1", VersionOp::LessEq, "1.0"));
    EXPECT_TRUE(satisfies("1:1", VersionOp::Eq, "01:1-0"));
    EXPECT_FALSE(satisfies("1.0", VersionOp::Eq, "1.0~"));
    EXPECT_TRUE(satisfies("1.0", VersionOp::GreaterEq, "1.0~"));
    EXPECT_FALSE(satisfies("1.0~", VersionOp::GreaterEq, "1.0"));
    EXPECT_TRUE(satisfies("2.36-9+deb12u4", VersionOp::Greater, "2.36-9"));
    EXPECT_FALSE(satisfies("2.36-9", VersionOp::Greater, "2.36-9"));
}

TEST(VersionOp, ParseAndPrint) {
    EXPECT_EQ(parse_version_op("<<"), VersionOp::Less);
    EXPECT_EQ(parse_version_op("<="), VersionOp::LessEq);
    EXPECT_EQ(parse_version_op("<"), VersionOp::LessEq);  // obsolete: means <=
    EXPECT_EQ(parse_version_op("="), VersionOp::Eq);
    EXPECT_EQ(parse_version_op(">="), VersionOp::GreaterEq);
    EXPECT_EQ(parse_version_op(">"), VersionOp::GreaterEq);  // obsolete: means >=
    EXPECT_EQ(parse_version_op(">>"), VersionOp::Greater);
    for (const char* bad : {"", "==", "!=", "=>", "=<", "< <", "<<=", "lt", " >="}) {
        EXPECT_EQ(parse_version_op(bad), std::nullopt) << bad;
    }
    for (auto op : {VersionOp::Less, VersionOp::LessEq, VersionOp::Eq, VersionOp::GreaterEq, VersionOp::Greater}) {
        EXPECT_EQ(parse_version_op(to_string(op)), op);
    }
    EXPECT_EQ(to_string(VersionOp::Any), "");
}

// ---------------------------------------------------------------------------
// Agreement with the real dpkg.

// Deterministic random versions from realistic parts. Only the raw output of
// std::mt19937 is used (its sequence is fixed by the standard), never a
// distribution (whose output differs between standard libraries).
class VersionGenerator {
public:
    explicit VersionGenerator(std::uint32_t seed) : m_rng(seed) {}

    std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(m_rng() % n); }
    bool chance(std::uint32_t percent) { return below(100) < percent; }
    template <typename T, std::size_t N>
    const T& pick(const T (&items)[N]) { return items[below(N)]; }

    std::string digits() {
        std::string out;
        if (chance(10)) out += std::string(1 + below(3), '0');  // leading zeros
        std::size_t length = chance(3) ? 18 + below(15) : 1 + below(3);  // sometimes beyond 64 bits
        for (std::size_t i = 0; i < length; ++i) out += static_cast<char>('0' + below(10));
        return out;
    }

    std::string non_digits(bool allow_hyphen, bool allow_colon) {
        static const char* const parts[] = {".", ".", ".", "+", "~", "~~", "a", "b", "z", "A", "Z", "rc",
                                            "+dfsg", "~rc", "+b", "ubuntu", ".git", "+really", "~~a"};
        std::string out = pick(parts);
        if (allow_hyphen && chance(5)) out += "-";
        if (allow_colon && chance(5)) out += ":";
        if (chance(2)) out += pick({"_", "!", "%", "\xc3\xa9"});  // dpkg warns, then compares
        return out;
    }

    std::string upstream(bool with_revision, bool with_epoch) {
        std::string out = chance(3) ? std::string(pick({"a", "z", "~", "+"})) : digits();
        std::size_t parts = below(5);
        for (std::size_t i = 0; i < parts; ++i) {
            out += non_digits(with_revision, with_epoch);
            if (chance(85)) out += digits();
        }
        return out;
    }

    std::string revision() {
        static const char* const forms[] = {"1", "0", "00", "2", "1ubuntu1", "9+deb12u4", "0~bpo12+1", "1.1",
                                            "3+b1", "10", "1~", "a", "1+", "2.0~rc1"};
        std::string out = pick(forms);
        if (chance(30)) out += digits();
        return out;
    }

    std::string version() {
        bool with_epoch = chance(25);
        bool with_revision = chance(65);
        std::string out;
        if (with_epoch) out += std::string(pick({"0", "1", "2", "01", "10", "3"})) + ":";
        out += upstream(with_revision, with_epoch);
        if (with_revision) out += "-" + revision();
        return out;
    }

    // A small edit of `v`, so the pair differs only slightly (or not at all).
    std::string near(const std::string& v) {
        switch (below(12)) {
        case 0: return v + "~";
        case 1: return v + "+1";
        case 2: return v + ".0";
        case 3: return v + "-0";
        case 4: return "0:" + v;
        case 5: return v + "a";
        case 6: {  // add a leading zero to a digit run
            std::size_t at = v.find_first_of("123456789");
            return at == std::string::npos ? v : v.substr(0, at) + "0" + v.substr(at);
        }
        case 7: {  // bump one digit
            std::size_t at = v.find_last_of("012345678");
            std::string out = v;
            if (at != std::string::npos) ++out[at];
            return out;
        }
        case 8: {  // put a tilde before the last character
            return v.size() < 2 ? v + "~" : v.substr(0, v.size() - 1) + "~" + v.back();
        }
        case 9: return v;
        case 10: return v + "-";  // invalid: an empty revision
        default: return v + "~~";
        }
    }

private:
    std::mt19937 m_rng;
};

struct DpkgVerdict {
    char relation = '?';  // '<', '=', '>', or 'E' when dpkg rejected a version
    int warnings = 0;     // dpkg's "warning:" lines for the pair
};

// One `sh` per batch: for each "A B" line, dpkg --compare-versions A lt B (its
// warnings go to stdout too), then "eq" when needed, then a "#<relation>"
// line that ends the pair's block.
std::vector<DpkgVerdict> ask_dpkg(const std::vector<std::pair<std::string, std::string>>& pairs) {
    static const char* const script = R"(
while read -r a b; do
  dpkg --compare-versions "$a" lt "$b" 2>&1; rc=$?
  if [ $rc -eq 0 ]; then echo '#<'
  elif [ $rc -eq 2 ]; then echo '#E'
  elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo '#='
  else echo '#>'; fi
done
)";
    util::ProcessOptions options;
    for (const auto& [a, b] : pairs) options.stdin_data += a + " " + b + "\n";
    options.env = {{"LC_ALL", "C"}};
    options.timeout = std::chrono::seconds(120);
    auto result = util::run_process({"sh", "-c", script}, options);
    EXPECT_EQ(result.exit_code, 0) << result.err;

    std::vector<DpkgVerdict> verdicts;
    DpkgVerdict current;
    std::string_view out = result.out;
    while (!out.empty()) {
        std::size_t nl = out.find('\n');
        std::string_view line = out.substr(0, nl);
        out.remove_prefix(nl == std::string_view::npos ? out.size() : nl + 1);
        if (line.size() == 2 && line[0] == '#') {
            current.relation = line[1];
            verdicts.push_back(current);
            current = {};
        } else if (line.find("warning:") != std::string_view::npos) {
            ++current.warnings;
        }
    }
    return verdicts;
}

TEST(CompareVersions, AgreesWithDpkg) {
    if (!util::find_program("dpkg")) GTEST_FAIL() << "dpkg is not installed; it is part of every Debian system";

    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& c : Cases) pairs.emplace_back(c.a, c.b);
    VersionGenerator gen(20240611);
    while (pairs.size() < 3200) {
        std::string a = gen.version();
        if (gen.chance(45)) {
            std::string b = gen.near(a);
            if (gen.chance(50)) std::swap(a, b);
            pairs.emplace_back(std::move(a), std::move(b));
        } else {
            pairs.emplace_back(std::move(a), gen.version());
        }
    }

    auto verdicts = ask_dpkg(pairs);
    ASSERT_EQ(verdicts.size(), pairs.size());

    std::size_t compared = 0, rejected = 0, equal = 0, warned = 0, mismatches = 0;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const auto& [a, b] = pairs[i];
        const DpkgVerdict& dpkg = verdicts[i];
        bool invalid = version_error(a) || version_error(b);
        if (dpkg.relation == 'E') {
            ++rejected;
            EXPECT_TRUE(invalid) << "dpkg rejects one of: " << a << "  " << b;
            continue;
        }
        EXPECT_FALSE(invalid) << "dpkg accepts both: " << a << "  " << b;
        int ours = compare_versions(a, b);
        char relation = ours < 0 ? '<' : ours > 0 ? '>' : '=';
        int our_warnings = (version_warning(a) ? 1 : 0) + (version_warning(b) ? 1 : 0);
        if (relation != dpkg.relation || our_warnings != dpkg.warnings) {
            ++mismatches;
            ADD_FAILURE() << a << " " << relation << " " << b << " (" << our_warnings
                          << " warnings) but dpkg says " << dpkg.relation << " (" << dpkg.warnings << " warnings)";
            if (mismatches > 20) break;
        }
        ++compared;
        if (relation == '=') ++equal;
        if (our_warnings > 0) ++warned;
    }
    RecordProperty("compared", static_cast<int>(compared));
    RecordProperty("rejected", static_cast<int>(rejected));
    RecordProperty("equal", static_cast<int>(equal));
    RecordProperty("warned", static_cast<int>(warned));
    // The corpus must exercise every outcome, or the agreement means little.
    EXPECT_GE(compared, 3000u);
    EXPECT_GE(rejected, 20u);
    EXPECT_GE(equal, 100u);
    EXPECT_GE(warned, 50u);
}

}  // namespace
}  // namespace slate::deb
