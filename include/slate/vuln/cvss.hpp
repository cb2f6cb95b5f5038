#pragma once
// CVSS scores from vector strings, as OSV records and NVD give them:
//   "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"          (v3.1, and v3.0 with "CVSS:3.0/")
//   "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
//   "AV:N/AC:L/Au:N/C:P/I:P/A:P"                            (v2: no prefix; NVD's "(...)" also accepted)
//
// What is computed, per FIRST's specifications:
//   - v2: the base equation of the CVSS v2 guide (section 3.2.1).
//   - v3.0 / v3.1: the base score (specification section 7.1), with 3.1's
//     Roundup defined on integers (Appendix A) and 3.0's plain "round up to
//     one decimal". Temporal and environmental metrics are checked but do not
//     change the score.
//   - v4.0: the score of the specification's section "CVSS v4.0 Scoring"
//     (macrovectors EQ1..EQ6, their published scores, interpolation by
//     severity distance), matching FIRST's reference calculator. v4.0 has a
//     single score: threat (E) and environmental (CR/IR/AR, M*) metrics, when
//     given, are part of it, exactly as the calculator computes them; the
//     result is then CVSS-BT, CVSS-BE or CVSS-BTE (see `nomenclature`).
//     Supplemental metrics never change it.
//
// Parsing is strict about content and lenient about order: each metric may
// appear at most once, every metric and value must be one the version
// defines (values are case-sensitive, as the specifications write them), and
// every base metric must be present; metrics may come in any order.
// Surrounding blanks are ignored. Runs for every OSV record at import, so it
// does no regex matching and allocates only the result.

#include <optional>
#include <string>
#include <string_view>

#include "slate/vuln/advisory.hpp"

namespace slate::vuln {

struct CvssScore {
    int major = 0;            // 2, 3 or 4
    int minor = 0;            // 0 or 1 (3.1)
    double base_score = 0.0;  // 0.0 .. 10.0, one decimal
    Severity rating = Severity::Unknown;  // cvss_rating(base_score, major)
    std::string vector;       // the vector as given, without surrounding blanks or v2 parentheses
    // v4.0 only: which metric groups the score includes, as the v4.0
    // specification names it ("CVSS-B", "CVSS-BT", "CVSS-BE", "CVSS-BTE");
    // empty for v2 and v3, whose score here is always the base score.
    std::string nomenclature;
};

// The score of a CVSS vector; nullopt for a malformed one, and then, when
// `error` is given, a one-line reason naming the offending part, e.g.
// "CVSS:3.1 vector has no value for base metric 'A'" or
// "CVSS:4.0 metric 'AV' has no value 'X' (expected N, A, L or P)".
std::optional<CvssScore> score_cvss(std::string_view vector, std::string* error = nullptr);

// The specifications' qualitative rating of a score:
//   v3/v4 (major 3 or 4): 0.0 Negligible (the spec's "None"), 0.1-3.9 Low,
//                         4.0-6.9 Medium, 7.0-8.9 High, 9.0-10.0 Critical.
//   v2 (major 2, NVD's scale): 0.0-3.9 Low, 4.0-6.9 Medium, 7.0-10.0 High.
// Unknown for any other major version, or a score outside 0..10.
Severity cvss_rating(double score, int major);

}  // namespace slate::vuln
