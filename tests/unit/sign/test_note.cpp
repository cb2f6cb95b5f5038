// Signed notes and checkpoints: real Rekor v1 (ECDSA) and Rekor v2 (Ed25519,
// cosigned) checkpoints from the conformance vectors, notes slate signs
// itself, and malformed input.

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/sign/note.hpp"
#include "slate/sign/trusted_root.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/expect.hpp"
#include "support/paths.hpp"

namespace slate::sign {
namespace {

namespace fs = std::filesystem;

fs::path suite() { return test::shared_vectors() / "sigstore-conformance"; }

std::string checkpoint_of(const std::string& name) {
    auto bundle = nlohmann::json::parse(util::read_file(suite() / name / "bundle.sigstore.json"));
    return bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"].get<std::string>();
}

const TransparencyLogInstance& log_by_url(const TrustedRoot& root, std::string_view url) {
    for (const auto& log : root.tlogs)
        if (log.base_url == url) return log;
    throw std::runtime_error("no such log in the trusted root");
}

PrivateKey ed25519_key() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    EVP_PKEY_free(key);
    return PrivateKey::from_pem(pem, [] { return std::string(); });
}

TEST(Note, RekorV1CheckpointVerifiesWithTheLogKey) {
    TrustedRoot root = parse_trusted_root(util::read_file(suite() / "trusted_root.public_good.json"));
    const auto& log = root.tlogs.at(0);
    Note note = parse_note(checkpoint_of("happy-path-v0.3"));
    ASSERT_EQ(note.signatures.size(), 1u);
    EXPECT_EQ(note.signatures[0].name, "rekor.sigstore.dev");
    // Rekor v1's key hash is the start of the log id, SHA-256 of the key's DER.
    EXPECT_EQ(note.signatures[0].key_hash, log.log_id.substr(0, 4));
    EXPECT_EQ(note_key_hash("rekor.sigstore.dev", log.key), log.log_id.substr(0, 4));
    EXPECT_TRUE(verify_note(note, "rekor.sigstore.dev", log.key));
    EXPECT_FALSE(verify_note(note, "rekor.example.org", log.key));  // another name

    Checkpoint checkpoint = parse_checkpoint(note.text);
    EXPECT_EQ(checkpoint.origin, "rekor.sigstore.dev - 2605736670972794746");
    EXPECT_EQ(checkpoint.tree_size, 75408393u);
    EXPECT_EQ(util::base64_encode(checkpoint.root_hash), "Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=");
    EXPECT_TRUE(checkpoint.extensions.empty());
    EXPECT_EQ(format_checkpoint(checkpoint), note.text);
    EXPECT_EQ(format_note(note), checkpoint_of("happy-path-v0.3"));
}

TEST(Note, RekorV1CheckpointWithATimestampExtension) {
    Note note = parse_note(checkpoint_of("happy-path-v0.1"));
    Checkpoint checkpoint = parse_checkpoint(note.text);
    ASSERT_EQ(checkpoint.extensions.size(), 1u);
    EXPECT_EQ(checkpoint.extensions[0].rfind("Timestamp: ", 0), 0u);
    EXPECT_EQ(format_checkpoint(checkpoint), note.text);
}

TEST(Note, RekorV2Ed25519CheckpointUsesTheC2spKeyHash) {
    TrustedRoot root = parse_trusted_root(util::read_file(suite() / "rekor2-happy-path" / "trusted_root.json"));
    const auto& log = log_by_url(root, "https://log2025-alpha1.rekor.sigstage.dev");
    ASSERT_EQ(log.key.type(), KeyType::Ed25519);
    const std::string name = "log2025-alpha1.rekor.sigstage.dev";
    // The log id is the whole C2SP key id: SHA-256(name || "\n" || 0x01 || key).
    EXPECT_EQ(note_key_hash(name, log.key), log.log_id.substr(0, 4));
    Note note = parse_note(checkpoint_of("rekor2-happy-path"));
    EXPECT_TRUE(verify_note(note, name, log.key));
    // The name is part of the key hash: the same key under another name is another key.
    EXPECT_NE(note_key_hash("log2025-alpha2.rekor.sigstage.dev", log.key), note_key_hash(name, log.key));
}

TEST(Note, WitnessCosignaturesAreIgnoredWhereverTheyAre) {
    TrustedRoot root = parse_trusted_root(util::read_file(suite() / "rekor2-happy-path" / "trusted_root.json"));
    const auto& log = log_by_url(root, "https://log2025-alpha1.rekor.sigstage.dev");
    for (const char* name : {"rekor2-checkpoint-cosigned", "rekor2-checkpoint-origin-not-first",
                             "rekor2-checkpoint-multiple-cosigs", "rekor2-checkpoint-two-sigs-cosigned"}) {
        Note note = parse_note(checkpoint_of(name));
        EXPECT_GE(note.signatures.size(), 2u) << name;
        EXPECT_TRUE(verify_note(note, "log2025-alpha1.rekor.sigstage.dev", log.key)) << name;
    }
}

TEST(Note, ATamperedCheckpointDoesNotVerify) {
    TrustedRoot root = parse_trusted_root(util::read_file(suite() / "trusted_root.public_good.json"));
    const auto& key = root.tlogs.at(0).key;
    // invalid-checkpoint-signature_fail: one signature byte changed.
    EXPECT_FALSE(verify_note(parse_note(checkpoint_of("invalid-checkpoint-signature_fail")), "rekor.sigstore.dev", key));
    // checkpoint-bad-keyhint_fail: the key hash is not the log's.
    EXPECT_FALSE(verify_note(parse_note(checkpoint_of("checkpoint-bad-keyhint_fail")), "rekor.sigstore.dev", key));
    // The text changed under a good signature.
    Note note = parse_note(checkpoint_of("happy-path-v0.3"));
    note.text[note.text.size() - 3] ^= 0x01;
    EXPECT_FALSE(verify_note(note, "rekor.sigstore.dev", key));
}

TEST(Note, SignAndVerifyEcdsa) {
    PrivateKey key = PrivateKey::generate_p256();
    Checkpoint checkpoint{"slate-tlog - 0123456789abcdef", 42, std::string(32, '\x5a'), {"Timestamp: 1"}};
    Note note{format_checkpoint(checkpoint), {}};
    note.signatures.push_back(sign_note(note.text, "slate-tlog", key));
    // ECDSA notes carry Rekor v1's key hash, the start of SHA-256(DER SPKI).
    const std::string der = key.public_key().der();
    EXPECT_EQ(note.signatures[0].key_hash, digest(HashAlgorithm::Sha256, der).substr(0, 4));

    Note parsed = parse_note(format_note(note));
    EXPECT_EQ(parsed.text, note.text);
    EXPECT_TRUE(verify_note(parsed, "slate-tlog", key.public_key()));
    EXPECT_FALSE(verify_note(parsed, "slate-tlog", PrivateKey::generate_p256().public_key()));
    EXPECT_FALSE(verify_note(parsed, "other-name", key.public_key()));
    Checkpoint back = parse_checkpoint(parsed.text);
    EXPECT_EQ(back.origin, checkpoint.origin);
    EXPECT_EQ(back.tree_size, 42u);
    EXPECT_EQ(back.root_hash, checkpoint.root_hash);
    EXPECT_EQ(back.extensions, checkpoint.extensions);
}

TEST(Note, SignAndVerifyEd25519) {
    PrivateKey key = ed25519_key();
    Note note{format_checkpoint({"example.org/log", 7, std::string(32, '\x01'), {}}), {}};
    note.signatures.push_back(sign_note(note.text, "example.org/log", key));
    EXPECT_EQ(note.signatures[0].key_hash, note_key_hash("example.org/log", key.public_key()));
    EXPECT_EQ(note.signatures[0].signature.size(), 64u);
    Note parsed = parse_note(format_note(note));
    EXPECT_TRUE(verify_note(parsed, "example.org/log", key.public_key()));
    EXPECT_FALSE(verify_note(parsed, "example.org/log", ed25519_key().public_key()));
}

TEST(Note, SigningNeedsATextEndingInANewlineAndAValidName) {
    PrivateKey key = PrivateKey::generate_p256();
    EXPECT_THROW(sign_note("no newline", "name", key), Error);
    EXPECT_EQ(test::error_from([&] { sign_note("text\n", "two words", key); }).code(), ErrorCode::Usage);
}

TEST(Note, MalformedNotesAreParseErrors) {
    const std::string text = "origin\n1\n" + util::base64_encode(std::string(32, 'a')) + "\n";
    const std::string sig = util::base64_encode("abcd" + std::string(64, 's'));
    const char* dash = "\xe2\x80\x94 ";
    EXPECT_NO_THROW(parse_note(text + "\n" + dash + "name " + sig + "\n"));
    for (const std::string& bad : std::vector<std::string>{
             text,                                                 // no blank line
             text + "\n",                                          // no signature
             text + "\n" + dash + "name " + sig,                   // last line not terminated
             text + "\n- name " + sig + "\n",                      // not an em dash
             text + "\n" + dash + "name !!notbase64\n",            // bad base64
             text + "\n" + dash + "name " + util::base64_encode("abcd") + "\n",  // key hash without signature
             text + "\n" + dash + sig + "\n",                      // no name
         }) {
        EXPECT_EQ(test::error_from([&] { parse_note(bad); }).code(), ErrorCode::Parse) << bad;
    }
}

TEST(Note, MalformedCheckpointsAreParseErrors) {
    const std::string root = util::base64_encode(std::string(32, 'r'));
    EXPECT_NO_THROW(parse_checkpoint("origin\n5\n" + root + "\n"));
    for (const std::string& bad : std::vector<std::string>{
             "5\n" + root + "\n",                                    // no origin
             "origin\n" + root + "\n",                              // no size
             "origin\n5\n",                                         // no root hash
             "origin\n05\n" + root + "\n",                          // leading zero
             "origin\n-5\n" + root + "\n",                          // negative
             "origin\n5\n" + util::base64_encode("short") + "\n",   // not 32 bytes
             "origin\n5\n" + root,                                  // no final newline
             "origin\n5\n" + root + "\n\n",                         // empty extension line
             "\n5\n" + root + "\n",                                 // empty origin
         }) {
        EXPECT_EQ(test::error_from([&] { parse_checkpoint(bad); }).code(), ErrorCode::Parse) << bad;
    }
}

}  // namespace
}  // namespace slate::sign
