#include "slate/deb/sources.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "slate/deb/deb822.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"

namespace slate::deb {

namespace {

bool is_security_suite(const std::string& suite) { return suite.ends_with("-security") || suite.ends_with("/updates"); }

std::string unquote(std::string_view v) {
    v = trim(v);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
    return std::string(v);
}

// The enabled "deb" sources whose suite belongs to `codename` (e.g. bookworm,
// bookworm-updates, bookworm-security), in apt's order.
struct HostSuite {
    std::string suite, uri;
    std::vector<std::string> components;
};

std::vector<HostSuite> host_suites(const std::vector<AptSource>& host, const std::string& codename) {
    std::vector<HostSuite> out;
    for (const auto& source : host) {
        if (!source.enabled) continue;
        if (std::find(source.types.begin(), source.types.end(), "deb") == source.types.end()) continue;
        for (const auto& suite : source.suites) {
            bool ours = codename.empty() || suite == codename || suite.starts_with(codename + "-") ||
                        suite.starts_with(codename + "/");
            if (!ours || source.uris.empty()) continue;
            if (std::any_of(out.begin(), out.end(), [&](const HostSuite& h) { return h.suite == suite; })) continue;
            out.push_back(HostSuite{suite, normalise_mirror(source.uris.front()), source.components});
        }
    }
    return out;
}

}  // namespace

std::string normalise_mirror(const std::string& url) {
    std::string out = url;
    while (out.ends_with('/')) out.pop_back();
    if (!(out.starts_with("http://") || out.starts_with("https://") || out.starts_with("file://")))
        throw Error(ErrorCode::Config, fmt::format("mirror \"{}\" is not an http://, https:// or file:// URL", url),
                    "give the mirror's base URL, the directory that holds dists/ and pool/");
    return out;
}

std::string host_codename(const std::filesystem::path& root) {
    std::string text;
    try {
        text = util::read_file(root / "etc/os-release");
    } catch (const Error&) {
        try {
            text = util::read_file(root / "usr/lib/os-release");
        } catch (const Error&) {
            return {};
        }
    }
    std::string version;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        std::string_view line(text.data() + start, (end == std::string::npos ? text.size() : end) - start);
        if (line.starts_with("VERSION_CODENAME=")) {
            auto value = unquote(line.substr(17));
            if (!value.empty()) return value;
        }
        if (line.starts_with("VERSION=")) version = unquote(line.substr(8));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    // VERSION="12 (bookworm)"
    if (auto open = version.find('('); open != std::string::npos) {
        auto close = version.find(')', open);
        if (close != std::string::npos) return version.substr(open + 1, close - open - 1);
    }
    return {};
}

std::vector<SuiteSource> plan_suite_sources(const SourceSettings& settings, const std::vector<AptSource>& host,
                                            const std::string& codename) {
    auto from_host = host_suites(host, codename);
    std::vector<std::string> suites = settings.suites;
    if (suites.empty()) {
        for (const auto& h : from_host) suites.push_back(h.suite);
        if (suites.empty())
            throw Error(ErrorCode::Config,
                        "no suites configured, and none found in the host's apt sources",
                        "name them in the image spec (archive.suites) or with --suite, e.g. bookworm,bookworm-updates,bookworm-security");
    }
    std::vector<SuiteSource> out;
    for (const auto& suite : suites) {
        auto h = std::find_if(from_host.begin(), from_host.end(), [&](const HostSuite& x) { return x.suite == suite; });
        SuiteSource source;
        source.suite = suite;
        if (is_security_suite(suite) && !settings.security_mirror.empty()) {
            source.mirror = normalise_mirror(settings.security_mirror);
        } else if (is_security_suite(suite) && h != from_host.end()) {
            source.mirror = h->uri;  // the security archive as the apt sources name it
        } else if (!settings.mirror.empty()) {
            std::string mirror = normalise_mirror(settings.mirror);
            // Debian's security archive sits beside the main one (.../debian-security).
            source.mirror = is_security_suite(suite) && mirror.ends_with("/debian") ? mirror + "-security" : mirror;
        } else if (h != from_host.end()) {
            source.mirror = h->uri;
        } else {
            throw Error(ErrorCode::Config,
                        fmt::format("no mirror for suite {}: it is not in the host's apt sources", suite),
                        "set archive.mirror in the image spec, --mirror or SLATE_MIRROR");
        }
        if (!settings.components.empty()) source.components = settings.components;
        else if (h != from_host.end() && !h->components.empty()) source.components = h->components;
        else source.components = {"main"};
        out.push_back(std::move(source));
    }
    return out;
}

}  // namespace slate::deb
