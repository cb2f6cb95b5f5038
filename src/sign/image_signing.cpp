// Signing and attesting images: the legacy cosign tags and the bundle
// referrers (image_signing.hpp). Verification is in image_signing_verify.cpp,
// the stores in image_signing_store.cpp.
#include "slate/sign/image_signing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "slate/error.hpp"
#include "slate/sign/bundle.hpp"
#include "slate/sign/cosign.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/sign/tlog_client.hpp"
#include "slate/util/base64.hpp"

namespace slate::sign {
namespace {

// How often a write to a read-modify-write tag is repeated when another
// writer replaced it before it could be read back.
constexpr int WriteRounds = 5;
constexpr int MaxIndexDepth = 4;

bool is_index(std::string_view media_type) {
    return media_type == oci::media_type::ImageIndex || media_type == oci::media_type::DockerManifestList;
}

// The manifests to sign: the image's, and with `recursive` every manifest
// an index lists (indexes within indexes too).
void collect_targets(ArtifactStore& store, const oci::Descriptor& descriptor, bool recursive, int depth,
                     std::vector<oci::Descriptor>& out) {
    for (const auto& seen : out)
        if (seen.digest == descriptor.digest) return;
    out.push_back(descriptor);
    if (!recursive || !is_index(descriptor.media_type)) return;
    if (depth >= MaxIndexDepth)
        throw Error(ErrorCode::Parse, fmt::format("{} nests image indexes more than {} deep", store.display_name(),
                                                  MaxIndexDepth));
    StoredManifest index_bytes = store.get_manifest(descriptor.digest);
    oci::Index index = oci::parse_index(index_bytes.bytes, "image index " + descriptor.digest);
    for (const auto& child : index.manifests) {
        oci::Descriptor subject;
        subject.media_type = child.media_type;
        subject.digest = child.digest;
        subject.size = child.size;
        collect_targets(store, subject, recursive, depth + 1, out);
    }
}

std::vector<oci::Descriptor> targets(ArtifactStore& store, bool recursive) {
    StoredManifest top = store.get_manifest(store.resolve_digest());
    std::vector<oci::Descriptor> out;
    collect_targets(store, top.descriptor, recursive, 0, out);
    return out;
}

bool has_layer(ArtifactStore& store, const std::string& tag, const oci::Descriptor& layer) {
    auto after = store.get_tagged(tag);
    if (!after) return false;
    const cosign::SignatureImage image = cosign::SignatureImage::parse(after->bytes, tag);
    for (const auto& existing : image.layers())
        if (existing.digest == layer.digest && existing.annotations == layer.annotations) return true;
    return false;
}

// Appends `layer` (whose blob is `blob`) to the image under the legacy tag,
// unless `duplicate` says an existing layer already says the same. Returns
// whether a layer was added.
bool append_legacy(ArtifactStore& store, const std::string& tag, const oci::Descriptor& layer, std::string_view blob,
                   const std::function<bool(const oci::Descriptor&)>& duplicate) {
    store.put_blob(layer, blob);
    for (int round = 1;; ++round) {
        {
            StoreLock held = store.lock();
            cosign::SignatureImage image;
            if (auto existing = store.get_tagged(tag)) image = cosign::SignatureImage::parse(existing->bytes, tag);
            for (const auto& existing : image.layers())
                if (duplicate(existing)) return false;
            image.add(layer);
            store.put_blob(image.config_descriptor(), image.config_json());
            store.put_tagged(tag, image.manifest_json(), oci::media_type::ImageManifest);
        }
        // Read it back: a writer on another machine (which the lock does not
        // reach) may have replaced the tag with its own list in between.
        if (has_layer(store, tag, layer)) return true;
        if (round >= WriteRounds)
            throw Error(ErrorCode::Network,
                        fmt::format("{}:{} lost the new entry {} times: other writers keep replacing it",
                                    store.display_name(), tag, round),
                        "try again; the referrer was written and does not have this problem");
    }
}

// Stores the bundle as a referrer of `subject`, and checks it is listed.
std::string add_referrer(ArtifactStore& store, const oci::Descriptor& subject, const std::string& bundle_json,
                         std::string_view content, std::string_view predicate_type, std::int64_t created) {
    oci::Descriptor layer = oci::describe(BundleMediaTypeV03, bundle_json);
    store.put_blob(layer, bundle_json);
    store.put_blob(cosign::empty_config_descriptor(), cosign::EmptyJson);
    oci::Manifest manifest = cosign::bundle_referrer(subject, layer, content, predicate_type, created);
    for (int round = 1;; ++round) {
        oci::Descriptor written;
        {
            // The lock matters only for the referrers tag schema (a registry
            // without the API), whose index is read, extended and written back.
            StoreLock held = store.lock();
            written = store.put_referrer(manifest);
        }
        for (const auto& listed : store.referrers(subject.digest))
            if (listed.digest == written.digest) return written.digest;
        if (round >= WriteRounds)
            throw Error(ErrorCode::Network,
                        fmt::format("the referrer {} of {} is not listed after {} attempts", written.digest,
                                    subject.digest, round),
                        "other writers keep replacing the referrers index; try again");
    }
}

Bundle make_bundle(const Envelope& envelope, const PublicKey& key, const std::optional<TransparencyLogEntry>& entry) {
    Bundle bundle;
    bundle.media_type = std::string(BundleMediaTypeV03);
    // The key hint Sigstore clients write: base64 of the SHA-256 of the key's DER.
    bundle.verification_material.content =
        PublicKeyIdentifier{util::base64_encode(digest(HashAlgorithm::Sha256, key.der()))};
    if (entry) bundle.verification_material.tlog_entries.push_back(*entry);
    bundle.content = envelope;
    return bundle;
}

// An existing layer can stand for a new one only if it has a log entry
// whenever the new one does (signing again with --tlog adds the entry).
bool carries_log_entry(const oci::Descriptor& existing, const oci::Descriptor& added) {
    const std::string key(cosign::RekorBundleAnnotation);
    return existing.annotations.contains(key) || !added.annotations.contains(key);
}

void require_key(const PrivateKey* key) {
    if (!key) throw Error(ErrorCode::Internal, "signing without a key");
}

}  // namespace

SignReport sign_image(ArtifactStore& store, const SignOptions& options) {
    require_key(options.key);
    const PrivateKey& key = *options.key;
    const PublicKey public_key = key.public_key();
    SignReport report;
    report.image = store.display_name();
    for (const oci::Descriptor& subject : targets(store, options.recursive)) {
        SignedManifest done;
        done.digest = subject.digest;

        // cosign v2: the simple-signing payload under the .sig tag.
        const std::string payload = cosign::make_payload(options.identity, subject.digest, options.annotations);
        const std::string signature = key.sign(payload);
        std::optional<std::string> rekor_bundle;
        if (options.tlog) {
            TransparencyLogEntry entry =
                options.tlog->submit_hashedrekord(digest(HashAlgorithm::Sha256, payload), signature, public_key);
            done.tlog_indexes.push_back(entry.log_index);
            rekor_bundle = cosign::rekor_bundle_annotation(entry);
        }
        oci::Descriptor layer = cosign::signature_layer(payload, signature, rekor_bundle);
        done.legacy_tag = cosign::signature_tag(subject.digest);
        // As cosign's duplicate detector: the same payload with a signature
        // this key made is the same signature.
        auto duplicate = [&](const oci::Descriptor& existing) {
            if (existing.digest != layer.digest || !carries_log_entry(existing, layer)) return false;
            auto annotation = existing.annotations.find(std::string(cosign::SignatureAnnotation));
            if (annotation == existing.annotations.end()) return false;
            auto existing_signature = util::base64_decode(annotation->second);
            return existing_signature && public_key.verify(payload, *existing_signature);
        };
        done.legacy_added = append_legacy(store, done.legacy_tag, layer, payload, duplicate);

        // cosign v3: a DSSE statement in a bundle, as a referrer.
        const std::string statement = cosign::make_sign_statement(subject.digest, options.annotations);
        Envelope envelope = sign_envelope(InTotoPayloadType, statement, key);
        std::optional<TransparencyLogEntry> entry;
        if (options.tlog) {
            entry = options.tlog->submit_dsse(envelope, public_key);
            done.tlog_indexes.push_back(entry->log_index);
        }
        done.referrer = add_referrer(store, subject, bundle_to_string(make_bundle(envelope, public_key, entry)),
                                     cosign::BundleContentDsse, cosign::SignPredicateType, options.created);
        report.manifests.push_back(std::move(done));
    }
    return report;
}

SignReport attest_image(ArtifactStore& store, const AttestOptions& options) {
    require_key(options.key);
    if (options.predicate_type.empty()) throw Error(ErrorCode::Usage, "an attestation needs a predicate type");
    const PrivateKey& key = *options.key;
    const PublicKey public_key = key.public_key();
    SignReport report;
    report.image = store.display_name();
    for (const oci::Descriptor& subject : targets(store, options.recursive)) {
        SignedManifest done;
        done.digest = subject.digest;
        Statement statement;
        statement.subjects.push_back(Subject{options.identity, {{"sha256", std::string(subject.digest.substr(7))}}});
        statement.predicate_type = options.predicate_type;
        statement.predicate = options.predicate;
        const std::string payload = statement_to_string(statement);
        // One envelope and one log entry serve both the .att layer and the bundle.
        Envelope envelope = sign_envelope(InTotoPayloadType, payload, key);
        std::optional<TransparencyLogEntry> entry;
        std::optional<std::string> rekor_bundle;
        if (options.tlog) {
            entry = options.tlog->submit_dsse(envelope, public_key);
            done.tlog_indexes.push_back(entry->log_index);
            rekor_bundle = cosign::rekor_bundle_annotation(*entry);
        }
        const std::string envelope_json = envelope_to_string(envelope);
        oci::Descriptor layer = cosign::attestation_layer(envelope_json, options.predicate_type, rekor_bundle);
        done.legacy_tag = cosign::attestation_tag(subject.digest);
        // The same statement signed by this key already there: a duplicate.
        auto duplicate = [&](const oci::Descriptor& existing) {
            if (existing.digest == layer.digest) return true;
            if (existing.media_type != cosign::DsseEnvelopeMediaType || !carries_log_entry(existing, layer))
                return false;
            auto type = existing.annotations.find(std::string(cosign::PredicateTypeAnnotation));
            if (type == existing.annotations.end() || type->second != options.predicate_type) return false;
            try {
                Envelope other = parse_envelope(store.get_blob(existing), "attestation " + existing.digest);
                return other.payload == payload && verify_envelope(other, public_key);
            } catch (const Error& e) {
                if (e.code() == ErrorCode::Parse || e.code() == ErrorCode::Integrity) return false;
                throw;
            }
        };
        done.legacy_added = append_legacy(store, done.legacy_tag, layer, envelope_json, duplicate);
        done.referrer = add_referrer(store, subject, bundle_to_string(make_bundle(envelope, public_key, entry)),
                                     cosign::BundleContentDsse, options.predicate_type, options.created);
        report.manifests.push_back(std::move(done));
    }
    return report;
}

}  // namespace slate::sign
