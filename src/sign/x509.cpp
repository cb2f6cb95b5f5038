// X.509 for Sigstore: Fulcio certificates, chains to the trusted root's CAs,
// identities, and embedded SCTs (verified by hand over the precertificate
// TBS: OpenSSL's CT API can only load logs from a file).

#include "x509.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "slate/error.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign::detail {
namespace {

struct StoreDeleter {
    void operator()(X509_STORE* store) const { X509_STORE_free(store); }
};
struct StoreCtxDeleter {
    void operator()(X509_STORE_CTX* ctx) const { X509_STORE_CTX_free(ctx); }
};
struct GeneralNamesDeleter {
    void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
struct SctListDeleter {
    void operator()(STACK_OF(SCT) * list) const { SCT_LIST_free(list); }
};
struct ObjectDeleter {
    void operator()(ASN1_OBJECT* object) const { ASN1_OBJECT_free(object); }
};
struct Utf8Deleter {
    void operator()(ASN1_UTF8STRING* string) const { ASN1_UTF8STRING_free(string); }
};
struct BioDeleter {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct OpensslFree {
    void operator()(unsigned char* data) const { OPENSSL_free(data); }
};

std::string asn1_string(const ASN1_STRING* string) {
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(string)), static_cast<std::size_t>(ASN1_STRING_length(string))};
}

std::int64_t asn1_time_to_unix(const ASN1_TIME* time) {
    std::tm tm{};
    if (!time || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
    return static_cast<std::int64_t>(timegm(&tm));
}

const ASN1_OCTET_STRING* extension_data(X509* certificate, const char* oid) {
    std::unique_ptr<ASN1_OBJECT, ObjectDeleter> object(OBJ_txt2obj(oid, 1));
    if (!object) return nullptr;
    int index = X509_get_ext_by_OBJ(certificate, object.get(), -1);
    if (index < 0) return nullptr;
    return X509_EXTENSION_get_data(X509_get_ext(certificate, index));
}

void append_u64(std::string& out, std::uint64_t value, int bytes) {
    for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

std::string sha256_raw(std::string_view data) {
    util::Sha256 sha;
    sha.update(data);
    auto digest = sha.finish();
    return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// The TBSCertificate of `leaf` without its SCT list: what the CT log signed
// (RFC 6962 section 3.2: the precertificate's TBS, poison removed, equals it).
std::optional<std::string> precertificate_tbs(X509* leaf) {
    X509Ptr copy(X509_dup(leaf));
    if (!copy) return std::nullopt;
    int index = X509_get_ext_by_NID(copy.get(), NID_ct_precert_scts, -1);
    if (index < 0) return std::nullopt;
    X509_EXTENSION_free(X509_delete_ext(copy.get(), index));
    unsigned char* der = nullptr;
    int length = i2d_re_X509_tbs(copy.get(), &der);
    if (length <= 0) return std::nullopt;
    std::unique_ptr<unsigned char, OpensslFree> owner(der);
    return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
}

}  // namespace

X509Ptr parse_certificate(std::string_view der) {
    const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
    const unsigned char* p = begin;
    X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    ERR_clear_error();
    if (!certificate || p != begin + der.size()) return nullptr;
    return certificate;
}

std::string certificate_der(X509* certificate) {
    unsigned char* der = nullptr;
    int length = i2d_X509(certificate, &der);
    if (length <= 0) throw Error(ErrorCode::Internal, "cannot encode a certificate (OpenSSL)");
    std::unique_ptr<unsigned char, OpensslFree> owner(der);
    return {reinterpret_cast<const char*>(der), static_cast<std::size_t>(length)};
}

std::optional<std::string> certificate_pem_to_der(std::string_view pem) {
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return std::nullopt;
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    if (!certificate) return std::nullopt;
    return certificate_der(certificate.get());
}

std::int64_t not_before(const X509* certificate) { return asn1_time_to_unix(X509_get0_notBefore(certificate)); }
std::int64_t not_after(const X509* certificate) { return asn1_time_to_unix(X509_get0_notAfter(certificate)); }

bool is_self_signed(X509* certificate) { return X509_self_signed(certificate, 0) == 1; }

bool is_ca(X509* certificate) { return X509_check_ca(certificate) != 0; }

PublicKey certificate_key(X509* certificate) {
    EVP_PKEY* key = X509_get_pubkey(certificate);  // a new reference
    if (!key) throw Error(ErrorCode::CheckFailed, "the signing certificate's public key cannot be read");
    return PublicKey(key);
}

std::vector<std::string> subject_alternative_names(X509* certificate) {
    std::vector<std::string> names;
    std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> general(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
    if (!general) return names;
    for (int i = 0; i < sk_GENERAL_NAME_num(general.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(general.get(), i);
        switch (name->type) {
        case GEN_URI: names.push_back(asn1_string(name->d.uniformResourceIdentifier)); break;
        case GEN_EMAIL: names.push_back(asn1_string(name->d.rfc822Name)); break;
        case GEN_DNS: names.push_back(asn1_string(name->d.dNSName)); break;
        case GEN_OTHERNAME:
            if (name->d.otherName->value && name->d.otherName->value->type == V_ASN1_UTF8STRING)
                names.push_back(asn1_string(name->d.otherName->value->value.utf8string));
            break;
        default: break;
        }
    }
    return names;
}

std::optional<std::string> oidc_issuer(X509* certificate) {
    if (const ASN1_OCTET_STRING* data = extension_data(certificate, "1.3.6.1.4.1.57264.1.8")) {
        const unsigned char* p = ASN1_STRING_get0_data(data);
        std::unique_ptr<ASN1_UTF8STRING, Utf8Deleter> value(d2i_ASN1_UTF8STRING(nullptr, &p, ASN1_STRING_length(data)));
        ERR_clear_error();
        if (value) return asn1_string(value.get());
        return std::nullopt;
    }
    if (const ASN1_OCTET_STRING* data = extension_data(certificate, "1.3.6.1.4.1.57264.1.1")) return asn1_string(data);
    return std::nullopt;
}

bool load_authority(const CertificateAuthority& authority, X509_STORE* store, STACK_OF(X509) * untrusted,
                    std::string& error) {
    bool anchored = false;
    for (const auto& der : authority.chain) {
        X509Ptr certificate = parse_certificate(der);
        if (!certificate) {
            error = "a certificate of the authority " + authority.uri + " is malformed";
            return false;
        }
        if (is_self_signed(certificate.get())) {
            if (X509_STORE_add_cert(store, certificate.get()) != 1) throw Error(ErrorCode::Internal, "X509_STORE_add_cert failed");
            anchored = true;
        } else {
            if (sk_X509_push(untrusted, certificate.get()) == 0) throw Error(ErrorCode::Internal, "out of memory (OpenSSL)");
            certificate.release();
        }
    }
    ERR_clear_error();
    if (!anchored) error = "the chain of authority " + authority.uri + " has no root (self-signed) certificate";
    return anchored;
}

X509Ptr verify_chain(X509* leaf, const CertificateAuthority& authority, std::int64_t time, std::string& error) {
    std::unique_ptr<X509_STORE, StoreDeleter> store(X509_STORE_new());
    X509Stack intermediates(sk_X509_new_null());
    if (!store || !intermediates) throw Error(ErrorCode::Internal, "out of memory (OpenSSL)");
    if (!load_authority(authority, store.get(), intermediates.get(), error)) return nullptr;
    std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, intermediates.get()) != 1)
        throw Error(ErrorCode::Internal, "cannot set up certificate verification (OpenSSL)");
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(time));  // sets X509_V_FLAG_USE_CHECK_TIME
    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    int ok = X509_verify_cert(ctx.get());
    ERR_clear_error();
    if (ok != 1) {
        error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
        return nullptr;
    }
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    if (sk_X509_num(chain) < 2) {
        error = "the certificate is itself the root";
        return nullptr;
    }
    X509* issuer = sk_X509_value(chain, 1);
    X509_up_ref(issuer);
    return X509Ptr(issuer);
}

std::size_t verify_embedded_scts(X509* leaf, X509* issuer, const std::vector<TransparencyLogInstance>& ctlogs,
                                 std::string& error) {
    std::unique_ptr<STACK_OF(SCT), SctListDeleter> scts(
        static_cast<STACK_OF(SCT)*>(X509_get_ext_d2i(leaf, NID_ct_precert_scts, nullptr, nullptr)));
    ERR_clear_error();
    if (!scts || sk_SCT_num(scts.get()) == 0) {
        error = "the certificate carries no SCT";
        return 0;
    }
    auto tbs = precertificate_tbs(leaf);
    if (!tbs) {
        error = "the certificate's TBS cannot be rebuilt";
        return 0;
    }
    unsigned char* key_der = nullptr;
    int key_length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &key_der);
    if (key_length <= 0) throw Error(ErrorCode::Internal, "cannot encode the issuer's public key (OpenSSL)");
    std::unique_ptr<unsigned char, OpensslFree> key_owner(key_der);
    const std::string issuer_key_hash =
        sha256_raw({reinterpret_cast<const char*>(key_der), static_cast<std::size_t>(key_length)});

    std::size_t verified = 0;
    for (int i = 0; i < sk_SCT_num(scts.get()); ++i) {
        SCT* sct = sk_SCT_value(scts.get(), i);
        if (SCT_get_version(sct) != SCT_VERSION_V1) {
            error = "an SCT has an unknown version";
            continue;
        }
        unsigned char* id = nullptr;
        std::size_t id_length = SCT_get0_log_id(sct, &id);
        const TransparencyLogInstance* log = nullptr;
        for (const auto& candidate : ctlogs)
            if (candidate.log_id == std::string_view(reinterpret_cast<const char*>(id), id_length)) log = &candidate;
        if (!log) {
            error = "an SCT is from a CT log that is not in the trusted root";
            continue;
        }
        const std::uint64_t timestamp_ms = SCT_get_timestamp(sct);
        if (!log->valid_for.contains(static_cast<std::int64_t>(timestamp_ms / 1000))) {
            error = "an SCT was issued outside its CT log's validity in the trusted root";
            continue;
        }
        unsigned char* extensions = nullptr;
        std::size_t extensions_length = SCT_get0_extensions(sct, &extensions);
        unsigned char* signature = nullptr;
        std::size_t signature_length = SCT_get0_signature(sct, &signature);

        // RFC 6962 section 3.2, digitally-signed struct for a precert entry.
        std::string data;
        data += '\0';             // sct_version v1
        data += '\0';             // signature_type certificate_timestamp
        append_u64(data, timestamp_ms, 8);
        append_u64(data, 1, 2);   // entry_type precert_entry
        data += issuer_key_hash;
        append_u64(data, tbs->size(), 3);
        data += *tbs;
        append_u64(data, extensions_length, 2);
        data.append(reinterpret_cast<const char*>(extensions), extensions_length);
        if (log->key.verify(data, {reinterpret_cast<const char*>(signature), signature_length})) {
            ++verified;
        } else {
            error = "an SCT's signature does not verify with its CT log's key";
        }
    }
    return verified;
}

}  // namespace slate::sign::detail
