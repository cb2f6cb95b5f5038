// The Debian Security Tracker's JSON feed, read as a stream.
//
// The document is {package: {CVE: {"description", "releases": {codename:
// {"status", "fixed_version", "urgency", "nodsa", "nodsa_reason",
// "repositories"}}}}}; the real one is tens of megabytes. nlohmann's parser
// callback lets each CVE object be handled when it ends and then discarded,
// so memory stays at one CVE entry, not the whole document.

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "vuln/json_support.hpp"
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include "slate/vuln/feeds.hpp"

namespace slate::vuln {
namespace {

using nlohmann::json;

// One release entry of a CVE as an Affected; nullopt (with `why`) when it is malformed.
std::optional<Affected> release_entry(const std::string& package, const std::string& version, const json& entry,
                                      std::string& why) {
    if (!entry.is_object()) {
        why = "a release entry is not an object";
        return std::nullopt;
    }
    Affected affected;
    affected.ecosystem = "Debian:" + version;
    affected.package = package;
    affected.urgency = string_member(entry, "urgency");
    affected.note = string_member(entry, "nodsa");
    const std::string status = string_member(entry, "status");
    const std::string reason = string_member(entry, "nodsa_reason");
    if (status == "resolved") {
        affected.fixed = string_member(entry, "fixed_version");
        if (affected.fixed.empty()) {
            why = "status \"resolved\" without a fixed_version";
            return std::nullopt;
        }
        affected.state = FixState::Fixed;
    } else if (status == "open") {
        if (affected.urgency == "end-of-life")
            affected.state = FixState::EndOfLife;
        else if (reason == "ignored")
            affected.state = FixState::WontFix;
        else if (reason == "postponed")
            affected.state = FixState::FixDeferred;
        else
            affected.state = FixState::NotFixed;
    } else if (status == "undetermined") {
        affected.state = FixState::Undetermined;
    } else {
        why = status.empty() ? "a release entry has no status" : fmt::format("unknown status \"{}\"", status);
        return std::nullopt;
    }
    return affected;
}

class TrackerReader {
public:
    TrackerReader(const std::string& origin, const AdvisorySink& sink, FeedStats& stats)
        : m_origin(origin), m_sink(sink), m_stats(stats) {}

    bool on_event(int depth, json::parse_event_t event, json& parsed) {
        using Event = json::parse_event_t;
        if (depth == 0 && event == Event::array_start)
            throw Error(ErrorCode::Parse, fmt::format("{} is a JSON array, not the Debian Security Tracker's feed", m_origin),
                        "the tracker's feed is one object of source packages (its /tracker/data/json)");
        if (depth == 1 && event == Event::key) {
            m_package = parsed.get<std::string>();
            return true;
        }
        if (depth == 2 && event == Event::key) {
            m_cve = parsed.get<std::string>();
            return true;
        }
        if (depth == 2 && event == Event::value) {  // a CVE whose value is not an object
            skip("it is not an object");
            return false;
        }
        if (depth == 2 && event == Event::object_end) {
            handle_cve(parsed);
            return false;  // discard it: memory stays at one entry
        }
        if (depth == 0 && event == Event::value)
            throw Error(ErrorCode::Parse, fmt::format("{} is not a JSON object, so not the Debian Security Tracker's feed", m_origin));
        if (depth == 1 && (event == Event::object_end || event == Event::value || event == Event::array_end)) {
            if (!parsed.is_object()) {
                ++m_stats.skipped;
                m_stats.warn(fmt::format("{}: package {} is not an object; skipped", m_origin, m_package));
            }
            return false;
        }
        return true;
    }

private:
    void skip(const std::string& why) {
        ++m_stats.skipped;
        m_stats.warn(fmt::format("{}: {} in {}: {}; skipped", m_origin, m_cve, m_package, why));
    }

    void handle_cve(const json& entry) {
        auto releases = entry.find("releases");
        if (releases == entry.end()) return skip("it has no \"releases\"");
        // An empty "releases" is written as [] by the tracker (PHP-style).
        if (releases->is_array() && releases->empty()) {
            ++m_stats.records;
            return;
        }
        if (!releases->is_object()) return skip("\"releases\" is not an object");
        Advisory advisory;
        advisory.id = m_cve;
        advisory.feed = to_string(FeedKind::DebianTracker);
        advisory.summary = first_line(string_member(entry, "description"));
        for (const auto& [codename, release] : releases->items()) {
            auto version = debian_version_of(codename);
            if (!version) continue;  // a release the tracker knows and OSV ecosystems do not name
            std::string why;
            auto affected = release_entry(m_package, *version, release, why);
            if (!affected) return skip(fmt::format("release {}: {}", codename, why));
            advisory.affected.push_back(std::move(*affected));
        }
        ++m_stats.records;
        if (!advisory.affected.empty()) m_sink(std::move(advisory));
    }

    static std::string first_line(std::string text) {
        if (auto end = text.find('\n'); end != std::string::npos) text.resize(end);
        return text;
    }

    const std::string& m_origin;
    const AdvisorySink& m_sink;
    FeedStats& m_stats;
    std::string m_package;
    std::string m_cve;
};

void parse_tracker(std::FILE* input, const std::string& origin, const AdvisorySink& sink, FeedStats& stats) {
    TrackerReader reader(origin, sink, stats);
    try {
        // What is left is the emptied top-level object: every CVE was handled and discarded.
        json rest = json::parse(input, [&](int depth, json::parse_event_t event, json& parsed) {
            return reader.on_event(depth, event, parsed);
        });
        (void)rest;
    } catch (const json::exception& e) {
        throw Error(ErrorCode::Parse, fmt::format("{} is not valid JSON: {}", origin, e.what()),
                    "the file may be truncated: download the tracker's feed again");
    }
}

// A FILE closed on scope exit.
struct CloseFile {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};

}  // namespace

void read_tracker(const std::filesystem::path& path, const AdvisorySink& sink, FeedStats& stats) {
    // Read through stdio rather than a memory map: the feed is tens of
    // megabytes and read once, front to back, so only a buffer of it needs
    // to be in memory at a time.
    std::unique_ptr<std::FILE, CloseFile> file(std::fopen(path.c_str(), "rb"));
    if (!file) throw Error(ErrorCode::Io, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
    std::setvbuf(file.get(), nullptr, _IOFBF, 1 << 16);
    parse_tracker(file.get(), path.string(), sink, stats);
}

}  // namespace slate::vuln
