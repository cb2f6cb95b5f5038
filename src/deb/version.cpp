// Debian version ordering and syntax, after dpkg's lib/dpkg/version.c and
// lib/dpkg/parsehelp.c. compare_versions() is on the resolver's hot path: it
// works on string_views and never allocates.
#include "slate/deb/version.hpp"

#include <climits>
#include <cstring>

namespace slate::deb {
namespace {

// C-locale classification, independent of the process locale (dpkg uses its
// own c_isdigit/c_isalpha for the same reason).
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
// What strtol() skips before the number (isspace in the C locale).
constexpr bool is_space(char c) noexcept { return is_blank(c) || (c >= '\n' && c <= '\r'); }

std::string_view trim_blanks(std::string_view v) noexcept {
    std::size_t begin = 0;
    std::size_t end = v.size();
    while (begin < end && is_blank(v[begin])) ++begin;
    while (end > begin && is_blank(v[end - 1])) --end;
    return v.substr(begin, end - begin);
}

// The epoch as dpkg reads it: strtol(text, &end, 10), which skips leading
// whitespace and takes an optional sign.
struct EpochScan {
    bool has_digits = false;    // false: strtol consumed nothing
    bool stops_at_end = false;  // every character of the text was consumed
    bool negative = false;      // the value is below zero
    bool too_big = false;       // the value is above INT_MAX
    std::uint32_t value = 0;    // saturated at UINT32_MAX; 0 when negative
};

EpochScan scan_epoch(std::string_view text) noexcept {
    EpochScan scan;
    std::size_t i = 0;
    while (i < text.size() && is_space(text[i])) ++i;
    bool minus = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) minus = text[i++] == '-';
    std::uint64_t value = 0;
    bool nonzero = false;
    for (; i < text.size() && is_digit(text[i]); ++i) {
        scan.has_digits = true;
        value = value * 10 + static_cast<unsigned>(text[i] - '0');
        if (value > 0) nonzero = true;
        if (value > INT_MAX) {
            scan.too_big = true;
            value = INT_MAX + std::uint64_t{1};  // keeps accumulating without overflow
        }
    }
    scan.stops_at_end = scan.has_digits && i == text.size();
    // "-0" is zero, which dpkg accepts; any other minus is a negative epoch,
    // reported as such even when its magnitude is also too big.
    scan.negative = minus && nonzero;
    if (scan.negative) {
        scan.too_big = false;
        scan.value = 0;
    } else {
        scan.value = scan.too_big ? UINT32_MAX : static_cast<std::uint32_t>(value);
    }
    return scan;
}

// dpkg's order(): the weight of a character in a non-digit run. The end of
// the string (and digits, which end a non-digit run) weigh 0, '~' sorts below
// that, letters above it, everything else above letters. dpkg computes
// `c + 256` on a plain char, which is signed on amd64, so bytes >= 0x80 land
// between letters and ASCII punctuation; the cast reproduces that.
inline int order(char c) noexcept {
    if (is_digit(c)) return 0;
    if (is_alpha(c)) return static_cast<unsigned char>(c);
    if (c == '~') return -1;
    if (c != '\0') return static_cast<signed char>(c) + 256;
    return 0;
}

// dpkg's verrevcmp() on views. Returns <0, 0 or >0.
int verrevcmp(std::string_view a, std::string_view b) noexcept {
    const char* pa = a.data();
    const char* ea = pa + a.size();
    const char* pb = b.data();
    const char* eb = pb + b.size();

    while (pa != ea || pb != eb) {
        // Non-digit run, character by character. One side may already be at
        // its end (weight 0): then the other side's character decides,
        // unless it too weighs 0, which cannot happen for a non-digit.
        while ((pa != ea && !is_digit(*pa)) || (pb != eb && !is_digit(*pb))) {
            int ac = pa != ea ? order(*pa) : 0;
            int bc = pb != eb ? order(*pb) : 0;
            if (ac != bc) return ac - bc;
            if (pa != ea) ++pa;
            if (pb != eb) ++pb;
        }
        // Digit run: numerically, by skipping leading zeros, then the longer
        // run wins, then the first differing digit.
        while (pa != ea && *pa == '0') ++pa;
        while (pb != eb && *pb == '0') ++pb;
        int first_diff = 0;
        while (pa != ea && pb != eb && is_digit(*pa) && is_digit(*pb)) {
            if (first_diff == 0) first_diff = *pa - *pb;
            ++pa;
            ++pb;
        }
        if (pa != ea && is_digit(*pa)) return 1;
        if (pb != eb && is_digit(*pb)) return -1;
        if (first_diff != 0) return first_diff;
    }
    return 0;
}

constexpr int sign(int v) noexcept { return (v > 0) - (v < 0); }

// The outcome of dpkg's parseversion(): an error (dpkg rejects the version),
// a warning (dpkg complains, then uses it) or nothing.
enum class Severity { None, Warning, Error };
struct Check {
    Severity severity = Severity::None;
    const char* reason = "";
};

bool allowed_in_upstream(char c) noexcept {
    return is_digit(c) || is_alpha(c) || c == '.' || c == '+' || c == '~' || c == '-' || c == ':';
}
bool allowed_in_revision(char c) noexcept {
    return is_digit(c) || is_alpha(c) || c == '.' || c == '+' || c == '~';
}

// The checks of parseversion(), in dpkg's order (the first failure is the
// one reported, and every error check comes before every warning check).
Check check_version(std::string_view raw) noexcept {
    std::string_view v = trim_blanks(raw);
    if (v.empty()) return {Severity::Error, "version string is empty"};
    for (char c : v) {
        if (is_blank(c)) return {Severity::Error, "version string has embedded spaces"};
    }
    std::string_view rest = v;
    if (std::size_t colon = v.find(':'); colon != std::string_view::npos) {
        EpochScan scan = scan_epoch(v.substr(0, colon));
        if (!scan.has_digits) return {Severity::Error, "epoch in version is empty"};
        if (!scan.stops_at_end) return {Severity::Error, "epoch in version is not a number"};
        if (scan.negative) return {Severity::Error, "epoch in version is negative"};
        if (scan.too_big) return {Severity::Error, "epoch in version is too big (the largest is 2147483647)"};
        rest = v.substr(colon + 1);
        if (rest.empty()) return {Severity::Error, "nothing after colon in version number"};
    }
    std::string_view upstream = rest;
    std::string_view revision;
    if (std::size_t hyphen = rest.rfind('-'); hyphen != std::string_view::npos) {
        upstream = rest.substr(0, hyphen);
        revision = rest.substr(hyphen + 1);
        if (revision.empty()) return {Severity::Error, "revision number is empty (nothing after the last '-')"};
    }
    if (upstream.empty()) return {Severity::Error, "version number is empty"};

    if (!is_digit(upstream.front())) return {Severity::Warning, "version number does not start with digit"};
    for (char c : upstream) {
        if (!allowed_in_upstream(c)) return {Severity::Warning, "invalid character in version number"};
    }
    for (char c : revision) {
        if (!allowed_in_revision(c)) return {Severity::Warning, "invalid character in revision number"};
    }
    return {};
}

}  // namespace

VersionParts split_version(std::string_view v) noexcept {
    v = trim_blanks(v);
    VersionParts parts;
    if (const void* colon = std::memchr(v.data(), ':', v.size())) {
        std::size_t at = static_cast<std::size_t>(static_cast<const char*>(colon) - v.data());
        parts.epoch = scan_epoch(v.substr(0, at)).value;
        v.remove_prefix(at + 1);
    }
    if (std::size_t hyphen = v.rfind('-'); hyphen != std::string_view::npos) {
        parts.upstream = v.substr(0, hyphen);
        parts.revision = v.substr(hyphen + 1);
    } else {
        parts.upstream = v;
    }
    return parts;
}

int compare_versions(std::string_view a, std::string_view b) noexcept {
    VersionParts pa = split_version(a);
    VersionParts pb = split_version(b);
    if (pa.epoch != pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
    if (int rc = verrevcmp(pa.upstream, pb.upstream); rc != 0) return sign(rc);
    return sign(verrevcmp(pa.revision, pb.revision));
}

std::optional<std::string> version_error(std::string_view v) {
    Check check = check_version(v);
    if (check.severity != Severity::Error) return std::nullopt;
    return std::string(check.reason);
}

std::optional<std::string> version_warning(std::string_view v) {
    Check check = check_version(v);
    if (check.severity != Severity::Warning) return std::nullopt;
    return std::string(check.reason);
}

bool satisfies(std::string_view version, VersionOp op, std::string_view bound) noexcept {
    if (op == VersionOp::Any) return true;
    int rc = compare_versions(version, bound);
    switch (op) {
    case VersionOp::Any: return true;
    case VersionOp::Less: return rc < 0;
    case VersionOp::LessEq: return rc <= 0;
    case VersionOp::Eq: return rc == 0;
    case VersionOp::GreaterEq: return rc >= 0;
    case VersionOp::Greater: return rc > 0;
    }
    return false;
}

std::optional<VersionOp> parse_version_op(std::string_view text) noexcept {
    if (text == "<<") return VersionOp::Less;
    if (text == "<=" || text == "<") return VersionOp::LessEq;
    if (text == "=") return VersionOp::Eq;
    if (text == ">=" || text == ">") return VersionOp::GreaterEq;
    if (text == ">>") return VersionOp::Greater;
    return std::nullopt;
}

std::string_view to_string(VersionOp op) noexcept {
    switch (op) {
    case VersionOp::Any: return "";
    case VersionOp::Less: return "<<";
    case VersionOp::LessEq: return "<=";
    case VersionOp::Eq: return "=";
    case VersionOp::GreaterEq: return ">=";
    case VersionOp::Greater: return ">>";
    }
    return "";
}

}  // namespace slate::deb
