#include "settings.hpp"

#include <cstdlib>

namespace slate::cli {

std::string Settings::effective_cache_dir() const {
    if (!cache_dir.empty()) return cache_dir;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/slate";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/slate";
    return ".cache/slate";
}

void add_settings_flags(CLI::App& app, Settings& s) {
    app.option_defaults()->always_capture_default()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--cache-dir", s.cache_dir, "Cache directory (default $XDG_CACHE_HOME/slate or ~/.cache/slate)")
        ->envname("SLATE_CACHE");
    app.add_option("--mirror", s.mirror, "Debian mirror URL (default: from the image spec, else the host's apt sources)")
        ->envname("SLATE_MIRROR");
    app.add_option("--security-mirror", s.security_mirror,
                   "Mirror URL for *-security suites (default: from the host's apt sources, else <mirror>-security)")
        ->envname("SLATE_SECURITY_MIRROR");
    app.add_option("--keyring", s.keyring,
                   "OpenPGP keyring that must have signed InRelease (default: the debian-archive-keyring package's)")
        ->envname("SLATE_KEYRING");
    app.add_option("--apt-root", s.apt_root, "Root directory whose etc/apt/ sources are read")
        ->envname("SLATE_APT_ROOT");
    app.add_flag("--offline", s.offline, "Work only from the cache; never touch the network")->envname("SLATE_OFFLINE");
    app.add_flag("--insecure-skip-verify", s.insecure_skip_verify,
                 "DANGEROUS: accept InRelease files without a valid signature");
    app.add_flag("--ignore-valid-until", s.ignore_valid_until,
                 "Accept Release files past their Valid-Until date (snapshot mirrors)")
        ->envname("SLATE_IGNORE_VALID_UNTIL");
    app.add_option("--retries", s.retries, "Retries for timeouts and server errors")
        ->envname("SLATE_RETRIES")
        ->check(CLI::Range(0, 20));
    app.add_flag("--insecure", s.insecure_registry,
                 "DANGEROUS: talk to registries over plain HTTP or unverified TLS (loopback registries may use "
                 "plain HTTP without it)");
    app.add_option("--ca-file", s.ca_file, "Extra CA bundle (PEM) trusted for registries' TLS certificates")
        ->envname("SLATE_CA_FILE")
        ->check(CLI::ExistingFile);
    app.add_flag("-v,--verbose", s.verbose, "More output");
    app.add_flag("-q,--quiet", s.quiet, "Only warnings and errors");
}

}  // namespace slate::cli
