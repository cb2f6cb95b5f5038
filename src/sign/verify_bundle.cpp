// Sigstore bundle verification: the order of the checks follows the Sigstore
// client specification (signature, tlog entries, timestamps, certificate).

#include "slate/sign/verify_bundle.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/util/hash.hpp"
#include "timestamp.hpp"
#include "x509.hpp"

namespace slate::sign {
namespace {

// Rekor's clocks and ours may differ a little.
constexpr std::int64_t ClockSkew = 60;

[[noreturn]] void fail(const std::string& message, std::string hint = {}) {
    throw Error(ErrorCode::CheckFailed, message, std::move(hint));
}

// "https://rekor.sigstore.dev/" -> "rekor.sigstore.dev": the name Rekor
// signs checkpoints under.
std::string url_host(std::string_view url) {
    if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
    while (url.ends_with('/')) url.remove_suffix(1);
    return std::string(url);
}

struct Signer {
    detail::X509Ptr leaf;  // null for a key
    std::optional<PublicKey> key;
};

Signer signer_of(const Bundle& bundle, const BundlePolicy& policy) {
    Signer signer;
    const auto& content = bundle.verification_material.content;
    if (const auto* hint = std::get_if<PublicKeyIdentifier>(&content)) {
        if (!policy.key)
            fail(fmt::format("the bundle is signed with a public key{} but no key was given to verify it with",
                             hint->hint.empty() ? "" : " (hint " + hint->hint + ")"),
                 "verify with --key");
        signer.key = policy.key;
        return signer;
    }
    std::string leaf_der;
    if (const auto* chain = std::get_if<CertificateChain>(&content)) {
        if (chain->certificates.empty()) fail("the bundle's certificate chain is empty");
        leaf_der = chain->certificates.front();
        for (std::size_t i = 1; i < chain->certificates.size(); ++i) {
            auto certificate = detail::parse_certificate(chain->certificates[i]);
            if (!certificate) fail("a certificate of the bundle's chain is malformed");
            if (detail::is_self_signed(certificate.get()))
                fail("the bundle's certificate chain contains a root certificate",
                     "trust comes from the trusted root's certificate authorities, never from the bundle");
        }
    } else {
        leaf_der = std::get<Certificate>(content).der;
    }
    if (policy.key)
        fail("the bundle carries a signing certificate but a public key was given",
             "verify a certificate with --certificate-identity and --certificate-oidc-issuer");
    signer.leaf = detail::parse_certificate(leaf_der);
    if (!signer.leaf) fail("the bundle's signing certificate is not a valid DER X.509 certificate");
    if (detail::is_ca(signer.leaf.get())) fail("the bundle's signing certificate is a CA certificate, not a leaf");
    signer.key = detail::certificate_key(signer.leaf.get());
    return signer;
}

// The message signature over the artifact; fills `content`.
void verify_message_signature(const MessageSignature& message, const Artifact& artifact, const PublicKey& key,
                              EntryContent& content) {
    if (!message.digest.empty()) {
        std::string expected;
        if (message.digest_algorithm == HashAlgorithm::Sha256) {
            expected = artifact.sha256;
        } else if (artifact.bytes) {
            expected = digest(message.digest_algorithm, *artifact.bytes);
        } else {
            fail("the bundle's message digest is not SHA-256 and only the artifact's SHA-256 digest was given");
        }
        if (message.digest != expected) fail("the bundle's message digest is not the artifact's digest");
    }
    bool ok = false;
    if (key.type() == KeyType::Ed25519) {
        if (!artifact.bytes) fail("an Ed25519 signature can only be verified over the artifact itself, not its digest");
        ok = key.verify(*artifact.bytes, message.signature);
    } else if (key.natural_hash() == HashAlgorithm::Sha256) {
        ok = key.verify_digest(artifact.sha256, HashAlgorithm::Sha256, message.signature);
    } else if (artifact.bytes) {
        ok = key.verify(*artifact.bytes, message.signature);
    } else {
        fail(fmt::format("a {} signature needs the artifact itself, not its SHA-256 digest", to_string(key.type())));
    }
    if (!ok) fail("the bundle's signature does not verify over the artifact with the signer's key");
    content.artifact_sha256 = artifact.sha256;
    content.signature = message.signature;
}

void verify_dsse(const Envelope& envelope, const Artifact& artifact, const PublicKey& key, EntryContent& content) {
    if (envelope.signatures.size() != 1)
        fail(fmt::format("the DSSE envelope carries {} signatures; a Sigstore bundle's carries exactly one",
                         envelope.signatures.size()));
    if (!verify_envelope(envelope, key)) fail("the DSSE envelope's signature does not verify with the signer's key");
    if (envelope.payload_type != InTotoPayloadType)
        fail(fmt::format("the DSSE envelope's payload type is \"{}\", not an in-toto statement", envelope.payload_type));
    Statement statement;
    try {
        statement = parse_statement(envelope.payload);
    } catch (const Error& e) {
        fail("the DSSE envelope's in-toto statement is malformed: " + e.message());
    }
    const std::string hex = util::to_hex(artifact.sha256);
    bool found = std::any_of(statement.subjects.begin(), statement.subjects.end(), [&](const Subject& subject) {
        auto it = subject.digest.find("sha256");
        return it != subject.digest.end() && it->second == hex;
    });
    if (!found) fail(fmt::format("the artifact (sha256:{}) is not a subject of the in-toto statement", hex));
    content.envelope = envelope;
    content.signature = envelope.signatures.front().signature;
}

// The certificate: a chain to a Fulcio CA valid at every signing time, an
// SCT from a trusted CT log, the expected identity and issuer.
void verify_certificate(X509* leaf, const std::vector<std::int64_t>& times, const TrustedRoot& root,
                        const BundlePolicy& policy, const std::vector<std::string>& ignored) {
    if (times.empty()) {
        std::string why;
        for (const auto& reason : ignored) why += (why.empty() ? "" : "; ") + reason;
        fail("no verified signing time: the bundle needs a signed entry timestamp or a valid RFC 3161 timestamp "
             "to show the short-lived certificate was valid when it signed",
             why);
    }
    const std::int64_t from = detail::not_before(leaf);
    const std::int64_t to = detail::not_after(leaf);
    for (std::int64_t time : times)
        if (time < from || time > to)
            fail(fmt::format("the signing time {} is outside the signing certificate's validity ({} to {})", oci::format_rfc3339(time),
                             oci::format_rfc3339(from), oci::format_rfc3339(to)));

    detail::X509Ptr issuer;
    std::string reasons;
    for (std::int64_t time : times) {
        issuer.reset();
        for (const auto& authority : root.certificate_authorities) {
            if (!authority.valid_for.contains(time)) {
                reasons = fmt::format("no certificate authority of the trusted root is valid at {}", oci::format_rfc3339(time));
                continue;
            }
            std::string error;
            issuer = detail::verify_chain(leaf, authority, time, error);
            if (issuer) break;
            reasons = error;
        }
        if (!issuer)
            fail(fmt::format("the signing certificate does not chain to a certificate authority of the trusted root "
                             "at {}: {}", oci::format_rfc3339(time), reasons));
    }

    std::string sct_error;
    if (detail::verify_embedded_scts(leaf, issuer.get(), root.ctlogs, sct_error) == 0)
        fail("the signing certificate has no valid SCT from a CT log of the trusted root: " + sct_error);

    const auto names = detail::subject_alternative_names(leaf);
    if (std::find(names.begin(), names.end(), policy.identity) == names.end()) {
        std::string found;
        for (const auto& name : names) found += (found.empty() ? "" : ", ") + name;
        fail(fmt::format("the signing certificate's identity is not {}", policy.identity),
             "the certificate names: " + (found.empty() ? std::string("nothing") : found));
    }
    const auto issuer_name = detail::oidc_issuer(leaf);
    if (!issuer_name || *issuer_name != policy.issuer)
        fail(fmt::format("the signing certificate's OIDC issuer is not {}", policy.issuer),
             "the certificate names: " + issuer_name.value_or("no issuer"));
}

}  // namespace

Artifact Artifact::from_bytes(std::string bytes) {
    Artifact artifact;
    artifact.sha256 = digest(HashAlgorithm::Sha256, bytes);
    artifact.bytes = std::move(bytes);
    return artifact;
}

Artifact Artifact::from_digest(std::string_view text) {
    constexpr std::string_view Prefix = "sha256:";
    if (!text.starts_with(Prefix) || !util::is_sha256_hex(text.substr(Prefix.size())))
        throw Error(ErrorCode::Usage, fmt::format("\"{}\" is not a sha256:<64 lowercase hex digits> digest", text));
    Artifact artifact;
    artifact.sha256 = *util::from_hex(text.substr(Prefix.size()));
    return artifact;
}

BundleVerification verify_bundle(const Bundle& bundle, const Artifact& artifact, const TrustedRoot& root,
                                 const BundlePolicy& policy, std::int64_t now) {
    Signer signer = signer_of(bundle, policy);
    if (signer.leaf && (policy.identity.empty() || policy.issuer.empty()))
        throw Error(ErrorCode::Usage, "verifying a certificate needs the expected identity and OIDC issuer");

    // 1. The signature over the artifact.
    EntryContent content;
    if (const auto* message = std::get_if<MessageSignature>(&bundle.content)) {
        verify_message_signature(*message, artifact, *signer.key, content);
    } else {
        verify_dsse(std::get<Envelope>(bundle.content), artifact, *signer.key, content);
    }
    if (signer.leaf) {
        content.certificate_der = detail::certificate_der(signer.leaf.get());
    } else {
        content.key = signer.key;
    }

    // 2. The transparency log entries.
    const auto& material = bundle.verification_material;
    if (policy.require_tlog && material.tlog_entries.empty()) fail("the bundle has no transparency log entry");
    const int version = bundle_media_type_version(bundle.media_type).value_or(3);
    std::vector<std::int64_t> times;
    for (const auto& entry : material.tlog_entries) {
        const TransparencyLogInstance* log = root.find_tlog(entry.log_id);
        if (!log)
            fail(fmt::format("transparency log entry {} is from a log that is not in the trusted root (log id {})",
                             entry.log_index, util::to_hex(entry.log_id)),
                 "the bundle may come from another Sigstore instance (staging?) than the trusted root's");
        if (version >= 2 && !entry.inclusion_proof)
            fail(fmt::format("transparency log entry {} has no inclusion proof (required from bundle v0.2 on)", entry.log_index));
        if (version == 1 && !entry.signed_entry_timestamp)
            fail(fmt::format("transparency log entry {} has no signed entry timestamp (required in a v0.1 bundle)",
                             entry.log_index));
        verify_entry_body(entry, content);
        const bool promised = verify_tlog_entry(entry, log->key, url_host(log->base_url));
        if (entry.integrated_time != 0 && promised) {
            const std::int64_t time = entry.integrated_time;
            if (time > now + ClockSkew) fail(fmt::format("the log's integrated time {} is in the future", oci::format_rfc3339(time)));
            if (!log->valid_for.contains(time))
                fail(fmt::format("the log's integrated time {} is outside the log key's validity in the trusted root", oci::format_rfc3339(time)));
            times.push_back(time);
        }
    }

    // 3. RFC 3161 timestamps over the signature.
    BundleVerification result;
    for (const auto& timestamp : material.rfc3161_timestamps) {
        std::int64_t time = 0;
        try {
            time = detail::verify_rfc3161_timestamp(timestamp, content.signature, root.timestamp_authorities);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::CheckFailed) throw;
            result.warnings.push_back(e.message() + " (ignored)");
            continue;
        }
        if (time > now + ClockSkew) fail(fmt::format("the RFC 3161 timestamp {} is in the future", oci::format_rfc3339(time)));
        times.push_back(time);
        ++result.timestamps;
    }

    // 4. The signer.
    if (signer.leaf) {
        verify_certificate(signer.leaf.get(), times, root, policy, result.warnings);
        result.signer = policy.identity;
        result.issuer = policy.issuer;
    } else {
        result.signer = signer.key->fingerprint();
    }
    result.signing_times = times;
    result.tlog_entries = material.tlog_entries.size();
    result.summary = fmt::format("{} signed by {}{}, {} transparency log entr{}, {} timestamp{}",
                                 std::holds_alternative<Envelope>(bundle.content) ? "in-toto attestation" : "artifact",
                                 result.signer, result.issuer.empty() ? "" : " (" + result.issuer + ")",
                                 result.tlog_entries, result.tlog_entries == 1 ? "y" : "ies", result.timestamps,
                                 result.timestamps == 1 ? "" : "s");
    return result;
}

}  // namespace slate::sign
