#include "slate/sign/keys.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

// ------------------------------------------------------------ RAII wrappers

struct PkeyDeleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxDeleter {
    void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BioDeleter {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct EcdsaSigDeleter {
    void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
struct BignumDeleter {
    void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct Pkcs8Deleter {
    void operator()(PKCS8_PRIV_KEY_INFO* info) const { PKCS8_PRIV_KEY_INFO_free(info); }
};
struct OpensslFree {
    void operator()(void* p) const { OPENSSL_free(p); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;
using Pkcs8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, Pkcs8Deleter>;

// A byte string that is wiped when it dies: derived keys, decrypted key material.
class Secret {
public:
    Secret() = default;
    explicit Secret(std::size_t size) : m_bytes(size, '\0') {}
    explicit Secret(std::string bytes) : m_bytes(std::move(bytes)) {}
    ~Secret() { OPENSSL_cleanse(m_bytes.data(), m_bytes.size()); }
    // A move copies, then wipes the source (a moved-from short string would
    // keep its bytes in its inline buffer).
    Secret(Secret&& other) noexcept : m_bytes(other.m_bytes) { OPENSSL_cleanse(other.m_bytes.data(), other.m_bytes.size()); }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;

    std::string& str() { return m_bytes; }
    const std::string& str() const { return m_bytes; }
    unsigned char* bytes() { return reinterpret_cast<unsigned char*>(m_bytes.data()); }
    const unsigned char* bytes() const { return reinterpret_cast<const unsigned char*>(m_bytes.data()); }
    std::size_t size() const { return m_bytes.size(); }

private:
    std::string m_bytes;
};

// One PEM block as PEM_read_bio returns it; the body is wiped on destruction
// because it may be a private key.
struct PemBlock {
    std::string label;
    std::string header;
    unsigned char* data = nullptr;
    long size = 0;

    PemBlock() = default;
    PemBlock(const PemBlock&) = delete;
    PemBlock& operator=(const PemBlock&) = delete;
    ~PemBlock() {
        if (data) OPENSSL_clear_free(data, static_cast<std::size_t>(size));
    }
    std::string_view body() const { return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)}; }
};

// The first PEM block of `text`, or false when there is none or it is malformed.
bool read_pem(std::string_view text, PemBlock& block) {
    if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) throw Error(ErrorCode::Internal, "OpenSSL cannot allocate a memory BIO");
    char* name = nullptr;
    char* header = nullptr;
    int ok = PEM_read_bio(bio.get(), &name, &header, &block.data, &block.size);
    std::unique_ptr<char, OpensslFree> name_owner(name), header_owner(header);
    ERR_clear_error();
    if (ok != 1) return false;
    block.label = name ? name : "";
    block.header = header ? header : "";
    return true;
}

std::string openssl_error() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    return buffer;
}

[[noreturn]] void throw_internal(std::string what) {
    throw Error(ErrorCode::Internal, what + ": " + openssl_error());
}

// The key type, or nullopt for a key Sigstore does not use.
std::optional<KeyType> key_type_of(const EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519:
        return KeyType::Ed25519;
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        return KeyType::Rsa;
    case EVP_PKEY_EC: {
        char group[64] = {};
        std::size_t length = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) return std::nullopt;
        std::string_view name(group, length);
        if (name == "prime256v1" || name == "P-256" || name == "secp256r1") return KeyType::EcdsaP256;
        if (name == "secp384r1" || name == "P-384") return KeyType::EcdsaP384;
        if (name == "secp521r1" || name == "P-521") return KeyType::EcdsaP521;
        return std::nullopt;
    }
    default:
        return std::nullopt;
    }
}

KeyType require_supported(const EVP_PKEY* key, std::string_view display_name) {
    auto type = key_type_of(key);
    if (!type)
        throw Error(ErrorCode::Parse, std::string(display_name) + " is of a key type slate does not support",
                    "Use an ECDSA P-256, P-384 or P-521, Ed25519 or RSA key.");
    return *type;
}

const EVP_MD* md_of(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::Sha256:
        return EVP_sha256();
    case HashAlgorithm::Sha384:
        return EVP_sha384();
    case HashAlgorithm::Sha512:
        return EVP_sha512();
    }
    return EVP_sha256();
}

HashAlgorithm natural_hash_of(KeyType type) {
    switch (type) {
    case KeyType::EcdsaP384:
        return HashAlgorithm::Sha384;
    case KeyType::EcdsaP521:
        return HashAlgorithm::Sha512;
    default:
        return HashAlgorithm::Sha256;
    }
}

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, PkeyDeleter{}); }

std::string pem_wrap(std::string_view label, std::string_view body) {
    std::string b64 = util::base64_encode(body);
    std::string out = "-----BEGIN " + std::string(label) + "-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
    out += "-----END " + std::string(label) + "-----\n";
    return out;
}

// ---------------------------------------------------------- verification

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// Raw r||s (each half the curve order's size) as a DER ECDSA-Sig-Value; empty
// when `raw` does not have that shape.
std::string raw_ecdsa_to_der(std::string_view raw, std::size_t half) {
    if (raw.size() != 2 * half) return {};
    EcdsaSigPtr sig(ECDSA_SIG_new());
    BignumPtr r(BN_bin2bn(bytes_of(raw), static_cast<int>(half), nullptr));
    BignumPtr s(BN_bin2bn(bytes_of(raw) + half, static_cast<int>(half), nullptr));
    if (!sig || !r || !s) throw_internal("cannot convert an ECDSA signature");
    if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) throw_internal("cannot convert an ECDSA signature");
    r.release();  // owned by sig now
    s.release();
    unsigned char* der = nullptr;
    int length = i2d_ECDSA_SIG(sig.get(), &der);
    if (length <= 0) throw_internal("cannot encode an ECDSA signature");
    std::unique_ptr<unsigned char, OpensslFree> owner(der);
    return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
}

enum class RsaPadding { None, Pkcs1, Pss };

// EVP_PKEY_verify of a digest; false on any failure.
bool verify_raw_digest(EVP_PKEY* key, std::string_view digest_bytes, const EVP_MD* md, std::string_view signature,
                       RsaPadding padding) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) return false;
    if (padding == RsaPadding::Pkcs1 && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) return false;
    if (padding == RsaPadding::Pss) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_AUTO) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1)
            return false;
    }
    if (EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) return false;
    return EVP_PKEY_verify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(digest_bytes),
                           digest_bytes.size()) == 1;
}

bool verify_ed25519(EVP_PKEY* key, std::string_view message, std::string_view signature) {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) return false;
    return EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(message), message.size()) == 1;
}

// ------------------------------------------------------ cosign key files

constexpr std::string_view SigstoreEncryptedLabel = "ENCRYPTED SIGSTORE PRIVATE KEY";
constexpr std::string_view CosignEncryptedLabel = "ENCRYPTED COSIGN PRIVATE KEY";
constexpr std::uint64_t GeneratedScryptN = 65536;
constexpr std::uint64_t GeneratedScryptR = 8;
constexpr std::uint64_t GeneratedScryptP = 1;

// The 32-byte secretbox key scrypt derives. OpenSSL refuses by default to use
// more than 32 MiB, and N=65536 r=8 needs 64 MiB (128 * r * N), so maxmem is
// raised to what these parameters need.
Secret derive_key(std::string_view password, std::string_view salt, std::uint64_t n, std::uint64_t r,
                  std::uint64_t p) {
    Secret key(crypto_secretbox_KEYBYTES);
    std::uint64_t maxmem = 128 * r * (n + 2 + p) + (1u << 20);
    if (EVP_PBE_scrypt(password.data(), password.size(), bytes_of(salt), salt.size(), n, r, p, maxmem, key.bytes(),
                       key.size()) != 1)
        throw_internal("scrypt failed");
    return key;
}

// Reads the unsigned integer `name` of scrypt's params, within [min, max].
std::uint64_t scrypt_param(const nlohmann::json& params, const char* name, std::uint64_t min, std::uint64_t max,
                           std::string_view display_name) {
    auto it = params.find(name);
    if (it == params.end() || !it->is_number_integer() || it->get<std::int64_t>() < static_cast<std::int64_t>(min) ||
        it->get<std::uint64_t>() > max)
        throw Error(ErrorCode::Parse,
                    std::string(display_name) + ": scrypt parameter " + name + " is missing or out of range",
                    "The key file is damaged or was not written by cosign or slate keygen.");
    return it->get<std::uint64_t>();
}

std::string json_base64(const nlohmann::json& object, const char* name, std::string_view display_name) {
    auto it = object.find(name);
    std::optional<std::string> decoded;
    if (it != object.end() && it->is_string()) decoded = util::base64_decode(it->get<std::string>());
    if (!decoded)
        throw Error(ErrorCode::Parse, std::string(display_name) + ": \"" + name + "\" is missing or not base64",
                    "The key file is damaged or was not written by cosign or slate keygen.");
    return *decoded;
}

PkeyPtr pkcs8_der_to_key(std::string_view der) {
    const unsigned char* p = bytes_of(der);
    PKCS8_PRIV_KEY_INFO* raw_info = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size()));
    Pkcs8Ptr info(raw_info);
    if (!info || p != bytes_of(der) + der.size()) return nullptr;
    return PkeyPtr(EVP_PKCS82PKEY(info.get()));
}

// Decrypts cosign's JSON body. Malformed JSON or unknown algorithms: Parse;
// a secretbox that does not open: Auth (a wrong password, or a damaged file).
PkeyPtr decrypt_cosign_key(std::string_view body, const std::function<std::string()>& password,
                           std::string_view display_name) {
    const std::string where(display_name);
    const std::string damaged = "The key file is damaged or was not written by cosign or slate keygen.";
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception&) {
        throw Error(ErrorCode::Parse, where + ": the encrypted key is not valid JSON", damaged);
    }
    if (!doc.is_object()) throw Error(ErrorCode::Parse, where + ": the encrypted key is not a JSON object", damaged);
    auto kdf = doc.find("kdf");
    auto cipher = doc.find("cipher");
    if (kdf == doc.end() || !kdf->is_object() || cipher == doc.end() || !cipher->is_object())
        throw Error(ErrorCode::Parse, where + ": the encrypted key has no \"kdf\" or \"cipher\" object", damaged);
    std::string kdf_name = kdf->value("name", std::string{});
    if (kdf_name != "scrypt")
        throw Error(ErrorCode::Parse, where + ": unknown key derivation function \"" + kdf_name + "\"",
                    "slate reads cosign's format, whose KDF is scrypt.");
    std::string cipher_name = cipher->value("name", std::string{});
    if (cipher_name != "nacl/secretbox")
        throw Error(ErrorCode::Parse, where + ": unknown cipher \"" + cipher_name + "\"",
                    "slate reads cosign's format, whose cipher is nacl/secretbox.");
    auto params = kdf->find("params");
    if (params == kdf->end() || !params->is_object())
        throw Error(ErrorCode::Parse, where + ": the scrypt parameters are missing", damaged);
    // Bounds: up to 1 GiB of scrypt memory (N=2^20 with r=8); cosign writes 2^15 or 2^16.
    std::uint64_t n = scrypt_param(*params, "N", 2, std::uint64_t{1} << 20, display_name);
    std::uint64_t r = scrypt_param(*params, "r", 1, 32, display_name);
    std::uint64_t p = scrypt_param(*params, "p", 1, 16, display_name);
    if ((n & (n - 1)) != 0 || 128 * r * n > (std::uint64_t{1} << 30))
        throw Error(ErrorCode::Parse, where + ": scrypt parameters N=" + std::to_string(n) + " r=" +
                                          std::to_string(r) + " are invalid or need more than 1 GiB",
                    damaged);
    std::string salt = json_base64(*kdf, "salt", display_name);
    std::string nonce = json_base64(*cipher, "nonce", display_name);
    std::string ciphertext = json_base64(doc, "ciphertext", display_name);
    if (salt.empty()) throw Error(ErrorCode::Parse, where + ": the scrypt salt is empty", damaged);
    if (nonce.size() != crypto_secretbox_NONCEBYTES)
        throw Error(ErrorCode::Parse, where + ": the secretbox nonce is not 24 bytes", damaged);
    if (ciphertext.size() < crypto_secretbox_MACBYTES)
        throw Error(ErrorCode::Parse, where + ": the ciphertext is too short", damaged);

    Secret pass(password());
    Secret key = derive_key(pass.str(), salt, n, r, p);
    Secret plain(ciphertext.size() - crypto_secretbox_MACBYTES);
    if (crypto_secretbox_open_easy(plain.bytes(), bytes_of(ciphertext), ciphertext.size(), bytes_of(nonce),
                                   key.bytes()) != 0)
        throw Error(ErrorCode::Auth, "wrong password for " + where,
                    "Give the password the key was created with; if it is right, the file is damaged.");
    PkeyPtr result = pkcs8_der_to_key(plain.str());
    ERR_clear_error();
    if (!result)
        throw Error(ErrorCode::Parse, where + ": the decrypted key is not a PKCS#8 private key", damaged);
    return result;
}

std::string pkcs8_der(EVP_PKEY* key) {
    Pkcs8Ptr info(EVP_PKEY2PKCS8(key));
    if (!info) throw_internal("cannot encode a private key as PKCS#8");
    unsigned char* der = nullptr;
    int length = i2d_PKCS8_PRIV_KEY_INFO(info.get(), &der);
    if (length <= 0) throw_internal("cannot encode a private key as PKCS#8");
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
    OPENSSL_clear_free(der, static_cast<std::size_t>(length));
    return out;
}

}  // namespace

// ================================================================ public API

const char* to_string(KeyType type) {
    switch (type) {
    case KeyType::EcdsaP256:
        return "ecdsa-p256";
    case KeyType::EcdsaP384:
        return "ecdsa-p384";
    case KeyType::EcdsaP521:
        return "ecdsa-p521";
    case KeyType::Ed25519:
        return "ed25519";
    case KeyType::Rsa:
        return "rsa";
    }
    return "unknown";
}

std::string digest(HashAlgorithm algorithm, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), out, &size, md_of(algorithm), nullptr) != 1)
        throw_internal("cannot compute a digest");
    return std::string(reinterpret_cast<const char*>(out), size);
}

// ---------------------------------------------------------------- PublicKey

PublicKey::PublicKey(EVP_PKEY* key) : m_key(share(key)), m_type(require_supported(key, "public key")) {}

PublicKey PublicKey::from_der(std::string_view der) {
    const unsigned char* p = bytes_of(der);
    PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    ERR_clear_error();
    if (!key || p != bytes_of(der) + der.size())
        throw Error(ErrorCode::Parse, "malformed public key: not a DER SubjectPublicKeyInfo");
    require_supported(key.get(), "public key");
    return PublicKey(key.release());
}

PublicKey PublicKey::from_pem(std::string_view pem, std::string_view display_name) {
    const std::string where(display_name);
    PemBlock block;
    if (!read_pem(pem, block))
        throw Error(ErrorCode::Parse, where + " is not a PEM public key",
                    "Give a PEM file starting with -----BEGIN PUBLIC KEY-----.");
    if (block.label.find("PRIVATE KEY") != std::string::npos)
        throw Error(ErrorCode::Parse, where + " is a private key, not a public key",
                    "Give the public key (slate keygen writes it next to the private key as PREFIX.pub).");
    if (block.label != "PUBLIC KEY")
        throw Error(ErrorCode::Parse, where + " holds a \"" + block.label + "\" PEM block, not a public key",
                    "Give a PEM file starting with -----BEGIN PUBLIC KEY-----.");
    const unsigned char* p = block.data;
    PkeyPtr key(d2i_PUBKEY(nullptr, &p, block.size));
    ERR_clear_error();
    if (!key || p != block.data + block.size)
        throw Error(ErrorCode::Parse, where + ": the PUBLIC KEY block is not a valid SubjectPublicKeyInfo");
    require_supported(key.get(), display_name);
    return PublicKey(key.release());
}

std::string PublicKey::der() const {
    unsigned char* der = nullptr;
    int length = i2d_PUBKEY(m_key.get(), &der);
    if (length <= 0) throw_internal("cannot encode a public key");
    std::unique_ptr<unsigned char, OpensslFree> owner(der);
    return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
}

std::string PublicKey::pem() const { return pem_wrap("PUBLIC KEY", der()); }

std::string PublicKey::fingerprint() const { return "sha256:" + util::sha256_hex(der()); }

HashAlgorithm PublicKey::natural_hash() const { return natural_hash_of(m_type); }

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
    bool ok = false;
    if (m_type == KeyType::Ed25519) {
        ok = verify_ed25519(m_key.get(), message, signature);
        ERR_clear_error();
        return ok;
    }
    HashAlgorithm algorithm = natural_hash();
    return verify_digest(digest(algorithm, message), algorithm, signature);
}

bool PublicKey::verify_digest(std::string_view message_digest, HashAlgorithm algorithm,
                              std::string_view signature) const {
    if (m_type == KeyType::Ed25519 || signature.empty()) return false;
    const EVP_MD* md = md_of(algorithm);
    if (message_digest.size() != static_cast<std::size_t>(EVP_MD_get_size(md))) return false;
    bool ok = false;
    if (m_type == KeyType::Rsa) {
        ok = verify_raw_digest(m_key.get(), message_digest, md, signature, RsaPadding::Pkcs1) ||
             verify_raw_digest(m_key.get(), message_digest, md, signature, RsaPadding::Pss);
    } else {
        // DER first (what cosign writes); then raw r||s, whose halves are the
        // size of the curve order (32, 48, 66 bytes).
        ok = verify_raw_digest(m_key.get(), message_digest, md, signature, RsaPadding::None);
        if (!ok) {
            std::size_t half = (static_cast<std::size_t>(EVP_PKEY_get_bits(m_key.get())) + 7) / 8;
            std::string der = raw_ecdsa_to_der(signature, half);
            if (!der.empty()) ok = verify_raw_digest(m_key.get(), message_digest, md, der, RsaPadding::None);
        }
    }
    ERR_clear_error();
    return ok;
}

// --------------------------------------------------------------- PrivateKey

PrivateKey::PrivateKey(EVP_PKEY* key) : m_key(share(key)) {}

PrivateKey PrivateKey::generate_p256() {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1)
        throw_internal("cannot set up P-256 key generation");
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_keygen(ctx.get(), &key) != 1) throw_internal("cannot generate a P-256 key");
    return PrivateKey(key);
}

PrivateKey PrivateKey::from_pem(std::string_view pem, const std::function<std::string()>& password,
                                std::string_view display_name) {
    const std::string where(display_name);
    PemBlock block;
    if (!read_pem(pem, block))
        throw Error(ErrorCode::Parse, where + " is not a PEM private key (or it is truncated)",
                    "Give a key written by slate keygen or cosign generate-key-pair, or a PKCS#8 or SEC1 PEM key.");
    PkeyPtr key;
    if (block.label == SigstoreEncryptedLabel || block.label == CosignEncryptedLabel) {
        key = decrypt_cosign_key(block.body(), password, display_name);
    } else if (block.label == "PRIVATE KEY" || block.label == "EC PRIVATE KEY") {
        const unsigned char* p = block.data;
        if (block.label == "PRIVATE KEY") {
            key = pkcs8_der_to_key(block.body());
        } else {
            key.reset(d2i_PrivateKey(EVP_PKEY_EC, nullptr, &p, block.size));
            if (key && p != block.data + block.size) key.reset();
        }
        ERR_clear_error();
        if (!key) throw Error(ErrorCode::Parse, where + ": the " + block.label + " block is malformed");
    } else if (block.label == "PUBLIC KEY") {
        throw Error(ErrorCode::Parse, where + " is a public key, not a private key",
                    "Signing needs the private key (PREFIX.key from slate keygen).");
    } else if (block.label == "ENCRYPTED PRIVATE KEY") {
        throw Error(ErrorCode::Parse, where + " is a password-protected PKCS#8 key, which slate does not read",
                    "Convert it: openssl pkcs8 -in KEY -out plain.key, then slate can read plain.key.");
    } else {
        throw Error(ErrorCode::Parse, where + " holds a \"" + block.label + "\" PEM block, not a private key",
                    "Give a key written by slate keygen or cosign generate-key-pair, or a PKCS#8 or SEC1 PEM key.");
    }
    require_supported(key.get(), display_name);
    return PrivateKey(key.release());
}

KeyType PrivateKey::type() const { return require_supported(m_key.get(), "private key"); }

PublicKey PrivateKey::public_key() const {
    unsigned char* der = nullptr;
    int length = i2d_PUBKEY(m_key.get(), &der);
    if (length <= 0) throw_internal("cannot extract the public key");
    std::unique_ptr<unsigned char, OpensslFree> owner(der);
    return PublicKey::from_der(std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length)));
}

std::string PrivateKey::to_pkcs8_pem() const {
    Secret der(pkcs8_der(m_key.get()));
    return pem_wrap("PRIVATE KEY", der.str());
}

std::string PrivateKey::to_encrypted_pem(std::string_view password) const {
    Secret der(pkcs8_der(m_key.get()));
    std::string salt(32, '\0');
    std::string nonce(crypto_secretbox_NONCEBYTES, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1 ||
        RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1)
        throw_internal("no random bytes for the key's salt and nonce");
    Secret key = derive_key(password, salt, GeneratedScryptN, GeneratedScryptR, GeneratedScryptP);
    std::string ciphertext(der.size() + crypto_secretbox_MACBYTES, '\0');
    if (crypto_secretbox_easy(reinterpret_cast<unsigned char*>(ciphertext.data()), der.bytes(), der.size(),
                              bytes_of(nonce), key.bytes()) != 0)
        throw Error(ErrorCode::Internal, "libsodium cannot encrypt the private key");
    nlohmann::ordered_json doc = {
        {"kdf",
         {{"name", "scrypt"},
          {"params", {{"N", GeneratedScryptN}, {"r", GeneratedScryptR}, {"p", GeneratedScryptP}}},
          {"salt", util::base64_encode(salt)}}},
        {"cipher", {{"name", "nacl/secretbox"}, {"nonce", util::base64_encode(nonce)}}},
        {"ciphertext", util::base64_encode(ciphertext)},
    };
    return pem_wrap(SigstoreEncryptedLabel, doc.dump());
}

std::string PrivateKey::sign(std::string_view message) const {
    KeyType key_type = type();
    MdCtxPtr ctx(EVP_MD_CTX_new());
    // Ed25519 signs the message itself: no digest.
    const EVP_MD* md = key_type == KeyType::Ed25519 ? nullptr : md_of(natural_hash_of(key_type));
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, m_key.get()) != 1)
        throw_internal("cannot set up signing");
    std::size_t size = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &size, bytes_of(message), message.size()) != 1)
        throw_internal("cannot sign");
    std::string signature(size, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, bytes_of(message),
                       message.size()) != 1)
        throw_internal("cannot sign");
    signature.resize(size);
    return signature;
}

}  // namespace slate::sign
