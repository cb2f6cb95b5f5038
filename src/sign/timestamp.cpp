// RFC 3161 timestamps with OpenSSL's TS API.

#include "timestamp.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "x509.hpp"

namespace slate::sign::detail {
namespace {

struct RespDeleter {
    void operator()(TS_RESP* resp) const { TS_RESP_free(resp); }
};
struct Pkcs7Deleter {
    void operator()(PKCS7* token) const { PKCS7_free(token); }
};
struct TstInfoDeleter {
    void operator()(TS_TST_INFO* info) const { TS_TST_INFO_free(info); }
};
struct VerifyCtxDeleter {
    void operator()(TS_VERIFY_CTX* ctx) const { TS_VERIFY_CTX_free(ctx); }
};
struct StoreDeleter {
    void operator()(X509_STORE* store) const { X509_STORE_free(store); }
};
struct BioDeleter {
    void operator()(BIO* bio) const { BIO_free(bio); }
};

[[noreturn]] void fail(const std::string& why) {
    throw Error(ErrorCode::CheckFailed, "the RFC 3161 timestamp is not valid: " + why);
}

// A timestamp as sigstore bundles carry it: normally a TimeStampResp, but a
// bare TimeStampToken (CMS ContentInfo) is accepted too.
struct ParsedTimestamp {
    std::unique_ptr<TS_RESP, RespDeleter> response;
    std::unique_ptr<PKCS7, Pkcs7Deleter> token;
    std::int64_t time = 0;
};

ParsedTimestamp parse(std::string_view der) {
    ParsedTimestamp parsed;
    const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
    const unsigned char* p = begin;
    parsed.response.reset(d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size())));
    const TS_TST_INFO* info = nullptr;
    std::unique_ptr<TS_TST_INFO, TstInfoDeleter> token_info;
    if (parsed.response && p == begin + der.size()) {
        info = TS_RESP_get_tst_info(parsed.response.get());
        if (!info) fail("the timestamp authority did not grant it (no TSTInfo in the response)");
    } else {
        parsed.response.reset();
        p = begin;
        parsed.token.reset(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
        if (!parsed.token || p != begin + der.size()) {
            ERR_clear_error();
            fail("it is neither a DER TimeStampResp nor a TimeStampToken");
        }
        token_info.reset(PKCS7_to_TS_TST_INFO(parsed.token.get()));
        if (!token_info) {
            ERR_clear_error();
            fail("the token carries no TSTInfo");
        }
        info = token_info.get();
    }
    std::tm tm{};
    const ASN1_GENERALIZEDTIME* time = TS_TST_INFO_get_time(info);
    if (!time || ASN1_TIME_to_tm(time, &tm) != 1) fail("its genTime cannot be read");
    parsed.time = static_cast<std::int64_t>(timegm(&tm));
    ERR_clear_error();
    return parsed;
}

std::string openssl_reason() {
    unsigned long code = ERR_peek_last_error();
    const char* text = code ? ERR_reason_error_string(code) : nullptr;
    std::string reason = text ? text : "unknown reason";
    ERR_clear_error();
    return reason;
}

// One attempt against one authority; the reason on failure.
std::optional<std::string> try_authority(const ParsedTimestamp& timestamp, std::string_view signed_data,
                                         const CertificateAuthority& authority) {
    if (!authority.valid_for.contains(timestamp.time))
        return fmt::format("its time {} is outside the validity of timestamp authority {} in the trusted root",
                           oci::format_rfc3339(timestamp.time), authority.uri.empty() ? "(unnamed)" : authority.uri);
    std::unique_ptr<X509_STORE, StoreDeleter> store(X509_STORE_new());
    X509Stack certificates(sk_X509_new_null());
    if (!store || !certificates) throw Error(ErrorCode::Internal, "out of memory (OpenSSL)");
    // The signer and intermediates are untrusted; the self-signed roots are the anchors.
    std::string error;
    if (!load_authority(authority, store.get(), certificates.get(), error)) return error;
    // The chain must be valid when the timestamp was made, not now: TSA
    // certificates expire while their timestamps stay good.
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), static_cast<time_t>(timestamp.time));
    X509_VERIFY_PARAM_clear_flags(X509_STORE_get0_param(store.get()), X509_V_FLAG_PARTIAL_CHAIN);

    std::unique_ptr<TS_VERIFY_CTX, VerifyCtxDeleter> ctx(TS_VERIFY_CTX_new());
    BIO* data = BIO_new_mem_buf(signed_data.data(), static_cast<int>(signed_data.size()));
    if (!ctx || !data) {
        BIO_free(data);
        throw Error(ErrorCode::Internal, "out of memory (OpenSSL)");
    }
    TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
    // The context owns what is handed to it from here on (OpenSSL 3.0).
    TS_VERIFY_CTX_set_data(ctx.get(), data);
    TS_VERIFY_CTX_set_store(ctx.get(), store.release());
    TS_VERIFY_CTX_set_certs(ctx.get(), certificates.release());
    int ok = timestamp.response ? TS_RESP_verify_response(ctx.get(), timestamp.response.get())
                                : TS_RESP_verify_token(ctx.get(), timestamp.token.get());
    if (ok == 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    return fmt::format("it does not verify against timestamp authority {}: {}",
                       authority.uri.empty() ? "(unnamed)" : authority.uri, openssl_reason());
}

}  // namespace

std::int64_t verify_rfc3161_timestamp(std::string_view der, std::string_view signed_data,
                                      const std::vector<CertificateAuthority>& authorities) {
    ParsedTimestamp timestamp = parse(der);
    if (authorities.empty()) fail("the trusted root has no timestamp authority");
    std::string reasons;
    for (const auto& authority : authorities) {
        auto reason = try_authority(timestamp, signed_data, authority);
        if (!reason) return timestamp.time;
        reasons += (reasons.empty() ? "" : "; ") + *reason;
    }
    fail(reasons);
}

}  // namespace slate::sign::detail
