#include "slate/vuln/ignore.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <ctime>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"

namespace slate::vuln {
namespace {

const char* const Hint = "see docs/scan.md for the format of .slateignore.yaml";

[[noreturn]] void fail(const std::string& origin, const YAML::Node& node, const std::string& why) {
    int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    throw Error(ErrorCode::Config, line > 0 ? fmt::format("{}:{}: {}", origin, line, why) : fmt::format("{}: {}", origin, why),
                Hint);
}

std::string scalar(const std::string& origin, const YAML::Node& node, const char* key) {
    if (!node.IsScalar()) fail(origin, node, fmt::format("\"{}\" must be a string", key));
    return node.Scalar();
}

// "2027-03-31" -> the first second of 2027-04-01 UTC; nullopt when not a real date.
std::optional<std::int64_t> end_of_day(const std::string& date) {
    int year = 0, month = 0, day = 0;
    char trailing = 0;
    if (date.size() != 10 || std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &year, &month, &day, &trailing) != 3)
        return std::nullopt;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    std::time_t start = timegm(&tm);
    // timegm normalises 2027-02-30 to March: refuse dates that do not exist.
    std::tm check{};
    gmtime_r(&start, &check);
    if (check.tm_year != year - 1900 || check.tm_mon != month - 1 || check.tm_mday != day) return std::nullopt;
    return static_cast<std::int64_t>(start) + 86400;
}

IgnoreRule parse_rule(const std::string& origin, const YAML::Node& node) {
    if (!node.IsMap()) fail(origin, node, "each ignore rule must be a map with id, package, state, reason, expires");
    IgnoreRule rule;
    rule.line = node.Mark().line + 1;
    for (const auto& item : node) {
        std::string key = item.first.as<std::string>();
        const YAML::Node& value = item.second;
        if (key == "id" || key == "vulnerability") {
            rule.id = scalar(origin, value, "id");
        } else if (key == "package") {
            rule.package = scalar(origin, value, "package");
        } else if (key == "state" || key == "fix-state") {
            std::string state = scalar(origin, value, "state");
            rule.state = parse_fix_state(state);
            if (!rule.state)
                fail(origin, value,
                     fmt::format("unknown state \"{}\": use fixed, not-fixed, wont-fix, fix-deferred, end-of-life or "
                                 "undetermined",
                                 state));
        } else if (key == "reason") {
            rule.reason = scalar(origin, value, "reason");
        } else if (key == "expires") {
            rule.expires = scalar(origin, value, "expires");
            auto at = end_of_day(rule.expires);
            if (!at) fail(origin, value, fmt::format("\"expires: {}\" is not a date: write YYYY-MM-DD", rule.expires));
            rule.expires_at = *at;
        } else {
            fail(origin, item.first,
                 fmt::format("unknown key \"{}\" in an ignore rule: use id, package, state, reason, expires", key));
        }
    }
    if (rule.id.empty() && rule.package.empty() && !rule.state)
        fail(origin, node, "an ignore rule must name at least one of id, package and state");
    if (rule.reason.empty()) fail(origin, node, fmt::format("the rule for {} has no reason: say why it is accepted", rule.describe()));
    return rule;
}

}  // namespace

std::string IgnoreRule::describe() const {
    std::string out = id.empty() ? "any vulnerability" : id;
    if (!package.empty()) out += " in " + package;
    if (state) out += fmt::format(" (state {})", to_string(*state));
    return out;
}

IgnoreRules parse_ignore_rules(std::string_view yaml, const std::string& origin) {
    IgnoreRules rules;
    rules.origin = origin;
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        throw Error(ErrorCode::Config, fmt::format("{}:{}: not valid YAML: {}", origin, e.mark.line + 1, e.msg), Hint);
    }
    if (root.IsNull()) return rules;  // an empty file ignores nothing
    if (!root.IsMap()) fail(origin, root, "the file must be a map with an `ignore:` list");
    for (const auto& item : root) {
        std::string key = item.first.as<std::string>();
        if (key != "ignore") fail(origin, item.first, fmt::format("unknown key \"{}\": the file has one key, `ignore`", key));
        if (item.second.IsNull()) continue;
        if (!item.second.IsSequence()) fail(origin, item.second, "`ignore` must be a list of rules");
        for (const auto& rule : item.second) rules.rules.push_back(parse_rule(origin, rule));
    }
    return rules;
}

IgnoreRules read_ignore_file(const std::string& path) { return parse_ignore_rules(util::read_file(path), path); }

const IgnoreRule* ignore_rule_for(const IgnoreRules& rules, const Finding& finding, std::int64_t now) {
    for (const auto& rule : rules.rules) {
        if (rule.expired(now)) continue;
        if (!rule.id.empty() && rule.id != finding.vulnerability &&
            std::find(finding.aliases.begin(), finding.aliases.end(), rule.id) == finding.aliases.end())
            continue;
        if (!rule.package.empty() && rule.package != finding.package && rule.package != finding.source) continue;
        if (rule.state && *rule.state != finding.state) continue;
        return &rule;
    }
    return nullptr;
}

}  // namespace slate::vuln
