#include <gtest/gtest.h>

#include "slate/deb/deb822.hpp"
#include "slate/deb/relation.hpp"
#include "slate/error.hpp"

namespace slate::deb {
namespace {

TEST(Deb822, ReadsParagraphsFieldsAndContinuations) {
    const std::string text =
        "Package: hello\n"
        "Version: 1.0-1\n"
        "Description: short\n"
        " long line one\n"
        " .\n"
        " long line two\n"
        "\n"
        "\n"
        "package: second\n"
        "Depends: a,\n"
        "  b\n";
    Deb822Reader reader(text, "Packages");
    Paragraph p;
    ASSERT_TRUE(reader.next(p));
    EXPECT_EQ(p.line(), 1u);
    EXPECT_EQ(p.get("Package"), "hello");
    EXPECT_EQ(p.get("version"), "1.0-1");  // field names are case-insensitive
    EXPECT_EQ(p.get("Description"), "short\n long line one\n .\n long line two");
    ASSERT_TRUE(reader.next(p));
    EXPECT_EQ(p.line(), 9u);
    EXPECT_EQ(p.get("Package"), "second");
    EXPECT_EQ(p.get("Depends"), "a,\n  b");
    EXPECT_FALSE(p.get("Missing"));
    EXPECT_FALSE(reader.next(p));
}

TEST(Deb822, CommentsAndCrLfAndTrailingBlanks) {
    Deb822Reader reader("# a comment\nTypes: deb\r\nURIs:   http://x/  \r\n\r\n", "x.sources");
    Paragraph p;
    ASSERT_TRUE(reader.next(p));
    EXPECT_EQ(p.get("Types"), "deb");
    EXPECT_EQ(p.get("URIs"), "http://x/");
    EXPECT_FALSE(reader.next(p));
}

TEST(Deb822, MalformedLineNamesFileAndLine) {
    Deb822Reader reader("Package: a\nthis is not a field\n", "Packages");
    Paragraph p;
    try {
        reader.next(p);
        FAIL() << "expected a parse error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Parse);
        EXPECT_NE(e.message().find("Packages:2"), std::string::npos) << e.message();
    }
}

TEST(Deb822, ContinuationWithoutFieldIsAnError) {
    Deb822Reader reader(" orphan\n", "Packages");
    Paragraph p;
    EXPECT_THROW(reader.next(p), Error);
}

TEST(Relations, AlternativesVersionsAndQualifiers) {
    auto groups = parse_relations("libc6 (>= 2.34), a | b:any (<< 2~), c:amd64, d (= 1:2.0-1)", "amd64", "t");
    ASSERT_EQ(groups.size(), 4u);
    EXPECT_EQ(groups[0][0].name, "libc6");
    EXPECT_EQ(groups[0][0].op, VersionOp::GreaterEq);
    EXPECT_EQ(groups[0][0].version, "2.34");
    ASSERT_EQ(groups[1].size(), 2u);
    EXPECT_EQ(groups[1][1].name, "b");
    EXPECT_EQ(groups[1][1].arch_qualifier, "any");
    EXPECT_EQ(groups[1][1].op, VersionOp::Less);
    EXPECT_EQ(groups[1][1].version, "2~");
    EXPECT_EQ(groups[2][0].arch_qualifier, "amd64");
    EXPECT_EQ(groups[3][0].version, "1:2.0-1");
    EXPECT_EQ(groups[3][0].to_string(), "d (= 1:2.0-1)");
}

TEST(Relations, ArchitectureRestrictionsAndProfiles) {
    auto groups = parse_relations("x [amd64], y [!amd64], z [arm64 amd64] <!nocheck>, w (>= 1) [i386] | v", "amd64", "t");
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(groups[0][0].name, "x");
    EXPECT_EQ(groups[1][0].name, "z");
    ASSERT_EQ(groups[2].size(), 1u);
    EXPECT_EQ(groups[2][0].name, "v");
}

TEST(Relations, EmptyFieldAndMalformedRelation) {
    EXPECT_TRUE(parse_relations("", "amd64", "t").empty());
    EXPECT_THROW(parse_relations("a (>> )", "amd64", "t"), Error);
    EXPECT_THROW(parse_relations("a (~= 1)", "amd64", "t"), Error);
    EXPECT_THROW(parse_relations("a junk", "amd64", "t"), Error);
}

TEST(Relations, SourceField) {
    auto plain = parse_source_field("foo");
    EXPECT_EQ(plain.name, "foo");
    EXPECT_EQ(plain.version, "");
    auto binnmu = parse_source_field("hello (1.0-1)");
    EXPECT_EQ(binnmu.name, "hello");
    EXPECT_EQ(binnmu.version, "1.0-1");
}

}  // namespace
}  // namespace slate::deb
