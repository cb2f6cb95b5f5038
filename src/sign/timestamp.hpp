#pragma once
// Private to src/sign: RFC 3161 timestamps (TimeStampResponse or bare
// TimeStampToken), verified with OpenSSL's TS API against the timestamp
// authorities of a Sigstore trusted root.

#include <cstdint>
#include <string_view>
#include <vector>

#include "slate/sign/trusted_root.hpp"

namespace slate::sign::detail {

// Verifies that `der` is a timestamp over `signed_data` (its message imprint
// is the digest of those bytes), signed by a certificate that chains, at the
// timestamp's own time, to one of `authorities` whose validity range holds
// that time. Returns the time (Unix seconds). Throws slate::Error
// (CheckFailed) saying why not.
std::int64_t verify_rfc3161_timestamp(std::string_view der, std::string_view signed_data,
                                      const std::vector<CertificateAuthority>& authorities);

}  // namespace slate::sign::detail
