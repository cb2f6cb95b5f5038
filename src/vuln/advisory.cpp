#include "slate/vuln/advisory.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace slate::vuln {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

constexpr std::array<std::pair<Severity, const char*>, 6> SeverityNames{{
    {Severity::Unknown, "unknown"},
    {Severity::Negligible, "negligible"},
    {Severity::Low, "low"},
    {Severity::Medium, "medium"},
    {Severity::High, "high"},
    {Severity::Critical, "critical"},
}};

constexpr std::array<std::pair<FixState, const char*>, 6> FixStateNames{{
    {FixState::Fixed, "fixed"},
    {FixState::NotFixed, "not-fixed"},
    {FixState::WontFix, "wont-fix"},
    {FixState::FixDeferred, "fix-deferred"},
    {FixState::EndOfLife, "end-of-life"},
    {FixState::Undetermined, "undetermined"},
}};

// Debian releases by codename. The tracker also lists sid, which has no
// version number; it maps to "unstable".
constexpr std::array<std::pair<const char*, const char*>, 9> Releases{{
    {"jessie", "8"},
    {"stretch", "9"},
    {"buster", "10"},
    {"bullseye", "11"},
    {"bookworm", "12"},
    {"trixie", "13"},
    {"forky", "14"},
    {"duke", "15"},
    {"sid", "unstable"},
}};

}  // namespace

const char* to_string(Severity severity) {
    for (const auto& [value, name] : SeverityNames)
        if (value == severity) return name;
    return "unknown";
}

std::optional<Severity> parse_severity(std::string_view text) {
    for (const auto& [value, name] : SeverityNames)
        if (iequals(text, name)) return value;
    return std::nullopt;
}

const char* to_string(FixState state) {
    for (const auto& [value, name] : FixStateNames)
        if (value == state) return name;
    return "undetermined";
}

std::optional<FixState> parse_fix_state(std::string_view text) {
    for (const auto& [value, name] : FixStateNames)
        if (iequals(text, name)) return value;
    return std::nullopt;
}

std::vector<std::string> Advisory::cves() const {
    std::vector<std::string> result;
    auto add = [&](const std::string& id) {
        if (id.starts_with("CVE-") && std::find(result.begin(), result.end(), id) == result.end())
            result.push_back(id);
    };
    add(id);
    if (!result.empty()) return result;
    for (const auto& alias : aliases) add(alias);
    return result;
}

std::optional<std::string> debian_version_of(std::string_view codename) {
    for (const auto& [name, version] : Releases)
        if (codename == name) return std::string(version);
    return std::nullopt;
}

std::optional<std::string> debian_codename_of(std::string_view version) {
    for (const auto& [name, number] : Releases)
        if (version == number) return std::string(name);
    return std::nullopt;
}

Severity severity_of_urgency(std::string_view urgency) {
    while (!urgency.empty() && urgency.back() == '*') urgency.remove_suffix(1);
    if (iequals(urgency, "unimportant")) return Severity::Negligible;
    if (iequals(urgency, "low")) return Severity::Low;
    if (iequals(urgency, "medium")) return Severity::Medium;
    if (iequals(urgency, "high")) return Severity::High;
    return Severity::Unknown;
}

}  // namespace slate::vuln
