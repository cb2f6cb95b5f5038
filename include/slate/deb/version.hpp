#pragma once
// Debian version strings: dpkg's ordering, its syntax rules, and the relation
// operators of dependency fields ("libc6 (>= 2.36)").
//
// A version is [epoch:]upstream[-revision] (deb-version(5)):
//   - epoch: a decimal number before the FIRST ':'; missing means 0.
//   - revision: everything after the LAST '-'; missing means "", which orders
//     exactly like "0" (so "1.0" == "1.0-0").
//   - upstream: the rest.
// Leading and trailing blanks (space, tab) are ignored, as dpkg does.
//
// Validity follows dpkg's parseversion() (lib/dpkg/parsehelp.c) and what
// `dpkg --compare-versions` does with it:
//   - version_error() reports what dpkg REJECTS (it exits 2): an empty string,
//     embedded blanks, an epoch that is empty, not a number, negative or above
//     2147483647, nothing after the colon, an empty upstream, an empty
//     revision after '-'.
//   - version_warning() reports what dpkg only WARNS about and then compares
//     anyway: an upstream that does not start with a digit, and characters
//     outside [A-Za-z0-9.+~-:] in the upstream or [A-Za-z0-9.+~] in the
//     revision. slate accepts these too (Packages files in the wild contain
//     them), so a version is valid exactly when dpkg accepts it.
//   - Unlike `dpkg --compare-versions`, "" and "<unknown>" are not special
//     "no version" values: "" is an error, "<unknown>" is a (warned) version.
//
// compare_versions() does not validate; for strings version_error() rejects
// its result is deterministic but has no meaning.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace slate::deb {

struct VersionParts {
    std::uint32_t epoch = 0;
    std::string_view upstream;
    std::string_view revision;  // "" when there is no '-'
};

// Splits without validating or allocating; the views borrow from `v`. An epoch
// that is not a valid number reads as 0 (negative) or saturates (too big).
VersionParts split_version(std::string_view v) noexcept;

// dpkg's ordering: <0 when a sorts before b, 0 when equal, >0 after (the
// result is always -1, 0 or 1). Epochs compare numerically; upstream and
// revision with dpkg's verrevcmp: alternating non-digit and digit runs, where
// in non-digit runs '~' sorts before everything (even the end of the string),
// then the end, then letters, then all other characters; digit runs compare as
// numbers of any length (leading zeros ignored, no overflow). Bytes >= 0x80
// order as dpkg does on signed-char platforms (amd64): after letters and
// before ASCII punctuation. Never allocates.
int compare_versions(std::string_view a, std::string_view b) noexcept;

// nullopt when dpkg accepts `v` (possibly with a warning), else why not.
std::optional<std::string> version_error(std::string_view v);

// nullopt when dpkg parses `v` silently; else the (first) reason dpkg warns.
// Also nullopt for versions version_error() rejects.
std::optional<std::string> version_warning(std::string_view v);

// The relation operators of dependency fields.
enum class VersionOp {
    Any,        // no version constraint
    Less,       // <<
    LessEq,     // <=  (and the obsolete <)
    Eq,         // =
    GreaterEq,  // >=  (and the obsolete >)
    Greater,    // >>
};

// True when `version op bound` holds; always true for VersionOp::Any.
bool satisfies(std::string_view version, VersionOp op, std::string_view bound) noexcept;

// "<<", "<=", "=", ">=", ">>", plus the obsolete "<" (meaning <=) and ">"
// (meaning >=) that dpkg still accepts. nullopt for anything else.
std::optional<VersionOp> parse_version_op(std::string_view text) noexcept;

// The canonical spelling ("<<", "<=", "=", ">=", ">>"); "" for Any.
std::string_view to_string(VersionOp op) noexcept;

}  // namespace slate::deb
