#pragma once
// cosign's on-registry formats for image signatures and attestations, as
// documents (no I/O): docs/signing.md describes them with links upstream.
//
//   legacy (cosign v2, still read by v3)
//     tag sha256-<hex>.sig  an image whose layers are simple-signing payloads
//                           (application/vnd.dev.cosign.simplesigning.v1+json),
//                           each with its base64 signature in the layer
//                           annotation dev.cosignproject.cosign/signature
//     tag sha256-<hex>.att  the same with DSSE envelopes
//                           (application/vnd.dsse.envelope.v1+json) and the
//                           annotation predicateType
//     The image config is go-containerregistry's empty config with one
//     diff_id per layer; a transparency-log entry rides along in the layer
//     annotation dev.sigstore.cosign/bundle ("Rekor bundle").
//   referrers (cosign v3, --new-bundle-format)
//     an OCI 1.1 artifact manifest with subject = the signed manifest,
//     artifactType application/vnd.dev.sigstore.bundle.v0.3+json, the empty
//     config, one layer holding the Sigstore bundle, and the annotations
//     dev.sigstore.bundle.content and dev.sigstore.bundle.predicateType. An
//     image signature is a DSSE in-toto statement whose predicate type is
//     https://sigstore.dev/cosign/sign/v1 (subject: the manifest digest).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/oci/image.hpp"
#include "slate/sign/bundle.hpp"

namespace slate::sign::cosign {

inline constexpr std::string_view SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr std::string_view DsseEnvelopeMediaType = "application/vnd.dsse.envelope.v1+json";
inline constexpr std::string_view SignatureAnnotation = "dev.cosignproject.cosign/signature";
inline constexpr std::string_view RekorBundleAnnotation = "dev.sigstore.cosign/bundle";
inline constexpr std::string_view CertificateAnnotation = "dev.sigstore.cosign/certificate";
inline constexpr std::string_view PredicateTypeAnnotation = "predicateType";
inline constexpr std::string_view BundleContentAnnotation = "dev.sigstore.bundle.content";
inline constexpr std::string_view BundlePredicateTypeAnnotation = "dev.sigstore.bundle.predicateType";
inline constexpr std::string_view BundleContentDsse = "dsse-envelope";
inline constexpr std::string_view BundleContentMessageSignature = "message-signature";
// critical.type of a simple-signing payload cosign accepts.
inline constexpr std::string_view SignaturePayloadType = "cosign container image signature";
// The predicate type of a cosign v3 image signature (a DSSE statement).
inline constexpr std::string_view SignPredicateType = "https://sigstore.dev/cosign/sign/v1";
// The empty JSON object "{}", the config of artifact manifests (image spec 1.1).
inline constexpr std::string_view EmptyJson = "{}";

// Go's encoding/json rendering of `value`: no whitespace, object members in
// the order given (callers insert map keys sorted, as Go sorts map keys),
// "<", ">", "&", U+2028 and U+2029 escaped as \u003c ... as Go does by
// default. Throws slate::Error (Usage) for invalid UTF-8.
std::string go_json(const nlohmann::ordered_json& value);

// ------------------------------------------------------------ simple signing

struct SimpleSigning {
    std::string docker_reference;  // critical.identity.docker-reference (not checked by verifiers)
    std::string manifest_digest;   // critical.image.docker-manifest-digest
    std::string type;              // critical.type
    nlohmann::json optional;       // null or an object
};

// The payload cosign signs for the manifest `manifest_digest`, byte for byte
// what sigstore's payload.Cosign marshals:
//   {"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},
//    "type":"cosign container image signature"},"optional":null|{...sorted...}}
std::string make_payload(std::string_view docker_reference, std::string_view manifest_digest,
                         const std::map<std::string, std::string>& optional = {});
// Throws slate::Error (Parse) naming `what` when the payload is not JSON or
// lacks critical.image.docker-manifest-digest or critical.type.
SimpleSigning parse_payload(std::string_view bytes, std::string_view what = "signature payload");

// The name cosign writes as docker-reference (and as an attestation's
// subject name): go-containerregistry's repository name, in which Docker
// Hub is "index.docker.io".
std::string docker_reference(std::string_view registry, std::string_view repository);

// ------------------------------------------------------------ tags

// "sha256:<hex>" -> "sha256-<hex>.sig" / "sha256-<hex>.att". Throws
// slate::Error (Usage) for anything but a sha256 digest.
std::string signature_tag(std::string_view digest);
std::string attestation_tag(std::string_view digest);

// ------------------------------------------------------------ legacy images

// A .sig or .att image: the layers (each a payload or envelope blob with its
// annotations) and the documents that describe them.
class SignatureImage {
public:
    SignatureImage() = default;
    // Reads a manifest a registry or layout holds under the tag. Throws
    // slate::Error (Parse) naming `what`.
    static SignatureImage parse(std::string_view manifest_bytes, std::string_view what);

    const std::vector<oci::Descriptor>& layers() const { return m_layers; }
    // Appends `layer` unless a layer with the same digest and annotations is
    // there already (false then: nothing changed).
    bool add(oci::Descriptor layer);

    // go-containerregistry's config of such an image: empty fields, one
    // zero-time history entry and one diff_id (the layer digest) per layer.
    std::string config_json() const;
    oci::Descriptor config_descriptor() const;
    // The manifest, as go-containerregistry serialises it (schemaVersion,
    // mediaType, config, layers; descriptors as mediaType, size, digest,
    // annotations).
    std::string manifest_json() const;

private:
    std::vector<oci::Descriptor> m_layers;
};

// The descriptor of a layer holding `blob`, with cosign's annotations.
oci::Descriptor signature_layer(std::string_view payload, std::string_view signature,
                                const std::optional<std::string>& rekor_bundle = std::nullopt);
oci::Descriptor attestation_layer(std::string_view envelope_json, std::string_view predicate_type,
                                  const std::optional<std::string>& rekor_bundle = std::nullopt);

// ------------------------------------------------------------ Rekor bundles

// cosign's dev.sigstore.cosign/bundle annotation for `entry`:
//   {"SignedEntryTimestamp":b64,"Payload":{"body":b64,"integratedTime":N,
//    "logIndex":N,"logID":hex}}
// nullopt when the entry has no signed entry timestamp (a Rekor v2 entry).
std::optional<std::string> rekor_bundle_annotation(const TransparencyLogEntry& entry);
// Reads the annotation back as an entry without inclusion proof; kind and
// version come from the body. Throws slate::Error (Parse).
TransparencyLogEntry parse_rekor_bundle_annotation(std::string_view json);

// ------------------------------------------------------------ referrers

// The statement cosign v3 signs for an image: subject = the digest alone
// (with `annotations` as the subject's annotations), predicate type
// SignPredicateType, predicate {}.
std::string make_sign_statement(std::string_view manifest_digest,
                                const std::map<std::string, std::string>& annotations = {});

// The artifact manifest carrying a bundle (`bundle_layer`, media type
// bundle v0.3) for `subject`. `content` is BundleContentDsse or
// BundleContentMessageSignature; `predicate_type` may be empty; `created`
// is written as org.opencontainers.image.created.
oci::Manifest bundle_referrer(const oci::Descriptor& subject, const oci::Descriptor& bundle_layer,
                              std::string_view content, std::string_view predicate_type, std::int64_t created);
// The empty config's descriptor ("{}", media type application/vnd.oci.empty.v1+json).
oci::Descriptor empty_config_descriptor();

}  // namespace slate::sign::cosign
