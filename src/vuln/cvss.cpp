#include "slate/vuln/cvss.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <span>

namespace slate::vuln {
namespace {

// ---------------------------------------------------------------------------
// Metric definitions and parsing, shared by all versions.

// One metric of a version: its abbreviation and its values, in the order the
// specification lists them (the scoring code below indexes them in this
// order). `mandatory` marks base metrics, which every vector must give.
struct MetricDef {
    std::string_view name;
    std::array<std::string_view, 6> values{};
    bool mandatory = false;
};

constexpr std::size_t MaxMetrics = 32;  // v4.0 has the most: 11 base + 1 threat + 14 environmental + 6 supplemental
// The index into MetricDef::values chosen for each metric, -1 when absent.
using Chosen = std::array<std::int8_t, MaxMetrics>;

// clang-format off
// CVSS v2 guide, section 2 (base, temporal, environmental).
namespace v2 { enum : std::uint8_t { AV, AC, Au, C, I, A }; }
constexpr std::array<MetricDef, 14> V2Metrics{{
    {"AV", {"L", "A", "N"}, true},
    {"AC", {"H", "M", "L"}, true},
    {"Au", {"M", "S", "N"}, true},
    {"C", {"N", "P", "C"}, true},
    {"I", {"N", "P", "C"}, true},
    {"A", {"N", "P", "C"}, true},
    {"E", {"U", "POC", "F", "H", "ND"}},
    {"RL", {"OF", "TF", "W", "U", "ND"}},
    {"RC", {"UC", "UR", "C", "ND"}},
    {"CDP", {"N", "L", "LM", "MH", "H", "ND"}},
    {"TD", {"N", "L", "M", "H", "ND"}},
    {"CR", {"L", "M", "H", "ND"}},
    {"IR", {"L", "M", "H", "ND"}},
    {"AR", {"L", "M", "H", "ND"}},
}};

// CVSS v3.0 and v3.1 specifications, section 6 (identical metric sets).
namespace v3 { enum : std::uint8_t { AV, AC, PR, UI, S, C, I, A }; }
constexpr std::array<MetricDef, 22> V3Metrics{{
    {"AV", {"N", "A", "L", "P"}, true},
    {"AC", {"L", "H"}, true},
    {"PR", {"N", "L", "H"}, true},
    {"UI", {"N", "R"}, true},
    {"S", {"U", "C"}, true},
    {"C", {"H", "L", "N"}, true},
    {"I", {"H", "L", "N"}, true},
    {"A", {"H", "L", "N"}, true},
    {"E", {"X", "U", "P", "F", "H"}},
    {"RL", {"X", "O", "T", "W", "U"}},
    {"RC", {"X", "U", "R", "C"}},
    {"CR", {"X", "L", "M", "H"}},
    {"IR", {"X", "L", "M", "H"}},
    {"AR", {"X", "L", "M", "H"}},
    {"MAV", {"X", "N", "A", "L", "P"}},
    {"MAC", {"X", "L", "H"}},
    {"MPR", {"X", "N", "L", "H"}},
    {"MUI", {"X", "N", "R"}},
    {"MS", {"X", "U", "C"}},
    {"MC", {"X", "N", "L", "H"}},
    {"MI", {"X", "N", "L", "H"}},
    {"MA", {"X", "N", "L", "H"}},
}};

// CVSS v4.0 specification, section 7 (Table 23: base, threat,
// environmental, supplemental), values in the order listed there.
namespace v4 {
enum : std::uint8_t {
    AV, AC, AT, PR, UI, VC, VI, VA, SC, SI, SA,
    E,
    CR, IR, AR, MAV, MAC, MAT, MPR, MUI, MVC, MVI, MVA, MSC, MSI, MSA,
    FirstSupplemental,
};
}
constexpr std::array<MetricDef, 32> V4Metrics{{
    {"AV", {"N", "A", "L", "P"}, true},
    {"AC", {"L", "H"}, true},
    {"AT", {"N", "P"}, true},
    {"PR", {"N", "L", "H"}, true},
    {"UI", {"N", "P", "A"}, true},
    {"VC", {"H", "L", "N"}, true},
    {"VI", {"H", "L", "N"}, true},
    {"VA", {"H", "L", "N"}, true},
    {"SC", {"H", "L", "N"}, true},
    {"SI", {"H", "L", "N"}, true},
    {"SA", {"H", "L", "N"}, true},
    {"E", {"X", "A", "P", "U"}},
    {"CR", {"X", "H", "M", "L"}},
    {"IR", {"X", "H", "M", "L"}},
    {"AR", {"X", "H", "M", "L"}},
    {"MAV", {"X", "N", "A", "L", "P"}},
    {"MAC", {"X", "L", "H"}},
    {"MAT", {"X", "N", "P"}},
    {"MPR", {"X", "N", "L", "H"}},
    {"MUI", {"X", "N", "P", "A"}},
    {"MVC", {"X", "H", "L", "N"}},
    {"MVI", {"X", "H", "L", "N"}},
    {"MVA", {"X", "H", "L", "N"}},
    {"MSC", {"X", "H", "L", "N"}},
    {"MSI", {"X", "S", "H", "L", "N"}},
    {"MSA", {"X", "S", "H", "L", "N"}},
    {"S", {"X", "N", "P"}},
    {"AU", {"X", "N", "Y"}},
    {"R", {"X", "A", "U", "I"}},
    {"V", {"X", "D", "C"}},
    {"RE", {"X", "L", "M", "H"}},
    {"U", {"X", "Clear", "Green", "Amber", "Red"}},
}};
// clang-format on

bool fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return false;
}

std::string quoted(std::string_view text) {
    std::string out = "'";
    out += text;
    out += '\'';
    return out;
}

// "N, A, L or P"
std::string expected_values(const MetricDef& def) {
    std::string out;
    std::size_t count = 0;
    while (count < def.values.size() && !def.values[count].empty()) ++count;
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0) out += i + 1 == count ? " or " : ", ";
        out += def.values[i];
    }
    return out;
}

// Splits "M1:V1/M2:V2/..." and records each metric's value index in
// `chosen`. `label` names the version in messages ("CVSS:3.1", "CVSS v2").
bool parse_metrics(std::string_view body, std::span<const MetricDef> defs, std::string_view label, Chosen& chosen,
                   std::string* error) {
    chosen.fill(-1);
    // Built only for a message, so that a good vector allocates nothing here.
    const auto prefix = [label] { return std::string(label) + " vector "; };
    if (body.empty()) return fail(error, prefix() + "has no metrics");
    std::size_t pos = 0;
    while (pos <= body.size()) {
        std::size_t end = body.find('/', pos);
        if (end == std::string_view::npos) end = body.size();
        const std::string_view part = body.substr(pos, end - pos);
        pos = end + 1;
        if (part.empty()) return fail(error, prefix() + "has an empty metric (a doubled or trailing '/')");
        const std::size_t colon = part.find(':');
        if (colon == std::string_view::npos)
            return fail(error, prefix() + "has " + quoted(part) + " where a METRIC:VALUE pair belongs");
        const std::string_view name = part.substr(0, colon);
        const std::string_view value = part.substr(colon + 1);

        std::size_t m = 0;
        while (m < defs.size() && defs[m].name != name) ++m;
        if (m == defs.size()) return fail(error, prefix() + "has unknown metric " + quoted(name));
        if (chosen[m] >= 0) return fail(error, prefix() + "gives metric " + quoted(name) + " twice");

        const MetricDef& def = defs[m];
        std::size_t v = 0;
        while (v < def.values.size() && !def.values[v].empty() && def.values[v] != value) ++v;
        if (v == def.values.size() || def.values[v].empty())
            return fail(error, std::string(label) + " metric " + quoted(name) + " has no value " + quoted(value) +
                                   " (expected " + expected_values(def) + ")");
        chosen[m] = static_cast<std::int8_t>(v);
    }

    std::string missing;
    std::size_t missing_count = 0;
    for (std::size_t m = 0; m < defs.size(); ++m) {
        if (!defs[m].mandatory || chosen[m] >= 0) continue;
        if (missing_count++ > 0) missing += ", ";
        missing += defs[m].name;
    }
    if (missing_count == 1) return fail(error, prefix() + "has no value for base metric " + quoted(missing));
    if (missing_count > 1) return fail(error, prefix() + "has no value for base metrics " + missing);
    return true;
}

// JavaScript's Math.round (ties toward +infinity), which FIRST's reference
// calculators use: floor(x + 0.5) would round 0.49999999999999994 up.
double round_half_up(double x) {
    const double whole = std::floor(x);
    return x - whole >= 0.5 ? whole + 1.0 : whole;
}

// ---------------------------------------------------------------------------
// CVSS v2: the base equation of the v2 guide, section 3.2.1.

double score_v2(const Chosen& c) {
    constexpr double AccessVector[] = {0.395, 0.646, 1.0};       // L, A, N
    constexpr double AccessComplexity[] = {0.35, 0.61, 0.71};    // H, M, L
    constexpr double Authentication[] = {0.45, 0.56, 0.704};     // M, S, N
    constexpr double ImpactWeight[] = {0.0, 0.275, 0.660};       // N, P, C
    const double conf = ImpactWeight[c[v2::C]];
    const double integ = ImpactWeight[c[v2::I]];
    const double avail = ImpactWeight[c[v2::A]];
    const double impact = 10.41 * (1.0 - (1.0 - conf) * (1.0 - integ) * (1.0 - avail));
    const double exploitability = 20.0 * AccessVector[c[v2::AV]] * AccessComplexity[c[v2::AC]] * Authentication[c[v2::Au]];
    // f(Impact) is 0 when Impact is 0; return 0.0 directly, as the product
    // would be -0.0. Otherwise the smallest result is about 0.8, never negative.
    if (impact == 0.0) return 0.0;
    constexpr double FImpact = 1.176;
    return round_half_up(((0.6 * impact) + (0.4 * exploitability) - 1.5) * FImpact * 10.0) / 10.0;
}

// ---------------------------------------------------------------------------
// CVSS v3.0 / v3.1: specification section 7.1 and Appendix A.

// 3.1's Roundup: the smallest number, to one decimal, equal to or above the
// input, computed on integers so that 4.000000000000001 rounds to 4.0 and not
// 4.1 (v3.1 specification, Appendix A).
double roundup_v31(double input) {
    const auto int_input = static_cast<std::int64_t>(round_half_up(input * 100000.0));
    if (int_input % 10000 == 0) return static_cast<double>(int_input) / 100000.0;
    return (std::floor(static_cast<double>(int_input) / 10000.0) + 1.0) / 10.0;
}

// 3.0's round up: ceil to one decimal on the floating-point value, as the
// 3.0 specification and its calculator define it.
double roundup_v30(double input) { return std::ceil(input * 10.0) / 10.0; }

double score_v3(const Chosen& c, int minor) {
    constexpr double AttackVector[] = {0.85, 0.62, 0.55, 0.2};  // N, A, L, P
    constexpr double AttackComplexity[] = {0.77, 0.44};         // L, H
    constexpr double PrivilegesUnchanged[] = {0.85, 0.62, 0.27};  // N, L, H
    constexpr double PrivilegesChanged[] = {0.85, 0.68, 0.5};     // N, L, H when the scope changes
    constexpr double UserInteraction[] = {0.85, 0.62};          // N, R
    constexpr double ImpactWeight[] = {0.56, 0.22, 0.0};        // H, L, N
    const bool changed = c[v3::S] == 1;

    const double iss = 1.0 - ((1.0 - ImpactWeight[c[v3::C]]) * (1.0 - ImpactWeight[c[v3::I]]) *
                              (1.0 - ImpactWeight[c[v3::A]]));
    const double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15.0) : 6.42 * iss;
    const double privileges = changed ? PrivilegesChanged[c[v3::PR]] : PrivilegesUnchanged[c[v3::PR]];
    const double exploitability =
        8.22 * AttackVector[c[v3::AV]] * AttackComplexity[c[v3::AC]] * privileges * UserInteraction[c[v3::UI]];
    if (impact <= 0.0) return 0.0;
    const double raw = changed ? std::min(1.08 * (impact + exploitability), 10.0) : std::min(impact + exploitability, 10.0);
    return minor == 0 ? roundup_v30(raw) : roundup_v31(raw);
}

// ---------------------------------------------------------------------------
// CVSS v4.0: specification section 8 ("CVSS v4.0 Scoring").
//
// A vector falls into a macrovector: six equivalence classes EQ1..EQ6, each
// a level 0 (most severe) .. 2. FIRST publishes a score for every
// macrovector. The vector's score is its macrovector's score lowered by the
// mean, over the EQs, of (score drop to the next lower macrovector in that
// EQ) x (the vector's severity distance from the macrovector's highest
// severity vector) / (the macrovector's depth in that EQ).
//
// The arithmetic is exact: scores in tenths and severity distances in steps
// are integers, and the mean is one fraction, rounded half up at the end.
// FIRST's calculator first did this in floating point, which rounded some
// x.x5 results down (8.549999... -> 8.5); its maintainers fixed that on
// 2024-11-01 (RedHatProductSecurity/cvss-v4-calculator#67) by lifting the
// value by 1e-6 before rounding half up. The exact fraction gives the same
// result: its denominator is at most n * 5 * 2 * 10 * 6 = 3000 tenths, so no
// value other than a tie lies within 1e-5 tenths below one.

// The macrovector scores, in tenths, keyed "EQ1 EQ2 EQ3 EQ4 EQ5 EQ6".
// Transcribed from the data FIRST publishes with the v4.0 specification
// (FIRSTdotorg/cvss-v4-calculator, cvss_lookup.js). EQ3=2 occurs only with
// EQ6=1, so 270 of the 324 combinations exist.
struct MacroScore {
    const char key[7];
    std::int8_t tenths;
};
// clang-format off
constexpr MacroScore MacroScores[] = {
    {"000000", 100}, {"000001", 99}, {"000010", 98}, {"000011", 95}, {"000020", 95}, {"000021", 92},
    {"000100", 100}, {"000101", 96}, {"000110", 93}, {"000111", 87}, {"000120", 91}, {"000121", 81},
    {"000200", 93}, {"000201", 90}, {"000210", 89}, {"000211", 80}, {"000220", 81}, {"000221", 68},
    {"001000", 98}, {"001001", 95}, {"001010", 95}, {"001011", 92}, {"001020", 90}, {"001021", 84},
    {"001100", 93}, {"001101", 92}, {"001110", 89}, {"001111", 81}, {"001120", 81}, {"001121", 65},
    {"001200", 88}, {"001201", 80}, {"001210", 78}, {"001211", 70}, {"001220", 69}, {"001221", 48},
    {"002001", 92}, {"002011", 82}, {"002021", 72}, {"002101", 79}, {"002111", 69}, {"002121", 50},
    {"002201", 69}, {"002211", 55}, {"002221", 27}, {"010000", 99}, {"010001", 97}, {"010010", 95},
    {"010011", 92}, {"010020", 92}, {"010021", 85}, {"010100", 95}, {"010101", 91}, {"010110", 90},
    {"010111", 83}, {"010120", 84}, {"010121", 71}, {"010200", 92}, {"010201", 81}, {"010210", 82},
    {"010211", 71}, {"010220", 72}, {"010221", 53}, {"011000", 95}, {"011001", 93}, {"011010", 92},
    {"011011", 85}, {"011020", 85}, {"011021", 73}, {"011100", 92}, {"011101", 82}, {"011110", 80},
    {"011111", 72}, {"011120", 70}, {"011121", 59}, {"011200", 84}, {"011201", 70}, {"011210", 71},
    {"011211", 52}, {"011220", 50}, {"011221", 30}, {"012001", 86}, {"012011", 75}, {"012021", 52},
    {"012101", 71}, {"012111", 52}, {"012121", 29}, {"012201", 63}, {"012211", 29}, {"012221", 17},
    {"100000", 98}, {"100001", 95}, {"100010", 94}, {"100011", 87}, {"100020", 91}, {"100021", 81},
    {"100100", 94}, {"100101", 89}, {"100110", 86}, {"100111", 74}, {"100120", 77}, {"100121", 64},
    {"100200", 87}, {"100201", 75}, {"100210", 74}, {"100211", 63}, {"100220", 63}, {"100221", 49},
    {"101000", 94}, {"101001", 89}, {"101010", 88}, {"101011", 77}, {"101020", 76}, {"101021", 67},
    {"101100", 86}, {"101101", 76}, {"101110", 74}, {"101111", 58}, {"101120", 59}, {"101121", 50},
    {"101200", 72}, {"101201", 57}, {"101210", 57}, {"101211", 52}, {"101220", 52}, {"101221", 25},
    {"102001", 83}, {"102011", 70}, {"102021", 54}, {"102101", 65}, {"102111", 58}, {"102121", 26},
    {"102201", 53}, {"102211", 21}, {"102221", 13}, {"110000", 95}, {"110001", 90}, {"110010", 88},
    {"110011", 76}, {"110020", 76}, {"110021", 70}, {"110100", 90}, {"110101", 77}, {"110110", 75},
    {"110111", 62}, {"110120", 61}, {"110121", 53}, {"110200", 77}, {"110201", 66}, {"110210", 68},
    {"110211", 59}, {"110220", 52}, {"110221", 30}, {"111000", 89}, {"111001", 78}, {"111010", 76},
    {"111011", 67}, {"111020", 62}, {"111021", 58}, {"111100", 74}, {"111101", 59}, {"111110", 57},
    {"111111", 57}, {"111120", 47}, {"111121", 23}, {"111200", 61}, {"111201", 52}, {"111210", 57},
    {"111211", 29}, {"111220", 24}, {"111221", 16}, {"112001", 71}, {"112011", 59}, {"112021", 30},
    {"112101", 58}, {"112111", 26}, {"112121", 15}, {"112201", 23}, {"112211", 13}, {"112221", 6},
    {"200000", 93}, {"200001", 87}, {"200010", 86}, {"200011", 72}, {"200020", 75}, {"200021", 58},
    {"200100", 86}, {"200101", 74}, {"200110", 74}, {"200111", 61}, {"200120", 56}, {"200121", 34},
    {"200200", 70}, {"200201", 54}, {"200210", 52}, {"200211", 40}, {"200220", 40}, {"200221", 22},
    {"201000", 85}, {"201001", 75}, {"201010", 74}, {"201011", 55}, {"201020", 62}, {"201021", 51},
    {"201100", 72}, {"201101", 57}, {"201110", 55}, {"201111", 41}, {"201120", 46}, {"201121", 19},
    {"201200", 53}, {"201201", 36}, {"201210", 34}, {"201211", 19}, {"201220", 19}, {"201221", 8},
    {"202001", 64}, {"202011", 51}, {"202021", 20}, {"202101", 47}, {"202111", 21}, {"202121", 11},
    {"202201", 24}, {"202211", 9}, {"202221", 4}, {"210000", 88}, {"210001", 75}, {"210010", 73},
    {"210011", 53}, {"210020", 60}, {"210021", 50}, {"210100", 73}, {"210101", 55}, {"210110", 59},
    {"210111", 40}, {"210120", 41}, {"210121", 20}, {"210200", 54}, {"210201", 43}, {"210210", 45},
    {"210211", 22}, {"210220", 20}, {"210221", 11}, {"211000", 75}, {"211001", 55}, {"211010", 58},
    {"211011", 45}, {"211020", 40}, {"211021", 21}, {"211100", 61}, {"211101", 51}, {"211110", 48},
    {"211111", 18}, {"211120", 20}, {"211121", 9}, {"211200", 46}, {"211201", 18}, {"211210", 17},
    {"211211", 7}, {"211220", 8}, {"211221", 2}, {"212001", 53}, {"212011", 24}, {"212021", 14},
    {"212101", 24}, {"212111", 12}, {"212121", 5}, {"212201", 10}, {"212211", 3}, {"212221", 1},
};
// clang-format on

constexpr int macro_index(int eq1, int eq2, int eq3, int eq4, int eq5, int eq6) {
    return ((((eq1 * 2 + eq2) * 3 + eq3) * 3 + eq4) * 3 + eq5) * 2 + eq6;
}

constexpr std::array<std::int8_t, 324> make_macro_table() {
    std::array<std::int8_t, 324> table{};
    for (auto& entry : table) entry = -1;
    for (const MacroScore& s : MacroScores) {
        const auto d = [&](int i) { return s.key[i] - '0'; };
        table[static_cast<std::size_t>(macro_index(d(0), d(1), d(2), d(3), d(4), d(5)))] = s.tenths;
    }
    return table;
}
constexpr std::array<std::int8_t, 324> MacroTable = make_macro_table();
static_assert(std::size(MacroScores) == 270);

// The macrovector's score in tenths; -1 when it does not exist (a level past
// 2, or EQ3=2 with EQ6=0).
int macro_score(int eq1, int eq2, int eq3, int eq4, int eq5, int eq6) {
    if (eq1 > 2 || eq2 > 1 || eq3 > 2 || eq4 > 2 || eq5 > 2 || eq6 > 1) return -1;
    return MacroTable[static_cast<std::size_t>(macro_index(eq1, eq2, eq3, eq4, eq5, eq6))];
}

// The effective value of each metric that enters the score, as a severity
// level: 0 is the most severe value, each step down adds one. Levels are
// those of the reference calculator: AV N0 A1 L2 P3; PR N0 L1 H2; UI N0 P1
// A2; AC L0 H1; AT N0 P1; VC/VI/VA H0 L1 N2; SC H1 L2 N3; SI/SA S0 H1 L2 N3
// (S only through MSI/MSA); CR/IR/AR H0 M1 L2; E A0 P1 U2.
struct V4Levels {
    int av, pr, ui, ac, at, vc, vi, va, sc, si, sa, cr, ir, ar, e;
};

// A modified (M*) metric replaces its base metric unless absent or X. The
// value lists are ordered so that a base value's index is its level minus
// `base_shift`, and a modified value's index is its level plus one (X is 0).
int effective(const Chosen& c, int base, int modified, int base_shift = 0) {
    if (c[static_cast<std::size_t>(modified)] > 0) return c[static_cast<std::size_t>(modified)] - 1;
    return c[static_cast<std::size_t>(base)] + base_shift;
}

// E, CR, IR and AR: absent or X means the most severe value (A, H).
int defaulted(const Chosen& c, int metric) { return std::max(0, c[static_cast<std::size_t>(metric)] - 1); }

V4Levels v4_levels(const Chosen& c) {
    V4Levels l{};
    l.av = effective(c, v4::AV, v4::MAV);
    l.pr = effective(c, v4::PR, v4::MPR);
    l.ui = effective(c, v4::UI, v4::MUI);
    l.ac = effective(c, v4::AC, v4::MAC);
    l.at = effective(c, v4::AT, v4::MAT);
    l.vc = effective(c, v4::VC, v4::MVC);
    l.vi = effective(c, v4::VI, v4::MVI);
    l.va = effective(c, v4::VA, v4::MVA);
    // SC's base values H/L/N are levels 1..3, and MSC (X,H,L,N) has no S, so
    // its index is already the level; MSI/MSA (X,S,H,L,N) follow the rule.
    l.sc = c[v4::MSC] > 0 ? c[v4::MSC] : c[v4::SC] + 1;
    l.si = effective(c, v4::SI, v4::MSI, 1);
    l.sa = effective(c, v4::SA, v4::MSA, 1);
    l.cr = defaulted(c, v4::CR);
    l.ir = defaulted(c, v4::IR);
    l.ar = defaulted(c, v4::AR);
    l.e = defaulted(c, v4::E);
    return l;
}

// The highest severity vectors of each EQ level (the specification's tables
// of EQ1..EQ6, as published with the reference calculator in
// max_composed.js), in the published order, which decides which one a
// vector is measured from when several are above it. Levels as in V4Levels.
struct Eq1Max { int av, pr, ui; };
struct Eq2Max { int ac, at; };
struct Eq36Max { int vc, vi, va, cr, ir, ar; };
struct Eq4Max { int sc, si, sa; };
// clang-format off
constexpr Eq1Max Eq1Level0[] = {{0, 0, 0}};                                   // AV:N/PR:N/UI:N
constexpr Eq1Max Eq1Level1[] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};             // AV:A/PR:N/UI:N, AV:N/PR:L/UI:N, AV:N/PR:N/UI:P
constexpr Eq1Max Eq1Level2[] = {{3, 0, 0}, {1, 1, 1}};                        // AV:P/PR:N/UI:N, AV:A/PR:L/UI:P
constexpr Eq2Max Eq2Level0[] = {{0, 0}};                                      // AC:L/AT:N
constexpr Eq2Max Eq2Level1[] = {{1, 0}, {0, 1}};                              // AC:H/AT:N, AC:L/AT:P
constexpr Eq36Max Eq36Level00[] = {{0, 0, 0, 0, 0, 0}};                       // VC:H/VI:H/VA:H/CR:H/IR:H/AR:H
constexpr Eq36Max Eq36Level01[] = {{0, 0, 1, 1, 1, 0}, {0, 0, 0, 1, 1, 1}};   // VC:H/VI:H/VA:L/CR:M/IR:M/AR:H, VC:H/VI:H/VA:H/CR:M/IR:M/AR:M
constexpr Eq36Max Eq36Level10[] = {{1, 0, 0, 0, 0, 0}, {0, 1, 0, 0, 0, 0}};   // VC:L/VI:H/VA:H/CR:H/IR:H/AR:H, VC:H/VI:L/VA:H/CR:H/IR:H/AR:H
constexpr Eq36Max Eq36Level11[] = {
    {1, 0, 1, 0, 1, 0},  // VC:L/VI:H/VA:L/CR:H/IR:M/AR:H
    {1, 0, 0, 0, 1, 1},  // VC:L/VI:H/VA:H/CR:H/IR:M/AR:M
    {0, 1, 0, 1, 0, 1},  // VC:H/VI:L/VA:H/CR:M/IR:H/AR:M
    {0, 1, 1, 1, 0, 0},  // VC:H/VI:L/VA:L/CR:M/IR:H/AR:H
    {1, 1, 0, 0, 0, 1},  // VC:L/VI:L/VA:H/CR:H/IR:H/AR:M
};
constexpr Eq36Max Eq36Level21[] = {{1, 1, 1, 0, 0, 0}};                       // VC:L/VI:L/VA:L/CR:H/IR:H/AR:H
constexpr Eq4Max Eq4Level0[] = {{1, 0, 0}};                                   // SC:H/SI:S/SA:S
constexpr Eq4Max Eq4Level1[] = {{1, 1, 1}};                                   // SC:H/SI:H/SA:H
constexpr Eq4Max Eq4Level2[] = {{2, 2, 2}};                                   // SC:L/SI:L/SA:L
// clang-format on

std::span<const Eq1Max> eq1_maxes(int level) {
    if (level == 0) return Eq1Level0;
    return level == 1 ? std::span<const Eq1Max>(Eq1Level1) : std::span<const Eq1Max>(Eq1Level2);
}
std::span<const Eq2Max> eq2_maxes(int level) { return level == 0 ? std::span<const Eq2Max>(Eq2Level0) : Eq2Level1; }
std::span<const Eq36Max> eq36_maxes(int eq3, int eq6) {
    if (eq3 == 0) return eq6 == 0 ? std::span<const Eq36Max>(Eq36Level00) : Eq36Level01;
    if (eq3 == 1) return eq6 == 0 ? std::span<const Eq36Max>(Eq36Level10) : Eq36Level11;
    return Eq36Level21;
}
std::span<const Eq4Max> eq4_maxes(int level) {
    if (level == 0) return Eq4Level0;
    return level == 1 ? std::span<const Eq4Max>(Eq4Level1) : std::span<const Eq4Max>(Eq4Level2);
}

// The depth of each EQ level: its largest severity distance plus one, in
// steps (max_severity.js of the reference calculator). EQ5 has depth 1 at
// every level but its distance is always 0, so it needs no table.
constexpr int Eq1Depth[] = {1, 4, 5};
constexpr int Eq2Depth[] = {1, 2};
constexpr int Eq36Depth[3][2] = {{7, 6}, {8, 8}, {0, 10}};  // [eq3][eq6]; EQ3=2/EQ6=0 does not exist
constexpr int Eq4Depth[] = {6, 5, 4};

double score_v4(const Chosen& c) {
    const V4Levels l = v4_levels(c);
    // No impact on any system: 0.0, whatever the rest says.
    if (l.vc == 2 && l.vi == 2 && l.va == 2 && l.sc == 3 && l.si == 3 && l.sa == 3) return 0.0;

    const int eq1 = (l.av == 0 && l.pr == 0 && l.ui == 0)                ? 0
                    : ((l.av == 0 || l.pr == 0 || l.ui == 0) && l.av != 3) ? 1
                                                                           : 2;
    const int eq2 = (l.ac == 0 && l.at == 0) ? 0 : 1;
    const int eq3 = (l.vc == 0 && l.vi == 0) ? 0 : (l.vc == 0 || l.vi == 0 || l.va == 0) ? 1 : 2;
    const int eq4 = (l.si == 0 || l.sa == 0) ? 0 : (l.sc == 1 || l.si == 1 || l.sa == 1) ? 1 : 2;
    const int eq5 = l.e;
    const int eq6 = ((l.cr == 0 && l.vc == 0) || (l.ir == 0 && l.vi == 0) || (l.ar == 0 && l.va == 0)) ? 0 : 1;

    const std::int64_t value = macro_score(eq1, eq2, eq3, eq4, eq5, eq6);

    // The score of the next lower macrovector in each EQ (-1 when none).
    // EQ3 and EQ6 move together: 00 -> the higher of 01 and 10; 01 -> 11;
    // 10 -> 11; 11 -> 21; 21 has none.
    const int lower_eq1 = macro_score(eq1 + 1, eq2, eq3, eq4, eq5, eq6);
    const int lower_eq2 = macro_score(eq1, eq2 + 1, eq3, eq4, eq5, eq6);
    int lower_eq36 = -1;
    if (eq3 == 0 && eq6 == 0)
        lower_eq36 = std::max(macro_score(eq1, eq2, 0, eq4, eq5, 1), macro_score(eq1, eq2, 1, eq4, eq5, 0));
    else if (eq6 == 1 && eq3 < 2)
        lower_eq36 = macro_score(eq1, eq2, eq3 + 1, eq4, eq5, eq6);
    else if (eq3 == 1 && eq6 == 0)
        lower_eq36 = macro_score(eq1, eq2, eq3, eq4, eq5, eq6 + 1);
    const int lower_eq4 = macro_score(eq1, eq2, eq3, eq4 + 1, eq5, eq6);
    const int lower_eq5 = macro_score(eq1, eq2, eq3, eq4, eq5 + 1, eq6);

    // The vector's severity distance, in steps, from the first highest
    // severity vector (in published order) that it is nowhere above.
    int d_eq1 = 0, d_eq2 = 0, d_eq36 = 0, d_eq4 = 0;
    bool found = false;
    for (const Eq1Max& m1 : eq1_maxes(eq1)) {
        for (const Eq2Max& m2 : eq2_maxes(eq2)) {
            for (const Eq36Max& m36 : eq36_maxes(eq3, eq6)) {
                for (const Eq4Max& m4 : eq4_maxes(eq4)) {
                    if (found) break;
                    const bool below = l.av >= m1.av && l.pr >= m1.pr && l.ui >= m1.ui && l.ac >= m2.ac &&
                                       l.at >= m2.at && l.vc >= m36.vc && l.vi >= m36.vi && l.va >= m36.va &&
                                       l.sc >= m4.sc && l.si >= m4.si && l.sa >= m4.sa && l.cr >= m36.cr &&
                                       l.ir >= m36.ir && l.ar >= m36.ar;
                    if (!below) continue;
                    found = true;
                    d_eq1 = (l.av - m1.av) + (l.pr - m1.pr) + (l.ui - m1.ui);
                    d_eq2 = (l.ac - m2.ac) + (l.at - m2.at);
                    d_eq36 = (l.vc - m36.vc) + (l.vi - m36.vi) + (l.va - m36.va) + (l.cr - m36.cr) +
                             (l.ir - m36.ir) + (l.ar - m36.ar);
                    d_eq4 = (l.sc - m4.sc) + (l.si - m4.si) + (l.sa - m4.sa);
                }
            }
        }
    }
    // Every vector lies below one of its macrovector's highest vectors: this
    // was checked for all 15,116,544 combinations of effective levels. In a
    // release build a broken table would leave the distances at 0, so the
    // macrovector's own score would be the answer.
    assert(found && "CVSS v4.0 vector above all highest severity vectors of its macrovector");

    // Each EQ with a lower macrovector contributes
    //   (value - lower) * distance / depth          (tenths x steps / steps)
    // and the score is value minus their mean. EQ5's distance is always 0,
    // but it still counts in the mean when a lower macrovector exists.
    // Summed over the common denominator `depths` (the product of the depths
    // that occur), the score in tenths is exactly
    //   value - numerator / (depths * existing).
    struct Term {
        int lower;
        int distance;
        int depth;
    };
    const Term terms[] = {
        {lower_eq1, d_eq1, Eq1Depth[eq1]},
        {lower_eq2, d_eq2, Eq2Depth[eq2]},
        {lower_eq36, d_eq36, Eq36Depth[eq3][eq6]},
        {lower_eq4, d_eq4, Eq4Depth[eq4]},
        {lower_eq5, 0, 1},
    };
    std::int64_t depths = 1;
    std::int64_t existing = 0;
    for (const Term& t : terms) {
        if (t.lower < 0) continue;
        depths *= t.depth;
        ++existing;
    }
    if (existing == 0) return static_cast<double>(value) / 10.0;
    std::int64_t numerator = 0;
    for (const Term& t : terms)
        if (t.lower >= 0) numerator += (value - t.lower) * t.distance * (depths / t.depth);
    const std::int64_t denominator = depths * existing;
    // tenths = value - numerator / denominator, clamped to 0..100 and
    // rounded half up: floor(tenths + 1/2) on the fraction.
    std::int64_t scaled = value * denominator - numerator;  // tenths * denominator
    scaled = std::clamp<std::int64_t>(scaled, 0, 100 * denominator);
    const std::int64_t tenths = (2 * scaled + denominator) / (2 * denominator);
    return static_cast<double>(tenths) / 10.0;
}

std::string v4_nomenclature(const Chosen& c) {
    const bool threat = c[v4::E] > 0;
    bool environmental = false;
    for (std::size_t m = v4::CR; m <= v4::MSA; ++m) environmental = environmental || c[m] > 0;
    std::string out = "CVSS-B";
    if (threat) out += 'T';
    if (environmental) out += 'E';
    return out;
}

std::string_view trim_blanks(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' || text.front() == '\r'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

}  // namespace

std::optional<CvssScore> score_cvss(std::string_view vector, std::string* error) {
    vector = trim_blanks(vector);
    if (vector.empty()) {
        fail(error, "empty CVSS vector");
        return std::nullopt;
    }

    CvssScore score;
    Chosen chosen{};
    constexpr std::string_view Prefix = "CVSS:";
    if (vector.starts_with(Prefix)) {
        const std::size_t slash = vector.find('/');
        const std::string_view version = vector.substr(Prefix.size(), slash == std::string_view::npos
                                                                          ? std::string_view::npos
                                                                          : slash - Prefix.size());
        const std::string_view label = vector.substr(0, Prefix.size() + version.size());
        const std::string_view body = slash == std::string_view::npos ? std::string_view{} : vector.substr(slash + 1);
        if (version == "3.0" || version == "3.1") {
            if (!parse_metrics(body, V3Metrics, label, chosen, error)) return std::nullopt;
            score.major = 3;
            score.minor = version == "3.1" ? 1 : 0;
            score.base_score = score_v3(chosen, score.minor);
        } else if (version == "4.0") {
            if (!parse_metrics(body, V4Metrics, label, chosen, error)) return std::nullopt;
            score.major = 4;
            score.base_score = score_v4(chosen);
            score.nomenclature = v4_nomenclature(chosen);
        } else {
            fail(error, "unknown CVSS version prefix " + quoted(label) +
                            " (expected CVSS:3.0, CVSS:3.1, CVSS:4.0, or a v2 vector without a prefix)");
            return std::nullopt;
        }
    } else {
        // v2 vectors have no prefix; NVD's older feeds wrap them in parentheses.
        if (vector.front() == '(' && vector.back() == ')' && vector.size() >= 2) vector = vector.substr(1, vector.size() - 2);
        std::string why;
        if (!parse_metrics(vector, V2Metrics, "CVSS v2", chosen, &why)) {
            // A v3/v4 vector that lost its prefix reads as a broken v2 one.
            if (vector.find("/PR:") != std::string_view::npos || vector.find("/AT:") != std::string_view::npos)
                why += "; v3 and v4 vectors must start with their 'CVSS:3.1/' or 'CVSS:4.0/' prefix";
            fail(error, std::move(why));
            return std::nullopt;
        }
        score.major = 2;
        score.base_score = score_v2(chosen);
    }
    score.rating = cvss_rating(score.base_score, score.major);
    score.vector = std::string(vector);
    return score;
}

Severity cvss_rating(double score, int major) {
    if (!(score >= 0.0 && score <= 10.0)) return Severity::Unknown;  // also catches NaN
    const long tenths = std::lround(score * 10.0);
    if (major == 2) {
        if (tenths < 40) return Severity::Low;
        return tenths < 70 ? Severity::Medium : Severity::High;
    }
    if (major != 3 && major != 4) return Severity::Unknown;
    if (tenths == 0) return Severity::Negligible;
    if (tenths < 40) return Severity::Low;
    if (tenths < 70) return Severity::Medium;
    return tenths < 90 ? Severity::High : Severity::Critical;
}

}  // namespace slate::vuln
