#pragma once
// Signing keys: ECDSA P-256 key pairs as cosign writes them, and the public
// keys Sigstore verifies with (ECDSA P-256/P-384/P-521, Ed25519, RSA).
//
// Private keys are read from
//   - cosign's encrypted files: PEM "ENCRYPTED SIGSTORE PRIVATE KEY" (and the
//     older "ENCRYPTED COSIGN PRIVATE KEY"), whose body is JSON
//       {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1},
//                "salt": "<base64>"},
//        "cipher": {"name": "nacl/secretbox", "nonce": "<base64>"},
//        "ciphertext": "<base64>"}
//     the plaintext being a PKCS#8 DER key, the secretbox key the 32 bytes
//     scrypt derives from the password and salt;
//   - plain PEM: PKCS#8 "PRIVATE KEY" and SEC1 "EC PRIVATE KEY".
// Public keys are PKIX PEM "PUBLIC KEY" (SubjectPublicKeyInfo).
//
// OpenSSL does the elliptic curves and scrypt, libsodium the secretbox.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace slate::sign {

enum class KeyType { EcdsaP256, EcdsaP384, EcdsaP521, Ed25519, Rsa };

const char* to_string(KeyType type);

// The digest a signature scheme is computed over.
enum class HashAlgorithm { Sha256, Sha384, Sha512 };

// The raw digest of `data`.
std::string digest(HashAlgorithm algorithm, std::string_view data);

class PublicKey {
public:
    // PKIX PEM ("-----BEGIN PUBLIC KEY-----"). Throws slate::Error (Parse)
    // naming `display_name` for anything else, including a private key.
    static PublicKey from_pem(std::string_view pem, std::string_view display_name = "public key");
    // DER SubjectPublicKeyInfo. Throws slate::Error (Parse).
    static PublicKey from_der(std::string_view der);
    // Takes ownership of `key` (which must not be null).
    explicit PublicKey(EVP_PKEY* key);

    KeyType type() const { return m_type; }
    // DER SubjectPublicKeyInfo, and the same as PEM.
    std::string der() const;
    std::string pem() const;
    // "sha256:<hex>" of der(): identifies the key in caches and reports.
    std::string fingerprint() const;
    // The digest this key's signatures are made over: SHA-256 for P-256, RSA
    // and Ed25519 (which signs the message itself), SHA-384 for P-384,
    // SHA-512 for P-521.
    HashAlgorithm natural_hash() const;

    // True when `signature` is a valid signature of `message`. ECDSA
    // signatures may be DER (what cosign writes) or raw r||s (what the DSSE
    // specification's vector uses). RSA: PKCS#1 v1.5, then PSS. Never throws
    // for a bad signature; false.
    bool verify(std::string_view message, std::string_view signature) const;
    // The same for a message of which only the digest is known (a Sigstore
    // message signature, a hashedrekord entry). Ed25519 cannot: false.
    bool verify_digest(std::string_view message_digest, HashAlgorithm algorithm, std::string_view signature) const;

    EVP_PKEY* get() const { return m_key.get(); }

private:
    std::shared_ptr<EVP_PKEY> m_key;
    KeyType m_type;
};

class PrivateKey {
public:
    // A fresh ECDSA P-256 key.
    static PrivateKey generate_p256();
    // Reads any of the formats above. `password` is called only for an
    // encrypted key. A wrong password throws slate::Error (Auth) saying so;
    // a malformed file throws Parse naming `display_name`.
    static PrivateKey from_pem(std::string_view pem, const std::function<std::string()>& password,
                               std::string_view display_name = "private key");

    KeyType type() const;
    PublicKey public_key() const;
    // cosign's encrypted format, with a fresh salt and nonce.
    std::string to_encrypted_pem(std::string_view password) const;
    // Unencrypted PKCS#8 PEM.
    std::string to_pkcs8_pem() const;

    // Signs `message` with the key's natural hash: ECDSA signatures are DER,
    // Ed25519 raw.
    std::string sign(std::string_view message) const;

    EVP_PKEY* get() const { return m_key.get(); }

private:
    explicit PrivateKey(EVP_PKEY* key);
    std::shared_ptr<EVP_PKEY> m_key;
};

}  // namespace slate::sign
