#pragma once
// Private to src/sign: X.509 certificates as Sigstore uses them (Fulcio
// signing certificates, their chains, embedded SCTs), over OpenSSL.

#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/sign/keys.hpp"
#include "slate/sign/trusted_root.hpp"

namespace slate::sign::detail {

struct X509Deleter {
    void operator()(X509* certificate) const { X509_free(certificate); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

struct X509StackDeleter {
    void operator()(STACK_OF(X509) * stack) const { sk_X509_pop_free(stack, X509_free); }
};
using X509Stack = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// DER -> certificate; nullptr when malformed or followed by trailing bytes.
X509Ptr parse_certificate(std::string_view der);
std::string certificate_der(X509* certificate);
// PEM text ("-----BEGIN CERTIFICATE-----") -> DER; nullopt when not one certificate.
std::optional<std::string> certificate_pem_to_der(std::string_view pem);

std::int64_t not_before(const X509* certificate);  // Unix seconds
std::int64_t not_after(const X509* certificate);
bool is_self_signed(X509* certificate);
bool is_ca(X509* certificate);
PublicKey certificate_key(X509* certificate);

// The SAN values (URI, email, DNS, IP in text form, otherName UTF8 strings).
std::vector<std::string> subject_alternative_names(X509* certificate);
// Fulcio's OIDC issuer: extension 1.3.6.1.4.1.57264.1.8 (a DER UTF8String),
// else the deprecated 1.3.6.1.4.1.57264.1.1 (the raw string).
std::optional<std::string> oidc_issuer(X509* certificate);

// Loads an authority's chain: its self-signed certificates become the trust
// anchors of `store`, the others go to `untrusted` (the trusted root lists
// chains in either order). Returns false, with `error` set, when a
// certificate is malformed or none is self-signed (partial chains are not
// accepted).
bool load_authority(const CertificateAuthority& authority, X509_STORE* store, STACK_OF(X509) * untrusted,
                    std::string& error);

// Verifies `leaf` chains to a root (self-signed certificate) of `authority` at
// `time`, with the authority's other certificates as intermediates and no
// partial chains. On success returns the leaf's issuer; on failure returns
// nullptr and sets `error` to OpenSSL's reason.
X509Ptr verify_chain(X509* leaf, const CertificateAuthority& authority, std::int64_t time, std::string& error);

// Verifies the SCTs embedded in `leaf` (issued by `issuer`) against the CT
// logs of the trusted root (RFC 6962 section 3.2, precertificate entries).
// Returns the number of SCTs that verify; sets `error` to why others did not.
std::size_t verify_embedded_scts(X509* leaf, X509* issuer, const std::vector<TransparencyLogInstance>& ctlogs,
                                 std::string& error);

}  // namespace slate::sign::detail
