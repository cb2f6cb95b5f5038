#pragma once
// The CLI's one typed settings struct. Every setting is declared once in
// settings.cpp with its default, its environment variable and its flag.
// Precedence: default < environment < flag.

#include <string>

#include <CLI/CLI.hpp>

namespace slate::cli {

struct Settings {
    std::string cache_dir;        // SLATE_CACHE, --cache-dir; default $XDG_CACHE_HOME/slate or ~/.cache/slate
    std::string mirror;           // SLATE_MIRROR, --mirror; default: the host's apt sources
    std::string security_mirror;  // SLATE_SECURITY_MIRROR, --security-mirror
    std::string keyring;          // SLATE_KEYRING, --keyring; default the debian-archive-keyring package's
    std::string apt_root = "/";   // SLATE_APT_ROOT, --apt-root: where to read etc/apt/ from
    bool offline = false;         // SLATE_OFFLINE, --offline
    bool insecure_skip_verify = false;  // --insecure-skip-verify only (never from the environment)
    bool ignore_valid_until = false;    // SLATE_IGNORE_VALID_UNTIL, --ignore-valid-until
    int retries = 4;              // SLATE_RETRIES, --retries
    // Registries:
    bool insecure_registry = false;  // --insecure only: plain HTTP and unverified TLS for every registry
    std::string ca_file;             // SLATE_CA_FILE, --ca-file: an extra CA bundle (PEM) for registries
    int verbose = 0;              // -v
    bool quiet = false;           // -q

    // The cache directory after applying the XDG default.
    std::string effective_cache_dir() const;
    int verbosity() const { return quiet ? -1 : verbose; }
};

void add_settings_flags(CLI::App& app, Settings& settings);

}  // namespace slate::cli
