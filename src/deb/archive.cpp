#include "slate/deb/archive.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slate/deb/openpgp.hpp"
#include "slate/error.hpp"
#include "slate/util/compress.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::deb {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Bump when PackageIndex's binary layout changes.
constexpr std::string_view IndexCacheKind = "packages-index-v1";
constexpr std::string_view MirrorHint = "check the mirror (--mirror, SLATE_MIRROR, the image spec or the host's apt sources)";

std::string human_size(std::uint64_t bytes) {
    if (bytes >= 1024 * 1024) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    if (bytes >= 1024) return fmt::format("{:.0f} KiB", static_cast<double>(bytes) / 1024.0);
    return fmt::format("{} B", bytes);
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

std::string join(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& item : list) out += (out.empty() ? "" : ", ") + item;
    return out;
}

}  // namespace

ArchiveClient::ArchiveClient(util::BlobCache& cache, util::HttpClient& http, util::LogSink& log, ArchiveOptions options)
    : m_cache(cache), m_http(http), m_log(log), m_options(std::move(options)) {
    if (m_options.keyrings.empty() && !m_options.insecure_skip_verify)
        throw Error(ErrorCode::Config, "no keyring to verify the archive with",
                    "install debian-archive-keyring or pass --keyring");
}

std::string ArchiveClient::keyring_digest() const {
    util::Sha256 hash;
    for (const auto& keyring : m_options.keyrings) {
        hash.update(keyring.string());
        std::error_code ec;
        if (fs::exists(keyring, ec)) hash.update(util::read_file(keyring));
    }
    return hash.finish_hex();
}

// The signed text of an InRelease. A successful verification is remembered
// per (InRelease digest, keyring digest), so a warm run does not re-run gpgv.
std::string ArchiveClient::verified_text(const std::string& inrelease_sha, std::string_view inrelease,
                                         const std::string& what) {
    if (m_options.insecure_skip_verify) {
        m_log.warning(fmt::format("NOT verifying the signature of {} (--insecure-skip-verify): "
                                  "anyone between you and the mirror can change what gets installed",
                                  what));
        return strip_clearsign(inrelease);
    }
    auto marker = m_cache.derived_path("verified-release", inrelease_sha + "-" + keyring_digest());
    try {
        return util::read_file(marker);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::NotFound) throw;
    }
    auto verified = verify_clearsigned(inrelease, m_options.keyrings, what);
    util::write_file_atomic(marker, verified.signed_text);
    return verified.signed_text;
}

SuiteRelease ArchiveClient::fetch_release(const SuiteSource& source) {
    const std::string url = source.mirror + "/dists/" + source.suite + "/InRelease";
    const std::string what = fmt::format("InRelease of {} from {}", source.suite, util::redact_url(source.mirror));

    json ref;
    if (auto text = m_cache.read_ref("inrelease", url)) {
        try {
            ref = json::parse(*text);
        } catch (const json::exception&) {
            ref = json();  // a damaged ref is just a cache miss
        }
    }
    std::string cached_sha = ref.is_object() ? ref.value("sha256", "") : "";
    std::optional<fs::path> cached_blob;
    if (util::is_sha256_hex(cached_sha)) cached_blob = m_cache.get(cached_sha);

    std::string sha;
    std::string signed_text;
    if (m_options.offline) {
        if (!cached_blob)
            throw Error(ErrorCode::NotFound, fmt::format("{} is not in the cache (--offline)", what),
                        "run once without --offline to fill the cache");
        sha = cached_sha;
    } else {
        util::HttpRequest request;
        request.url = url;
        request.progress_label = source.suite + " InRelease";
        if (cached_blob) {
            request.if_none_match = ref.value("etag", "");
            request.if_modified_since = ref.value("last_modified", "");
        }
        auto temp = m_cache.temp_path("InRelease");
        util::HttpResponse response;
        try {
            response = m_http.download(request, temp.path());
        } catch (Error& e) {
            if (e.code() == ErrorCode::NotFound)
                throw Error(ErrorCode::NotFound,
                            fmt::format("cannot fetch {}: {}", what, e.message()),
                            fmt::format("check the suite name \"{}\", or {}", source.suite, MirrorHint));
            e.add_context("while fetching " + what);
            throw;
        }
        if (response.not_modified() && cached_blob) {
            sha = cached_sha;
        } else {
            // Verify before caching: a badly signed InRelease never enters the cache.
            sha = response.sha256;
            signed_text = verified_text(sha, util::read_file(temp.path()), what);
            m_cache.put_file(temp.path(), sha);
            ref = json{{"url", util::redact_url(url)},
                       {"sha256", sha},
                       {"etag", response.etag},
                       {"last_modified", response.last_modified}};
            m_cache.write_ref("inrelease", url, ref.dump(2) + "\n");
        }
    }
    if (signed_text.empty()) signed_text = verified_text(sha, util::read_file(m_cache.blob_path(sha)), what);

    SuiteRelease result;
    result.source = source;
    result.inrelease_sha256 = sha;
    result.verified = !m_options.insecure_skip_verify;
    result.release = parse_release(signed_text, what);

    const auto& rel = result.release;
    if (rel.suite != source.suite && rel.codename != source.suite)
        throw Error(ErrorCode::Integrity,
                    fmt::format("{} describes suite \"{}\" (codename \"{}\"), not \"{}\"", what, rel.suite,
                                rel.codename, source.suite),
                    "the mirror serves the wrong suite; check the suite name and the mirror");
    if (m_options.check_valid_until && !rel.valid_until.empty()) {
        auto until = parse_release_date(rel.valid_until);
        if (!until)
            throw Error(ErrorCode::Parse, fmt::format("{}: unreadable Valid-Until \"{}\"", what, rel.valid_until));
        if (*until < m_options.now)
            throw Error(ErrorCode::Integrity,
                        fmt::format("{} expired on {} (Valid-Until)", what, rel.valid_until),
                        "the mirror is stale; use a current mirror, or --ignore-valid-until for a snapshot mirror");
    }
    // Debian's security archive lists "updates/main" for the component apt calls
    // "main"; the index paths use the plain name.
    auto has_component = [&](const std::string& component) {
        return std::any_of(rel.components.begin(), rel.components.end(), [&](const std::string& c) {
            return c == component || c.ends_with("/" + component);
        });
    };
    for (const auto& component : source.components)
        if (!has_component(component))
            throw Error(ErrorCode::NotFound,
                        fmt::format("suite {} has no component \"{}\" (it has: {})", source.suite, component,
                                    join(rel.components)));
    return result;
}

fs::path ArchiveClient::fetch_index_blob(const SuiteRelease& release, const std::string& path,
                                         const ReleaseEntry& entry) {
    const auto& source = release.source;
    const std::string what = fmt::format("{} of {} from {}", path, source.suite, util::redact_url(source.mirror));
    bool damaged = false;
    if (auto blob = m_cache.get(entry.sha256, entry.size, &damaged)) return *blob;
    if (damaged) m_log.warning(fmt::format("the cached copy of {} was damaged; fetching it again", what));
    if (m_options.offline)
        throw Error(ErrorCode::NotFound, fmt::format("{} is not in the cache (--offline)", what),
                    "run once without --offline to fill the cache");

    std::vector<std::string> urls;
    const std::string dir = path.substr(0, path.rfind('/'));
    const std::string base = source.mirror + "/dists/" + source.suite + "/";
    if (release.release.acquire_by_hash) urls.push_back(base + dir + "/by-hash/SHA256/" + entry.sha256);
    urls.push_back(base + path);

    m_log.info(fmt::format("Fetching {} ({})", what, human_size(entry.size)));
    for (std::size_t i = 0; i < urls.size(); ++i) {
        util::HttpRequest request;
        request.url = urls[i];
        request.expected_size = entry.size;
        request.progress_label = fmt::format("{}/{}", source.suite, path);
        auto temp = m_cache.temp_path("index");
        util::HttpResponse response;
        try {
            response = m_http.download(request, temp.path());
        } catch (Error& e) {
            if (e.code() == ErrorCode::NotFound && i + 1 < urls.size()) continue;  // by-hash missing: plain path
            e.add_context("while fetching " + what);
            throw;
        }
        if (response.size != entry.size || response.sha256 != entry.sha256) {
            std::string detail = response.size != entry.size
                ? fmt::format("got {} bytes, the Release promises {}", response.size, entry.size)
                : fmt::format("SHA-256 {} but the Release promises {}", response.sha256, entry.sha256);
            throw Error(ErrorCode::Integrity, fmt::format("{} does not match the signed Release: {}", what, detail),
                        "the download was truncated or altered, or the mirror is mid-sync; try again later");
        }
        return m_cache.put_file(temp.path(), entry.sha256);
    }
    throw Error(ErrorCode::Internal, "unreachable: no URL for " + what);
}

std::vector<LoadedIndex> ArchiveClient::load_packages(const SuiteRelease& release, std::string_view arch) {
    const auto& rel = release.release;
    const auto& source = release.source;
    if (arch != "all" && !contains(rel.architectures, arch))
        throw Error(ErrorCode::NotFound,
                    fmt::format("suite {} has no architecture {} (it has: {})", source.suite, arch,
                                join(rel.architectures)));
    std::vector<std::string> arches{std::string(arch)};
    // As apt: binary-all is its own index only when the Release lists "all" as an
    // architecture without "No-Support-for-Architecture-all: Packages".
    if (arch != "all" && contains(rel.architectures, "all") && !rel.arch_all_in_arch_indices) arches.emplace_back("all");

    std::vector<LoadedIndex> out;
    for (const auto& component : source.components) {
        for (const auto& a : arches) {
            const std::string stem = component + "/binary-" + a + "/Packages";
            std::string path;
            const ReleaseEntry* entry = nullptr;
            for (const char* ext : {".xz", ".gz", ".zst", ".bz2", ""}) {
                if ((entry = rel.find(stem + ext))) {
                    path = stem + ext;
                    break;
                }
            }
            if (!entry) {
                if (a == "all") continue;  // binary-all is optional
                throw Error(ErrorCode::NotFound,
                            fmt::format("the Release of {} lists no {} index", source.suite, stem),
                            "check the component and architecture");
            }
            const std::string what = fmt::format("{}/{}", source.suite, path);
            auto cached = m_cache.derived_path(IndexCacheKind, entry->sha256);
            std::optional<PackageIndex> index = PackageIndex::load(cached);
            if (!index) {
                auto blob = fetch_index_blob(release, path, *entry);
                auto text = util::decompress_file(blob, what);
                index = PackageIndex::parse(text, what);
                index->save(cached);
            }
            out.push_back(LoadedIndex{source.suite, component, a, source.mirror, path, entry->sha256,
                                      std::move(*index)});
        }
    }
    return out;
}

}  // namespace slate::deb
