#include <gtest/gtest.h>

#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

TEST(Cli, PrintsVersion) {
    auto r = util::run_process({slate_binary().string(), "--version"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("slate"), std::string::npos);
}

TEST(Cli, NoCommandIsAUsageError) {
    auto r = util::run_process({slate_binary().string()});
    EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, UnknownFlagIsAUsageError) {
    auto r = util::run_process({slate_binary().string(), "deb", "--no-such-flag"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_FALSE(r.err.empty());
}

}  // namespace
}  // namespace slate::test
