#include "slate/registry/reference.hpp"

#include <algorithm>
#include <array>
#include <system_error>

#include "slate/error.hpp"
#include "slate/oci/layout.hpp"

namespace slate::registry {
namespace {

// Docker's limit on the whole name (registry + "/" + repository).
constexpr std::size_t NameTotalLengthMax = 255;
constexpr std::size_t TagLengthMax = 128;

constexpr std::string_view ReferenceExample = "e.g. \"debian:bookworm\", \"me/app:1.0\" or \"localhost:5000/app@sha256:<hex>\"";

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
    return out;
}

[[noreturn]] void invalid(std::string_view text, const std::string& why, std::string hint = {}) {
    if (hint.empty()) hint = "write an image reference as [REGISTRY/]REPOSITORY[:TAG][@DIGEST], " + std::string(ReferenceExample);
    throw Error(ErrorCode::Usage, "invalid image reference \"" + std::string(text) + "\": " + why, std::move(hint));
}

bool all_of(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }

// One path component: [a-z0-9]+ joined by ".", "_", "__" or one or more "-".
bool is_path_component(std::string_view c) {
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
    for (std::size_t i = 0; i < c.size();) {
        if (is_lower_alnum(c[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < c.size() && !is_lower_alnum(c[j])) ++j;
        std::string_view sep = c.substr(i, j - i);
        bool dashes = all_of(sep, [](char x) { return x == '-'; });
        if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
        i = j;
    }
    return true;
}

// A DNS name component: [a-zA-Z0-9] or [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9].
bool is_domain_component(std::string_view c) {
    if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
    return all_of(c, [](char x) { return is_alnum(x) || x == '-'; });
}

// host[:port], where host is a DNS name or a bracketed IPv6 literal.
bool is_registry_host(std::string_view host) {
    std::string_view name = host, port;
    if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        if (!all_of(host.substr(1, close - 1), [](char x) { return is_hex(x) || x == ':'; })) return false;
        std::string_view rest = host.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port = rest.substr(1);
            if (port.empty()) return false;
        }
        name = {};
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon + 1);
        if (port.empty()) return false;
    }
    if (!all_of(port, is_digit)) return false;
    if (name.empty()) return host.front() == '[';
    std::size_t start = 0;
    for (;;) {
        auto dot = name.find('.', start);
        if (!is_domain_component(name.substr(start, dot - start))) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

void check_digest(std::string_view text, std::string_view digest) {
    const std::string hint = "a digest is written sha256:<64 lowercase hex digits>, as shown by `slate inspect` or a registry";
    if (digest.empty()) invalid(text, "the digest after '@' is empty", hint);
    auto colon = digest.find(':');
    if (colon == std::string_view::npos || colon == 0)
        invalid(text, "digest \"" + std::string(digest) + "\" has no algorithm", hint);
    std::string_view algorithm = digest.substr(0, colon), hex = digest.substr(colon + 1);
    if (algorithm != "sha256")
        invalid(text, "digest algorithm \"" + std::string(algorithm) + "\" is not supported: only sha256 digests are", hint);
    if (hex.size() != 64)
        invalid(text, "a sha256 digest has 64 hex digits, this one has " + std::to_string(hex.size()), hint);
    if (!all_of(hex, is_hex)) invalid(text, "the sha256 digest contains characters that are not hex digits", hint);
    if (!all_of(hex, [](char c) { return !(c >= 'A' && c <= 'F'); }))
        invalid(text, "the sha256 digest must be lowercase hex", "write it as sha256:" + lowercase(hex));
}

void check_tag(std::string_view text, std::string_view tag) {
    const std::string hint = "a tag is letters, digits, '_', '.' and '-' (not first), at most 128 characters, e.g. \"3.11-slim\"";
    if (tag.empty()) invalid(text, "the tag after ':' is empty", hint);
    if (tag.size() > TagLengthMax)
        invalid(text, "the tag is " + std::to_string(tag.size()) + " characters long, the limit is 128", hint);
    if (!is_word(tag.front()) || !all_of(tag, [](char c) { return is_word(c) || c == '.' || c == '-'; }))
        invalid(text, "tag \"" + std::string(tag) + "\" is not valid", hint);
}

void check_repository(std::string_view text, std::string_view repository) {
    if (repository.empty()) invalid(text, "the repository name is missing");
    if (repository != lowercase(repository)) {
        std::string fixed = lowercase(repository);
        invalid(text, "repository names must be lowercase", "write \"" + fixed + "\"");
    }
    std::size_t start = 0;
    for (;;) {
        auto slash = repository.find('/', start);
        std::string_view component = repository.substr(start, slash - start);
        if (component.empty()) invalid(text, "the repository name has an empty path component (\"//\" or a '/' at an end)");
        if (!is_path_component(component))
            invalid(text, "path component \"" + std::string(component) + "\" is not valid",
                    "path components are lowercase letters and digits, joined by '.', '_', '__' or '-'");
        if (slash == std::string_view::npos) return;
        start = slash + 1;
    }
}

}  // namespace

std::string Reference::name() const { return registry + "/" + repository; }

std::string Reference::identifier() const { return digest.empty() ? tag : digest; }

std::string Reference::to_string() const {
    std::string out = name();
    if (!tag.empty()) out += ":" + tag;
    if (!digest.empty()) out += "@" + digest;
    return out;
}

Reference Reference::with_digest(std::string new_digest) const {
    Reference out = *this;
    out.tag.clear();
    out.digest = std::move(new_digest);
    return out;
}

Reference Reference::with_tag(std::string new_tag) const {
    Reference out = *this;
    out.digest.clear();
    out.tag = std::move(new_tag);
    return out;
}

Reference parse_reference(std::string_view text) {
    if (text.empty())
        throw Error(ErrorCode::Usage, "empty image reference", "name an image, " + std::string(ReferenceExample));
    if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; }))
        invalid(text, "it contains whitespace or control characters");
    if (text.find("://") != std::string_view::npos)
        invalid(text, "a reference has no scheme", "drop the scheme: write \"registry.example:5000/app\", not a URL");
    // Docker refuses a bare image ID, which could be mistaken for a repository name.
    if (text.size() == 64 && all_of(text, [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }))
        invalid(text, "a 64-digit hex string is an image ID, not a repository name",
                "to name an image by digest write NAME@sha256:<hex>");

    Reference ref;
    std::string_view name_and_tag = text;
    if (auto at = text.find('@'); at != std::string_view::npos) {
        name_and_tag = text.substr(0, at);
        check_digest(text, text.substr(at + 1));
        ref.digest = std::string(text.substr(at + 1));
    }

    // Split off the registry host (Docker's splitDockerDomain).
    std::string_view remainder = name_and_tag;
    auto slash = name_and_tag.find('/');
    std::string_view first = name_and_tag.substr(0, slash);
    if (slash != std::string_view::npos &&
        (first.find_first_of(".:") != std::string_view::npos || first == "localhost")) {
        if (!is_registry_host(first))
            invalid(text, "\"" + std::string(first) + "\" is not a valid registry host[:port]",
                    "a registry is a host name or [IPv6] address with an optional numeric port, e.g. \"localhost:5000\"");
        ref.registry = lowercase(first);
        if (ref.registry == "index.docker.io") ref.registry = std::string(DockerHub);
        remainder = name_and_tag.substr(slash + 1);
    } else {
        ref.registry = std::string(DockerHub);
    }

    // The path has no ':', so the first one starts the tag.
    std::string_view repository = remainder;
    if (auto colon = remainder.find(':'); colon != std::string_view::npos) {
        repository = remainder.substr(0, colon);
        check_tag(text, remainder.substr(colon + 1));
        ref.tag = std::string(remainder.substr(colon + 1));
    }
    check_repository(text, repository);
    ref.repository = std::string(repository);
    if (ref.registry == DockerHub && ref.repository.find('/') == std::string::npos)
        ref.repository = "library/" + ref.repository;
    if (ref.name().size() > NameTotalLengthMax)
        invalid(text, "the name is " + std::to_string(ref.name().size()) + " characters long, the limit is 255",
                "use a shorter repository name");
    if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
    return ref;
}

std::string registry_endpoint_host(std::string_view registry) {
    if (registry == DockerHub || registry == "index.docker.io") return "registry-1.docker.io";
    return std::string(registry);
}

bool is_loopback_host(std::string_view registry) {
    std::string host = lowercase(registry);
    if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        if (close == std::string::npos) return false;
        std::string rest = host.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || rest.size() == 1 || !all_of(std::string_view(rest).substr(1), is_digit)))
            return false;
        std::string inner = host.substr(1, close - 1);
        return inner == "::1" || inner == "0:0:0:0:0:0:0:1";
    }
    if (auto colon = host.rfind(':'); colon != std::string::npos) {
        std::string_view port = std::string_view(host).substr(colon + 1);
        if (port.empty() || !all_of(port, is_digit)) return false;
        host.resize(colon);
    }
    if (host == "localhost") return true;
    // 127.0.0.0/8, written as four decimal octets.
    std::array<std::string_view, 4> octets;
    std::string_view rest = host;
    for (std::size_t i = 0; i < 4; ++i) {
        auto dot = rest.find('.');
        if ((i < 3) == (dot == std::string_view::npos)) return false;
        octets[i] = rest.substr(0, dot);
        rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
        if (octets[i].empty() || octets[i].size() > 3 || !all_of(octets[i], is_digit) || std::stoi(std::string(octets[i])) > 255)
            return false;
    }
    return octets[0] == "127";
}

// ------------------------------------------------------------ ImageLocation

std::string ImageLocation::to_string() const {
    switch (kind) {
    case Kind::Layout: return "oci:" + path.string() + (layout_ref.empty() ? "" : ":" + layout_ref);
    case Kind::DockerArchive: return "docker-archive:" + path.string();
    case Kind::Registry: return reference.to_string();
    }
    return {};
}

namespace {

constexpr std::string_view SupportedLocations =
    "use oci:DIR[:REF] (an OCI layout), docker-archive:FILE (a `docker save` tarball) or "
    "[docker://]REGISTRY/REPOSITORY[:TAG][@DIGEST]";

// skopeo's transports that slate does not read.
constexpr std::array<std::string_view, 7> UnsupportedTransports = {
    "containers-storage", "dir", "docker-daemon", "oci-archive", "ostree", "sif", "tarball"};

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

}  // namespace

ImageLocation parse_image_location(std::string_view text) {
    ImageLocation location;
    if (text.empty()) throw Error(ErrorCode::Usage, "empty image location", std::string(SupportedLocations));

    if (starts_with(text, "oci:")) {
        std::string_view rest = text.substr(4);
        if (rest.empty())
            throw Error(ErrorCode::Usage, "image location \"" + std::string(text) + "\" names no directory",
                        "write oci:DIR or oci:DIR:REF");
        location.kind = ImageLocation::Kind::Layout;
        location.path = std::string(rest);
        // The ref follows the last ':' only when that split leaves a directory
        // and a valid ref name; "oci:dir:" or "oci:a:b c" keep the whole path.
        if (auto colon = rest.rfind(':'); colon != std::string_view::npos && colon > 0) {
            std::string_view ref = rest.substr(colon + 1);
            if (oci::is_valid_ref_name(ref)) {
                location.path = std::string(rest.substr(0, colon));
                location.layout_ref = std::string(ref);
            }
        }
        return location;
    }
    if (starts_with(text, "docker-archive:")) {
        std::string_view file = text.substr(15);
        if (file.empty())
            throw Error(ErrorCode::Usage, "image location \"" + std::string(text) + "\" names no file",
                        "write docker-archive:FILE, e.g. docker-archive:image.tar");
        location.kind = ImageLocation::Kind::DockerArchive;
        location.path = std::string(file);
        return location;
    }
    if (starts_with(text, "docker://")) {
        location.reference = parse_reference(text.substr(9));
        return location;
    }
    for (std::string_view transport : UnsupportedTransports) {
        if (starts_with(text, transport) && text.size() > transport.size() && text[transport.size()] == ':')
            throw Error(ErrorCode::Usage,
                        "image location \"" + std::string(text) + "\" uses the " + std::string(transport) +
                            ": transport, which slate does not read",
                        std::string(SupportedLocations));
    }
    if (auto scheme = text.find("://"); scheme != std::string_view::npos)
        throw Error(ErrorCode::Usage,
                    "image location \"" + std::string(text) + "\" uses the unknown transport " +
                        std::string(text.substr(0, scheme)) + "://",
                    std::string(SupportedLocations));

    std::error_code ec;
    if (starts_with(text, "/") || starts_with(text, "./") || starts_with(text, "../") ||
        std::filesystem::is_directory(std::filesystem::path(std::string(text)), ec)) {
        location.kind = ImageLocation::Kind::Layout;
        location.path = std::string(text);
        return location;
    }
    location.reference = parse_reference(text);
    return location;
}

}  // namespace slate::registry
