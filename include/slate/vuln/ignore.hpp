#pragma once
// .slateignore.yaml: findings a team has decided to accept, each with a
// reason and, optionally, an expiry date after which the rule stops applying.
//
//   ignore:
//     - id: CVE-2023-4911        # the vulnerability or one of its aliases
//       package: libc6           # optional: a binary or source package name
//       state: wont-fix          # optional: only findings in this fix state
//       reason: not reachable, no setuid binaries in the image   # required
//       expires: 2027-03-31      # optional, YYYY-MM-DD (UTC); the rule applies until that day ends
//
// A rule needs at least one of id, package and state.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/vuln/advisory.hpp"
#include "slate/vuln/report.hpp"

namespace slate::vuln {

struct IgnoreRule {
    std::string id;
    std::string package;
    std::optional<FixState> state;
    std::string reason;
    std::string expires;          // as written, "2027-03-31"; empty: never
    std::int64_t expires_at = 0;  // the first second after that day (UTC); 0: never
    int line = 0;                 // where the rule starts in the file
    bool expired(std::int64_t now) const { return expires_at != 0 && now >= expires_at; }
    std::string describe() const;  // "CVE-2023-4911 in libc6 (state wont-fix)"
};

struct IgnoreRules {
    std::string origin;  // the file
    std::vector<IgnoreRule> rules;
    bool empty() const { return rules.empty(); }
};

// Throws slate::Error(Config) naming the file and line for anything malformed:
// not YAML, no `ignore` list, an unknown key, a rule without a reason or
// without id/package/state, an unknown state, a bad date.
IgnoreRules parse_ignore_rules(std::string_view yaml, const std::string& origin);
IgnoreRules read_ignore_file(const std::string& path);

// The first rule that is in force at `now` and covers `finding`, or nullptr.
const IgnoreRule* ignore_rule_for(const IgnoreRules& rules, const Finding& finding, std::int64_t now);

}  // namespace slate::vuln
