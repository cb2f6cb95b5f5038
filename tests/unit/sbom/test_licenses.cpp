#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "slate/sbom/licenses.hpp"
#include "slate/sbom/spdx.hpp"
#include "slate/util/fs.hpp"
#include "support/json_schema.hpp"

namespace slate::sbom {
namespace {

namespace fs = std::filesystem;

// The Format line of a DEP-5 file, as the header's value ends; tests write
// the rest of the URL's path only (the host is not what identifies it).
constexpr const char* Format = "Format: https://example.org/doc/packaging-manuals/copyright-format/1.0/\n";

std::string expression(std::string_view field) {
    std::vector<std::string> unknown;
    return debian_license_expression(field, unknown);
}

// --- An SPDX expression validator, independent of the code under test: the
// ids come from the SPDX list in the CycloneDX 1.6 schema (../shared/schemas).

const std::set<std::string>& spdx_list() {
    static const std::set<std::string> ids = [] {
        auto schema = nlohmann::json::parse(util::read_file(test::shared_schemas() / "cyclonedx-1.6" / "spdx.schema.json"));
        std::set<std::string> out;
        for (const auto& id : schema.at("enum")) out.insert(id.get<std::string>());
        return out;
    }();
    return ids;
}

class ExpressionChecker {
public:
    explicit ExpressionChecker(std::string_view text) {
        std::size_t i = 0;
        while (i < text.size()) {
            if (text[i] == ' ') {
                ++i;
            } else if (text[i] == '(' || text[i] == ')') {
                m_tokens.emplace_back(1, text[i++]);
            } else {
                std::size_t start = i;
                while (i < text.size() && text[i] != ' ' && text[i] != '(' && text[i] != ')') ++i;
                m_tokens.emplace_back(text.substr(start, i - start));
            }
        }
    }

    // "" when valid, else what is wrong.
    std::string check() {
        if (m_tokens.size() == 1 && m_tokens[0] == "NOASSERTION") return {};
        expr();
        if (m_error.empty() && m_pos != m_tokens.size()) m_error = "trailing " + m_tokens[m_pos];
        return m_error;
    }

private:
    const std::string& peek() const {
        static const std::string end;
        return m_pos < m_tokens.size() ? m_tokens[m_pos] : end;
    }
    void expr() {
        and_expr();
        while (m_error.empty() && peek() == "OR") {
            ++m_pos;
            and_expr();
        }
    }
    void and_expr() {
        term();
        while (m_error.empty() && peek() == "AND") {
            ++m_pos;
            term();
        }
    }
    void term() {
        if (peek() == "(") {
            ++m_pos;
            expr();
            if (m_error.empty() && peek() != ")") m_error = "missing )";
            ++m_pos;
            return;
        }
        simple();
        if (m_error.empty() && peek() == "WITH") {
            ++m_pos;
            std::string exception = peek();
            ++m_pos;
            if (!spdx_list().contains(exception)) m_error = "unknown exception " + exception;
        }
    }
    void simple() {
        std::string id = peek();
        ++m_pos;
        if (id.starts_with("LicenseRef-")) {
            bool ok = id.size() > 11 && std::all_of(id.begin() + 11, id.end(), [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
                      });
            if (!ok) m_error = "bad LicenseRef " + id;
            return;
        }
        if (id.ends_with('+')) id.pop_back();
        if (!spdx_list().contains(id)) m_error = "not an SPDX license id: \"" + id + "\"";
    }

    std::vector<std::string> m_tokens;
    std::size_t m_pos = 0;
    std::string m_error;
};

std::string check(std::string_view expression) { return ExpressionChecker(expression).check(); }

TEST(ExpressionChecker, RejectsWhatIsNotSpdx) {
    EXPECT_EQ(check("MIT"), "");
    EXPECT_EQ(check("(MIT OR Apache-2.0) AND GPL-2.0-only WITH Classpath-exception-2.0"), "");
    EXPECT_NE(check("GPL-2+"), "");
    EXPECT_NE(check("MIT AND"), "");
    EXPECT_NE(check("(MIT"), "");
    EXPECT_NE(check("LicenseRef-a_b"), "");
    EXPECT_NE(check("GPL-2.0-only WITH OpenSSL-exception"), "");
}

// --- Debian short names ------------------------------------------------------

TEST(DebianLicense, ShortNamesMapToSpdxIds) {
    EXPECT_EQ(expression("GPL-2+"), "GPL-2.0-or-later");
    EXPECT_EQ(expression("GPL-2"), "GPL-2.0-only");
    EXPECT_EQ(expression("GPL-3.0+"), "GPL-3.0-or-later");
    EXPECT_EQ(expression("GPL-2.0+"), "GPL-2.0-or-later");  // the deprecated SPDX spelling, normalised
    EXPECT_EQ(expression("LGPL-2.1+"), "LGPL-2.1-or-later");
    EXPECT_EQ(expression("LGPL-2+"), "LGPL-2.0-or-later");
    EXPECT_EQ(expression("LGPL-3.0"), "LGPL-3.0-only");
    EXPECT_EQ(expression("AGPL-3+"), "AGPL-3.0-or-later");
    EXPECT_EQ(expression("GFDL-1.2+"), "GFDL-1.2-or-later");
    EXPECT_EQ(expression("GFDL-NIV-1.3+"), "GFDL-1.3-no-invariants-or-later");
    EXPECT_EQ(expression("Expat"), "MIT");
    EXPECT_EQ(expression("expat"), "MIT");
    EXPECT_EQ(expression("BSD-3-clause"), "BSD-3-Clause");
    EXPECT_EQ(expression("BSD-2-clause"), "BSD-2-Clause");
    EXPECT_EQ(expression("Apache-2.0"), "Apache-2.0");
    EXPECT_EQ(expression("Apache-2"), "Apache-2.0");
    EXPECT_EQ(expression("Artistic"), "Artistic-1.0-Perl");
    EXPECT_EQ(expression("PSF-2"), "PSF-2.0");
    EXPECT_EQ(expression("Zlib"), "Zlib");
    EXPECT_EQ(expression("zlib"), "Zlib");
    EXPECT_EQ(expression("ISC"), "ISC");
    EXPECT_EQ(expression("MPL-2.0"), "MPL-2.0");
    EXPECT_EQ(expression("MPL-1.1+"), "MPL-1.1+");  // SPDX's own "or later" operator
    EXPECT_EQ(expression("CDDL-1"), "CDDL-1.0");
    EXPECT_EQ(expression("OpenLDAP-2.8"), "OLDAP-2.8");
    EXPECT_EQ(expression("curl"), "curl");
    EXPECT_EQ(expression("public-domain"), "LicenseRef-public-domain");
    std::vector<std::string> unknown;
    EXPECT_EQ(debian_license_expression("Public-Domain", unknown), "LicenseRef-public-domain");
    EXPECT_EQ(unknown, std::vector<std::string>{"public-domain"});  // the name its LicenseRef is made of
}

TEST(DebianLicense, MissingVersionMeansTheLowest) {
    // copyright-format 1.0: "If omitted, the lowest version number is implied."
    EXPECT_EQ(expression("GPL"), "GPL-1.0-only");
    EXPECT_EQ(expression("GPL+"), "GPL-1.0-or-later");
    EXPECT_EQ(expression("LGPL"), "LGPL-2.0-only");
    EXPECT_EQ(expression("CC0"), "CC0-1.0");
    EXPECT_EQ(expression("Apache"), "Apache-1.0");
    EXPECT_EQ(expression("Artistic-1"), "Artistic-1.0-Perl");
    // "Perl" is spelled out by the format as "GPL-1+ or Artistic-1".
    EXPECT_EQ(expression("Perl"), "Artistic-1.0-Perl OR GPL-1.0-or-later");
}

TEST(DebianLicense, ExceptionsOnlyWhereSpdxHasTheText) {
    EXPECT_EQ(expression("GPL-3+ with Bison exception"), "GPL-3.0-or-later WITH Bison-exception-2.2");
    EXPECT_EQ(expression("GPL-2+ with Libtool exception"), "GPL-2.0-or-later WITH Libtool-exception");
    EXPECT_EQ(expression("GPL-2+ with Font exception"), "GPL-2.0-or-later WITH Font-exception-2.0");
    EXPECT_EQ(expression("GPL-2 with Linux-syscall-note exception"), "GPL-2.0-only WITH Linux-syscall-note");
    EXPECT_EQ(expression("Apache-2.0 with LLVM exception"), "Apache-2.0 WITH LLVM-exception");
    EXPECT_EQ(expression("GPL-3+ with GCC-Runtime-3.1 exception"), "GPL-3.0-or-later WITH GCC-exception-3.1");
    EXPECT_EQ(expression("GPL-3+ with texinfo exception"), "GPL-3.0-or-later WITH Texinfo-exception");
    // No SPDX exception has these texts: the whole name is a LicenseRef.
    std::vector<std::string> unknown;
    EXPECT_EQ(debian_license_expression("GPL-2+ with OpenSSL exception", unknown),
              "LicenseRef-GPL-2-or-later-with-OpenSSL-exception");
    EXPECT_EQ(debian_license_expression("GPL-2+ with Autoconf exception", unknown),
              "LicenseRef-GPL-2-or-later-with-Autoconf-exception");
    EXPECT_EQ(debian_license_expression("GPL-2+ with Texinfo exception", unknown),
              "LicenseRef-GPL-2-or-later-with-Texinfo-exception");
    EXPECT_EQ(debian_license_expression("LGPL-2.1+ with staticLink exception", unknown),
              "LicenseRef-LGPL-2.1-or-later-with-staticLink-exception");
    EXPECT_EQ(unknown, (std::vector<std::string>{"GPL-2+ with OpenSSL exception", "GPL-2+ with Autoconf exception",
                                                  "GPL-2+ with Texinfo exception",
                                                  "LGPL-2.1+ with staticLink exception"}));
}

TEST(DebianLicense, OrAndAndCommaFollowTheFormatsPrecedence) {
    EXPECT_EQ(expression("GPL-1+ or Artistic"), "Artistic-1.0-Perl OR GPL-1.0-or-later");
    // "A or B and C" means "A or (B and C)".
    EXPECT_EQ(expression("GPL-2+ or BSD-3-clause and Expat"), "(BSD-3-Clause AND MIT) OR GPL-2.0-or-later");
    // "A or B, and C" means "(A or B) and C".
    EXPECT_EQ(expression("GPL-2+ or Artistic-2.0, and BSD-3-clause"),
              "(Artistic-2.0 OR GPL-2.0-or-later) AND BSD-3-Clause");
    EXPECT_EQ(expression("GPL-1+ or Artistic, and BSD-4-clause-UC"),
              "(Artistic-1.0-Perl OR GPL-1.0-or-later) AND BSD-4-Clause-UC");
    EXPECT_EQ(expression("libpng OR Apache-2.0 OR BSD-3-clause"), "Apache-2.0 OR BSD-3-Clause OR Libpng");
    EXPECT_EQ(expression("Apache-2.0 and/or Expat"), "Apache-2.0 OR MIT");
    EXPECT_EQ(expression("MIT, BSD-3-clause"), "BSD-3-Clause AND MIT");
    // Duplicates collapse, operands are sorted.
    EXPECT_EQ(expression("Zlib and GPL-2+ and Zlib"), "GPL-2.0-or-later AND Zlib");
    EXPECT_EQ(expression("GPL-2+ or GPL-2+"), "GPL-2.0-or-later");
    EXPECT_EQ(expression(""), "");
    EXPECT_EQ(expression("  or , and "), "");
}

TEST(DebianLicense, UnknownNamesBecomeSanitisedLicenseRefs) {
    EXPECT_EQ(license_ref("MIT/X11"), "LicenseRef-MIT-X11");
    EXPECT_EQ(license_ref("BSD-3-Viag\xc3\xa9nie"), "LicenseRef-BSD-3-Viag-nie");
    EXPECT_EQ(license_ref("GPL-3+-WITH-BISON-EXCEPTION"), "LicenseRef-GPL-3-WITH-BISON-EXCEPTION");
    EXPECT_EQ(license_ref("OpenSSL+SSLeay"), "LicenseRef-OpenSSL-SSLeay");
    EXPECT_EQ(license_ref("__AUTO_PERMISSIVE__"), "LicenseRef-AUTO-PERMISSIVE");
    EXPECT_EQ(license_ref("\x01\xff"), "LicenseRef-unknown");
    std::vector<std::string> unknown;
    EXPECT_EQ(debian_license_expression("MIT/X Consortium License", unknown), "LicenseRef-MIT-X-Consortium-License");
    EXPECT_EQ(unknown, std::vector<std::string>{"MIT/X Consortium License"});
}

TEST(SpdxLicenseList, FindsIdsIgnoringCase) {
    EXPECT_EQ(spdx_license_id("zlib"), "Zlib");
    EXPECT_EQ(spdx_license_id("gpl-2.0-only"), "GPL-2.0-only");
    EXPECT_EQ(spdx_license_id("0BSD"), "0BSD");
    EXPECT_EQ(spdx_license_id("ZPL-2.1"), "ZPL-2.1");
    EXPECT_EQ(spdx_license_id("GPL-2.0+"), std::nullopt);  // deprecated
    EXPECT_EQ(spdx_license_id("Expat"), std::nullopt);
    EXPECT_EQ(spdx_license_id(""), std::nullopt);
}

TEST(SpdxLicenseList, AgreesWithTheCycloneDxSchemasList) {
    // Every id the table knows is on the official list, and the table knows
    // (nearly) all of it: the list also holds exceptions and deprecated ids.
    std::size_t found = 0;
    for (const auto& id : spdx_list()) {
        auto known = spdx_license_id(id);
        if (!known) continue;
        ++found;
        EXPECT_EQ(*known, id);
        std::string lowered = id;
        std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return std::tolower(c); });
        EXPECT_EQ(spdx_license_id(lowered), id);
    }
    EXPECT_GE(found, 690u);
}

// --- Whole copyright files -----------------------------------------------------

TEST(CopyrightFile, Dep5FilesParagraphsAndHeader) {
    std::string text = std::string(Format) +
                       "Upstream-Name: demo\n"
                       "License: GPL-2+\n"
                       "\n"
                       "Files: *\n"
                       "Copyright: 2020 Someone\n"
                       "License: Expat\n"
                       " Permission is hereby granted...\n"
                       " .\n"
                       " More text.\n"
                       "\n"
                       "Files: lib/*\n"
                       "Copyright: 2021 Someone Else\n"
                       "License: LGPL-2.1+ or MPL-1.1, and BSD-3-clause\n"
                       "\n"
                       "Files: debian/*\n"
                       "License: GPL-2+ with OpenSSL exception\n"
                       "\n"
                       "License: Zlib\n"
                       " A stand-alone license paragraph only holds text: Zlib applies to no file.\n";
    LicenseInfo info = license_from_copyright(text);
    EXPECT_TRUE(info.machine_readable);
    EXPECT_EQ(info.expression,
              "(LGPL-2.1-or-later OR MPL-1.1) AND BSD-3-Clause AND GPL-2.0-or-later AND "
              "LicenseRef-GPL-2-or-later-with-OpenSSL-exception AND MIT");
    EXPECT_EQ(info.unknown, std::vector<std::string>{"GPL-2+ with OpenSSL exception"});
    EXPECT_EQ(check(info.expression), "");
}

TEST(CopyrightFile, FreeFormTextIsNoAssertion) {
    LicenseInfo info = license_from_copyright(
        "This is the Debian prepackaged version of something.\n\nLicense: GPL-2+\nFiles: *\n");
    EXPECT_FALSE(info.machine_readable);
    EXPECT_EQ(info.expression, "NOASSERTION");
    EXPECT_TRUE(info.unknown.empty());
    EXPECT_EQ(license_from_copyright("").expression, "NOASSERTION");
    // A Format that is not DEP-5 is not trusted either.
    EXPECT_EQ(license_from_copyright("Format: https://example.org/other-format\n\nFiles: *\nLicense: MIT\n").expression,
              "NOASSERTION");
}

TEST(CopyrightFile, Dep5WithoutLicensesIsNoAssertion) {
    LicenseInfo info = license_from_copyright(std::string(Format) + "\nFiles: *\nCopyright: nobody\n");
    EXPECT_TRUE(info.machine_readable);
    EXPECT_EQ(info.expression, "NOASSERTION");
}

TEST(CopyrightFile, DraftDep5FormatsAndCrlfLines) {
    // Files written against the DEP-5 drafts before copyright-format 1.0.
    LicenseInfo draft = license_from_copyright(
        "Format: http://example.org/deps/dep5\r\n\r\nFiles: *\r\nLicense: BSD-2-clause\r\n");
    EXPECT_TRUE(draft.machine_readable);
    EXPECT_EQ(draft.expression, "BSD-2-Clause");
    LicenseInfo specification = license_from_copyright(
        "Format-Specification: http://example.org/wsvn/dep/web/deps/dep5.mdwn?op=file&rev=135\n\n"
        "Files: *\nLicense: GPL-3+\n");
    EXPECT_EQ(specification.expression, "GPL-3.0-or-later");
}

// The copyright files of this machine's packages, read where dpkg installed
// them (they are not copied into the repository).
std::optional<std::string> installed_copyright(const std::string& package) {
    fs::path path = fs::path("/usr/share/doc") / package / "copyright";
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    return util::read_file(path);
}

TEST(CopyrightFile, RealFilesOfThisMachine) {
    struct Case {
        const char* package;
        const char* expression;
        bool machine_readable;
    };
    const Case cases[] = {
        {"zlib1g", "Zlib", true},
        {"libexpat1", "MIT", true},
        {"tzdata", "LicenseRef-public-domain", true},
        {"ca-certificates", "GPL-2.0-or-later AND MPL-2.0", true},
        {"libssl3", "(Artistic-1.0-Perl OR GPL-1.0-or-later) AND Apache-2.0", true},
        {"libzstd1", "(BSD-3-Clause OR GPL-2.0-only) AND MIT AND Zlib", true},
        {"coreutils", "BSD-4-Clause-UC AND FSFULLR AND GFDL-1.3-no-invariants-only AND GPL-3.0-or-later AND ISC",
         true},
        {"bash",
         "BSD-4-Clause-UC AND GFDL-1.3-no-invariants-only AND GPL-2.0-or-later AND GPL-3.0-or-later AND "
         "GPL-3.0-or-later WITH Bison-exception-2.2 AND Latex2e AND LicenseRef-MIT-like AND LicenseRef-permissive",
         true},
        {"curl",
         "BSD-3-Clause AND BSD-4-Clause-UC AND FSFULLR AND GPL-2.0-or-later WITH Libtool-exception AND ISC AND "
         "LicenseRef-GPL-2-or-later-with-Autoconf-data-exception AND "
         "LicenseRef-GPL-3-or-later-with-Autoconf-data-exception AND OLDAP-2.8 AND X11 AND curl",
         true},
        {"libc6", "NOASSERTION", false},       // free-form text
        {"python3.11", "NOASSERTION", false},  // free-form text
    };
    int checked = 0;
    for (const auto& c : cases) {
        auto text = installed_copyright(c.package);
        if (!text) continue;
        ++checked;
        LicenseInfo info = license_from_copyright(*text);
        EXPECT_EQ(info.expression, c.expression) << c.package;
        EXPECT_EQ(info.machine_readable, c.machine_readable) << c.package;
    }
    if (checked == 0) GTEST_SKIP() << "none of the packages is installed here";
    EXPECT_GE(checked, 6) << "zlib1g, libc6, coreutils, bash, tzdata and libzstd1 are part of every Debian system";
}

// Every copyright file on this machine gives NOASSERTION or a valid SPDX
// expression, each LicenseRef in it names an entry of `unknown`, and the
// SPDX writer's own check agrees.
TEST(CopyrightFile, EveryFileOfThisMachineGivesAValidExpression) {
    std::error_code ec;
    std::size_t files = 0, machine_readable = 0, with_refs = 0;
    for (const auto& dir : fs::directory_iterator("/usr/share/doc", ec)) {
        fs::path path = dir.path() / "copyright";
        if (!fs::is_regular_file(path, ec)) continue;
        std::string text = util::read_file(path);
        LicenseInfo info = license_from_copyright(text);
        ++files;
        if (info.machine_readable) ++machine_readable;
        EXPECT_EQ(check(info.expression), "") << path << ": " << info.expression;
        EXPECT_TRUE(is_license_expression(info.expression)) << path << ": " << info.expression;
        std::set<std::string> declared;
        for (const auto& name : info.unknown) declared.insert(license_ref(name));
        for (const auto& ref : license_refs(info.expression)) EXPECT_TRUE(declared.contains(ref)) << path << ": " << ref;
        if (!info.unknown.empty()) ++with_refs;
        if (!info.machine_readable) {
            EXPECT_EQ(info.expression, "NOASSERTION") << path;
        }
    }
    if (files == 0) GTEST_SKIP() << "no /usr/share/doc/*/copyright here";
    EXPECT_GT(machine_readable, 0u);
    EXPECT_GT(with_refs, 0u);
}

TEST(CopyrightFile, DamagedFilesNeverBreakIt) {
    // Every prefix (a truncated file) and byte-flipped copies of a DEP-5 file.
    std::string text = std::string(Format) +
                       "\nFiles: *\nLicense: GPL-2+ or Artistic, and BSD-3-clause\n text\n"
                       "\nFiles: x\nLicense: GPL-2+ with Font exception\n";
    for (std::size_t n = 0; n <= text.size(); ++n) {
        LicenseInfo info = license_from_copyright(text.substr(0, n));
        EXPECT_EQ(check(info.expression), "") << n << ": " << info.expression;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        for (char junk : {'\0', '\n', ',', '(', '\xff', ' ', '+'}) {
            std::string damaged = text;
            damaged[i] = junk;
            LicenseInfo info = license_from_copyright(damaged);
            EXPECT_EQ(check(info.expression), "") << i << ": " << info.expression;
        }
    }
}

}  // namespace
}  // namespace slate::sbom
