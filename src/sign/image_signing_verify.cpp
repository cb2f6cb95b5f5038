// Verifying image signatures and attestations (image_signing.hpp): every
// candidate found through the referrers and the legacy tag is checked, and
// the image passes when one of them passes every check.
#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/sign/bundle.hpp"
#include "slate/sign/cosign.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/sign/image_signing.hpp"
#include "slate/sign/verify_bundle.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

// A check that failed: ends the examination of one candidate.
struct Rejected {
    std::string why;
};

class Checker {
public:
    Checker(ArtifactStore& store, const VerifyOptions& options, std::string digest)
        : m_store(store), m_options(options), m_digest(std::move(digest)), m_key(*options.key),
          m_fingerprint(m_key.fingerprint()) {}

    // Runs `check` for one candidate, turning a rejection, or a malformed or
    // damaged document, into the candidate's failure.
    template <typename Check>
    CheckedSignature examine(std::string location, std::string format, Check check) {
        CheckedSignature out;
        out.location = std::move(location);
        out.format = std::move(format);
        try {
            check(out);
            out.verified = true;
        } catch (const Rejected& rejected) {
            out.failure = rejected.why;
        } catch (const Error& e) {
            if (e.code() != ErrorCode::Parse && e.code() != ErrorCode::Integrity && e.code() != ErrorCode::NotFound &&
                e.code() != ErrorCode::CheckFailed)
                throw;
            out.failure = e.message();
        }
        return out;
    }

    // ---------------------------------------------------------- DSSE

    // The envelope's signature, payload type, subject and predicate type.
    void check_envelope(const Envelope& envelope, CheckedSignature& out) {
        if (!verify_envelope(envelope, m_key))
            throw Rejected{fmt::format("the DSSE signature does not verify with key {}", m_fingerprint)};
        out.checks.push_back("DSSE signature verifies with key " + m_fingerprint);
        if (envelope.payload_type != InTotoPayloadType)
            throw Rejected{fmt::format("the envelope's payload type is \"{}\", not {}", envelope.payload_type,
                                       InTotoPayloadType)};
        Statement statement = parse_statement(envelope.payload, "the signed statement");
        const std::string hex = m_digest.substr(7);
        bool names_image = false;
        std::string named;
        for (const auto& subject : statement.subjects) {
            auto it = subject.digest.find("sha256");
            if (it == subject.digest.end()) continue;
            if (it->second == hex) names_image = true;
            else if (named.empty()) named = "sha256:" + it->second;
        }
        if (!names_image)
            throw Rejected{fmt::format("the statement's subject names {}, not this image's manifest {}",
                                       named.empty() ? "no sha256 digest" : named, m_digest)};
        out.checks.push_back("statement subject is " + m_digest);
        const std::string want =
            m_options.attestation_type ? *m_options.attestation_type : std::string(cosign::SignPredicateType);
        if (statement.predicate_type != want)
            throw Rejected{fmt::format("the predicate type is {}, not {}", statement.predicate_type, want)};
        out.checks.push_back("predicate type is " + want);
        out.predicate_type = statement.predicate_type;
        if (m_options.attestation_type) out.predicate = statement.predicate;
    }

    // ---------------------------------------------------------- tlog

    void check_tlog(const TransparencyLogEntry& entry, const EntryContent& content, CheckedSignature& out) {
        verify_tlog_entry(entry, *m_options.tlog_key);
        verify_entry_body(entry, content);
        out.tlog_index = entry.log_index;
        out.checks.push_back(fmt::format("transparency log entry {} verifies and records this signature",
                                         entry.log_index));
    }

    void check_bundle_tlog(const Bundle& bundle, const EntryContent& content, CheckedSignature& out) {
        if (!m_options.tlog_key) return;
        const auto& entries = bundle.verification_material.tlog_entries;
        if (entries.empty()) throw Rejected{"the bundle has no transparency log entry, and --tlog-key requires one"};
        std::string first_failure;
        for (const auto& entry : entries) {
            try {
                check_tlog(entry, content, out);
                return;
            } catch (const Error& e) {
                if (e.code() != ErrorCode::CheckFailed && e.code() != ErrorCode::Parse) throw;
                if (first_failure.empty()) first_failure = e.message();
            }
        }
        throw Rejected{"transparency log entry: " + first_failure};
    }

    // ---------------------------------------------------------- referrers

    void check_bundle(const oci::Descriptor& referrer, CheckedSignature& out) {
        StoredManifest manifest_bytes = m_store.get_manifest(referrer.digest);
        oci::Manifest manifest = oci::parse_manifest(manifest_bytes.bytes, "referrer " + referrer.digest);
        if (!manifest.subject || manifest.subject->digest != m_digest)
            throw Rejected{fmt::format("the referrer's subject is {}, not {}",
                                       manifest.subject ? manifest.subject->digest : "missing", m_digest)};
        const oci::Descriptor* layer = nullptr;
        for (const auto& candidate : manifest.layers)
            if (candidate.media_type.starts_with("application/vnd.dev.sigstore.bundle")) layer = &candidate;
        if (!layer) throw Rejected{"the referrer has no Sigstore bundle layer"};
        Bundle bundle = parse_bundle(m_store.get_blob(*layer), "bundle " + layer->digest);
        if (const auto* envelope = std::get_if<Envelope>(&bundle.content)) {
            out.format = "bundle (dsse)";
            check_envelope(*envelope, out);
            EntryContent content;
            content.envelope = *envelope;
            if (!envelope->signatures.empty()) content.signature = envelope->signatures.front().signature;
            content.key = m_key;
            check_bundle_tlog(bundle, content, out);
            return;
        }
        // A message signature: what sigstore-go accepts for an image given
        // its digest, a signature over the manifest itself.
        out.format = "bundle (message signature)";
        if (m_options.attestation_type) throw Rejected{"a message signature is not an attestation"};
        const auto& signature = std::get<MessageSignature>(bundle.content);
        const std::string manifest_sha256 = *util::from_hex(m_digest.substr(7));
        if (!signature.digest.empty() &&
            (signature.digest_algorithm != HashAlgorithm::Sha256 || signature.digest != manifest_sha256))
            throw Rejected{fmt::format("the message signature is over sha256:{}, not this image's manifest {}",
                                       util::to_hex(signature.digest), m_digest)};
        if (!m_key.verify_digest(manifest_sha256, HashAlgorithm::Sha256, signature.signature))
            throw Rejected{fmt::format("the message signature does not verify with key {}", m_fingerprint)};
        out.checks.push_back("message signature over " + m_digest + " verifies with key " + m_fingerprint);
        EntryContent content;
        content.artifact_sha256 = manifest_sha256;
        content.signature = signature.signature;
        content.key = m_key;
        check_bundle_tlog(bundle, content, out);
    }

    // ---------------------------------------------------------- legacy tags

    void check_rekor_annotation(const oci::Descriptor& layer, const EntryContent& content, CheckedSignature& out) {
        if (!m_options.tlog_key) return;
        auto annotation = layer.annotations.find(std::string(cosign::RekorBundleAnnotation));
        if (annotation == layer.annotations.end())
            throw Rejected{fmt::format("the layer has no {} annotation, and --tlog-key requires a log entry",
                                       cosign::RekorBundleAnnotation)};
        try {
            check_tlog(cosign::parse_rekor_bundle_annotation(annotation->second), content, out);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::CheckFailed && e.code() != ErrorCode::Parse) throw;
            throw Rejected{"transparency log entry: " + e.message()};
        }
    }

    void check_simple_signing(const oci::Descriptor& layer, CheckedSignature& out) {
        auto annotation = layer.annotations.find(std::string(cosign::SignatureAnnotation));
        if (annotation == layer.annotations.end() || annotation->second.empty())
            throw Rejected{fmt::format("the layer has no {} annotation", cosign::SignatureAnnotation)};
        auto signature = util::base64_decode(annotation->second);
        if (!signature) throw Rejected{"the signature annotation is not base64"};
        const std::string payload = m_store.get_blob(layer);
        if (!m_key.verify(payload, *signature))
            throw Rejected{fmt::format("the signature does not verify over the payload with key {}", m_fingerprint)};
        out.checks.push_back("signature over the payload verifies with key " + m_fingerprint);
        cosign::SimpleSigning parsed = cosign::parse_payload(payload);
        if (parsed.type != cosign::SignaturePayloadType)
            throw Rejected{fmt::format("the payload's type is \"{}\", not \"{}\"", parsed.type,
                                       cosign::SignaturePayloadType)};
        if (parsed.manifest_digest != m_digest)
            throw Rejected{fmt::format("the payload names {}, not this image's manifest {}", parsed.manifest_digest,
                                       m_digest)};
        out.checks.push_back("payload names " + m_digest);
        EntryContent content;
        content.artifact_sha256 = digest(HashAlgorithm::Sha256, payload);
        content.signature = *signature;
        content.key = m_key;
        check_rekor_annotation(layer, content, out);
    }

    void check_dsse_layer(const oci::Descriptor& layer, CheckedSignature& out) {
        Envelope envelope = parse_envelope(m_store.get_blob(layer), "attestation " + layer.digest);
        check_envelope(envelope, out);
        EntryContent content;
        content.envelope = envelope;
        if (!envelope.signatures.empty()) content.signature = envelope.signatures.front().signature;
        content.key = m_key;
        check_rekor_annotation(layer, content, out);
    }

    // ---------------------------------------------------------- all

    VerificationResult run() {
        VerificationResult result;
        result.image = m_store.display_name();
        result.digest = m_digest;
        result.key = m_fingerprint;
        result.policy = verification_policy(m_options);
        result.tlog_checked = m_options.tlog_key != nullptr;
        try {
            m_store.check_content(m_digest);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::Integrity) throw;
            throw Error(ErrorCode::CheckFailed, "integrity check failed: " + e.message(), e.hint());
        }

        for (const auto& referrer : m_store.referrers(m_digest)) {
            if (!wanted_referrer(referrer)) continue;
            result.signatures.push_back(examine("referrer " + referrer.digest, "bundle",
                                                [&](CheckedSignature& out) { check_bundle(referrer, out); }));
        }
        const bool attestations = m_options.attestation_type.has_value();
        const std::string tag = attestations ? cosign::attestation_tag(m_digest) : cosign::signature_tag(m_digest);
        if (auto tagged = m_store.get_tagged(tag)) {
            auto image = cosign::SignatureImage::parse(tagged->bytes, tag);
            for (std::size_t i = 0; i < image.layers().size(); ++i) {
                const oci::Descriptor& layer = image.layers()[i];
                std::string location = fmt::format("tag {} layer {}", tag, i);
                if (!attestations && layer.media_type == cosign::SimpleSigningMediaType)
                    result.signatures.push_back(examine(location, "simple signing", [&](CheckedSignature& out) {
                        check_simple_signing(layer, out);
                    }));
                if (attestations && layer.media_type == cosign::DsseEnvelopeMediaType && wanted_layer(layer))
                    result.signatures.push_back(
                        examine(location, "dsse", [&](CheckedSignature& out) { check_dsse_layer(layer, out); }));
            }
        }
        if (result.verified_count() == 0) throw failure(result);
        return result;
    }

private:
    // Bundles only; for attestations those of the type asked for (when the
    // referrer says which it carries), for signatures those that are not
    // attestations of another type.
    bool wanted_referrer(const oci::Descriptor& referrer) const {
        if (referrer.artifact_type != BundleMediaTypeV03 &&
            !referrer.artifact_type.starts_with("application/vnd.dev.sigstore.bundle"))
            return false;
        auto type = referrer.annotations.find(std::string(cosign::BundlePredicateTypeAnnotation));
        if (type == referrer.annotations.end()) return true;
        const std::string want =
            m_options.attestation_type ? *m_options.attestation_type : std::string(cosign::SignPredicateType);
        return type->second == want;
    }

    bool wanted_layer(const oci::Descriptor& layer) const {
        auto type = layer.annotations.find(std::string(cosign::PredicateTypeAnnotation));
        return type == layer.annotations.end() || type->second == *m_options.attestation_type;
    }

    Error failure(const VerificationResult& result) const {
        const char* what = m_options.attestation_type ? "attestation" : "signature";
        if (result.signatures.empty()) {
            std::string kind = m_options.attestation_type ? " of type " + *m_options.attestation_type : "";
            return Error(ErrorCode::CheckFailed,
                         fmt::format("no {}{} found for {}@{}", what, kind, result.image, m_digest),
                         fmt::format("looked at the referrers and the tag {}; sign it with: slate {} ...",
                                     m_options.attestation_type ? cosign::attestation_tag(m_digest)
                                                                : cosign::signature_tag(m_digest),
                                     m_options.attestation_type ? "attest" : "sign"));
        }
        std::string details;
        for (const auto& signature : result.signatures)
            details += fmt::format("\n  {}: {}", signature.location, signature.failure);
        return Error(ErrorCode::CheckFailed,
                     fmt::format("no valid {} for {}@{} with key {}:{}", what, result.image, m_digest, m_fingerprint,
                                 details),
                     "the image, its signatures or the key are not the ones you expect");
    }

    ArtifactStore& m_store;
    const VerifyOptions& m_options;
    std::string m_digest;
    const PublicKey& m_key;
    std::string m_fingerprint;
};

// The manifest of `platform` in the index `digest`.
std::string platform_digest(ArtifactStore& store, const std::string& digest, const oci::Platform& platform) {
    StoredManifest top = store.get_manifest(digest);
    if (top.descriptor.media_type != oci::media_type::ImageIndex &&
        top.descriptor.media_type != oci::media_type::DockerManifestList)
        throw Error(ErrorCode::Usage, fmt::format("{}@{} is a single image, not an index", store.display_name(), digest),
                    "drop --platform");
    oci::Index index = oci::parse_index(top.bytes, "image index " + digest);
    std::string there;
    for (const auto& entry : index.manifests) {
        if (!entry.platform) continue;
        const oci::Platform& candidate = *entry.platform;
        if (candidate.architecture == platform.architecture && candidate.os == platform.os &&
            (platform.variant.empty() || candidate.variant == platform.variant))
            return entry.digest;
        there += (there.empty() ? "" : ", ") + oci::to_string(candidate);
    }
    throw Error(ErrorCode::NotFound,
                fmt::format("{}@{} has no image for {}", store.display_name(), digest, oci::to_string(platform)),
                "platforms there: " + there);
}

VerificationResult verify_resolved(ArtifactStore& store, const VerifyOptions& options, const std::string& digest) {
    std::string target = options.platform ? platform_digest(store, digest, *options.platform) : digest;
    return Checker(store, options, target).run();
}

}  // namespace

std::size_t VerificationResult::verified_count() const {
    std::size_t count = 0;
    for (const auto& signature : signatures) count += signature.verified ? 1 : 0;
    return count;
}

std::string verification_policy(const VerifyOptions& options) {
    std::string policy = options.attestation_type ? "attestation " + *options.attestation_type : "signature";
    if (options.tlog_key) policy += " tlog " + options.tlog_key->fingerprint();
    if (options.platform) policy += " platform " + oci::to_string(*options.platform);
    return policy;
}

VerificationResult verify_image(ArtifactStore& store, const VerifyOptions& options) {
    if (!options.key) throw Error(ErrorCode::Internal, "verifying without a key");
    return verify_resolved(store, options, store.resolve_digest());
}

VerificationResult verify_image_cached(ArtifactStore& store, const VerifyOptions& options,
                                       const VerificationCache* cache) {
    if (!options.key) throw Error(ErrorCode::Internal, "verifying without a key");
    const std::string digest = store.resolve_digest();
    const std::string key = options.key->fingerprint();
    const std::string policy = verification_policy(options);
    if (!store.cacheable()) cache = nullptr;
    if (cache)
        if (auto hit = cache->find(store.cache_identity(), digest, key, policy)) return std::move(*hit);
    VerificationResult result = verify_resolved(store, options, digest);
    if (cache) cache->store(store.cache_identity(), digest, result);
    return result;
}

}  // namespace slate::sign
