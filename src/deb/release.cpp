#include "slate/deb/release.hpp"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

#include "slate/deb/deb822.hpp"
#include "slate/error.hpp"
#include "slate/util/hash.hpp"

namespace slate::deb {

const ReleaseEntry* Release::find(std::string_view path) const {
    auto it = sha256.find(path);
    return it == sha256.end() ? nullptr : &it->second;
}

Release parse_release(std::string_view text, const std::string& display_name) {
    Deb822Reader reader(text, display_name);
    Paragraph paragraph;
    if (!reader.next(paragraph))
        throw Error(ErrorCode::Parse, display_name + ": empty Release file");
    Release release;
    auto get = [&](std::string_view name) { return std::string(paragraph.get_or(name, "")); };
    release.origin = get("Origin");
    release.label = get("Label");
    release.suite = get("Suite");
    release.codename = get("Codename");
    release.version = get("Version");
    release.date = get("Date");
    release.valid_until = get("Valid-Until");
    for (auto w : split_words(paragraph.get_or("Architectures", ""))) release.architectures.emplace_back(w);
    for (auto w : split_words(paragraph.get_or("Components", ""))) release.components.emplace_back(w);
    release.acquire_by_hash = paragraph.get_or("Acquire-By-Hash", "") == "yes";
    release.arch_all_in_arch_indices = paragraph.get_or("No-Support-for-Architecture-all", "") == "Packages";

    auto sums = paragraph.get("SHA256");
    if (!sums)
        throw Error(ErrorCode::Parse, display_name + ": no SHA256 sums in Release",
                    "slate only trusts archives that publish SHA-256 sums");
    for (auto line : split_lines(*sums)) {
        auto words = split_words(line);
        if (words.size() != 3 || !util::is_sha256_hex(words[0]))
            throw Error(ErrorCode::Parse, fmt::format("{}: malformed SHA256 line \"{}\"", display_name, line));
        ReleaseEntry entry;
        entry.sha256 = std::string(words[0]);
        auto [ptr, ec] = std::from_chars(words[1].data(), words[1].data() + words[1].size(), entry.size);
        if (ec != std::errc{})
            throw Error(ErrorCode::Parse, fmt::format("{}: bad size in SHA256 line \"{}\"", display_name, line));
        release.sha256.emplace(std::string(words[2]), std::move(entry));
    }
    return release;
}

std::optional<std::chrono::system_clock::time_point> parse_release_date(std::string_view text) {
    // "Sat, 10 Jun 2023 08:50:29 UTC" (the weekday is optional; zone UTC/GMT/+0000).
    std::string s(trim(text));
    std::tm tm{};
    const char* rest = nullptr;
    for (const char* format : {"%a, %d %b %Y %H:%M:%S", "%d %b %Y %H:%M:%S"}) {
        tm = {};
        rest = ::strptime(s.c_str(), format, &tm);
        if (rest) break;
    }
    if (!rest) return std::nullopt;
    std::string_view zone = trim(rest);
    long offset_seconds = 0;
    if (zone.empty() || zone == "UTC" || zone == "GMT" || zone == "Z") {
        offset_seconds = 0;
    } else if ((zone[0] == '+' || zone[0] == '-') && zone.size() == 5) {
        int hhmm = 0;
        auto [p, ec] = std::from_chars(zone.data() + 1, zone.data() + 5, hhmm);
        if (ec != std::errc{}) return std::nullopt;
        offset_seconds = (hhmm / 100) * 3600L + (hhmm % 100) * 60L;
        if (zone[0] == '-') offset_seconds = -offset_seconds;
    } else {
        return std::nullopt;
    }
    std::time_t t = ::timegm(&tm);
    return std::chrono::system_clock::from_time_t(t - offset_seconds);
}

}  // namespace slate::deb
