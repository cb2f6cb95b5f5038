#pragma once
// Sigstore trusted roots (protobuf-specs dev.sigstore.trustedroot.v1.TrustedRoot
// in its JSON form, media type application/vnd.dev.sigstore.trustedroot+json;
// version=0.1 or application/vnd.dev.sigstore.trustedroot.v0.2+json): the keys
// of the transparency logs (Rekor) and certificate transparency logs, and the
// certificate chains of the certificate authorities (Fulcio) and timestamp
// authorities (RFC 3161), each with the time range it may be trusted for.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/sign/keys.hpp"

namespace slate::sign {

// A closed interval of Unix seconds. A missing end is unbounded; a start is
// required wherever the specification requires one (a log's key).
struct TimeRange {
    std::optional<std::int64_t> start;
    std::optional<std::int64_t> end;
    // Both ends inclusive (the conformance suite's *-validity-end-inclusive cases).
    bool contains(std::int64_t time) const;
};

// A Rekor log or a CT log.
struct TransparencyLogInstance {
    std::string base_url;  // e.g. "https://rekor.sigstore.dev"
    PublicKey key;
    TimeRange valid_for;
    std::string log_id;    // raw key id: SHA-256 of the DER key (Rekor v1, CT) or the C2SP key id (Rekor v2)
};

// A Fulcio CA or a timestamp authority.
struct CertificateAuthority {
    std::string uri;
    std::vector<std::string> chain;  // DER, the issuing certificate first, the root last
    TimeRange valid_for;
};

struct TrustedRoot {
    std::string media_type;
    std::vector<TransparencyLogInstance> tlogs;
    std::vector<TransparencyLogInstance> ctlogs;
    std::vector<CertificateAuthority> certificate_authorities;
    std::vector<CertificateAuthority> timestamp_authorities;

    // The log whose log id is `log_id` (raw bytes), or null.
    const TransparencyLogInstance* find_tlog(std::string_view log_id) const;
    const TransparencyLogInstance* find_ctlog(std::string_view log_id) const;
};

// Throws slate::Error (Parse) naming `display_name`: malformed JSON, an
// unknown media type, bad base64, an unparsable key or certificate, a
// timestamp that is not RFC 3339, a log key without a validity start.
TrustedRoot parse_trusted_root(std::string_view text, std::string_view display_name = "trusted root");

// RFC 3339 ("2021-01-12T11:53:27Z", "2022-04-14T21:38:40.123+02:00") to Unix
// seconds, fractions dropped; nullopt when malformed.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace slate::sign
