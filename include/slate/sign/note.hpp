#pragma once
// Signed notes (C2SP signed-note) and transparency-log checkpoints (C2SP
// tlog-checkpoint), as Rekor v1 and v2 sign them:
//
//   <origin>\n<tree size>\n<base64 root hash>\n[extension lines\n]
//   \n
//   — <key name> <base64(4-byte key hash || signature)>\n   (one or more)
//
// Key hashes (the 4 bytes before the signature), worked out from the
// Sigstore conformance vectors:
//   - Ed25519 (Rekor v2, C2SP signed-note): the first 4 bytes of
//     SHA-256(name || "\n" || 0x01 || raw 32-byte public key). Rekor v2's log
//     ID in a trusted root is the whole 32-byte hash.
//   - ECDSA, Rekor v1: the first 4 bytes of SHA-256(DER SPKI), i.e. of the
//     log ID, whatever the name. This is what note_key_hash() and sign_note()
//     produce for ECDSA keys, so that Rekor v1 verifiers accept slate's log.
//   - ECDSA, Rekor v2 (C2SP): the first 4 bytes of
//     SHA-256(name || "\n" || 0x02 || DER SPKI).
//   - RSA (Rekor v2): the first 4 bytes of
//     SHA-256(name || "\n" || 0xff || "PKIX-RSA-PKCS#1v1.5" || DER SPKI).
// A verifier accepts every form that fits the key's type (note_key_hashes).
// Signatures by unknown keys (witness cosignatures, other logs) are ignored.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "slate/sign/keys.hpp"

namespace slate::sign {

struct NoteSignature {
    std::string name;
    std::string key_hash;   // 4 raw bytes
    std::string signature;  // raw
};

struct Note {
    std::string text;  // the signed body, ending with "\n" (without the blank separator line)
    std::vector<NoteSignature> signatures;
};

// Throws slate::Error (Parse) for a note without the blank line, a body not
// ending in a newline, no signatures, or a malformed signature line.
Note parse_note(std::string_view note);
std::string format_note(const Note& note);

// The 4-byte key hash a signature by `key` under `name` carries when slate
// signs (see above: the C2SP hash for Ed25519, Rekor v1's for ECDSA).
std::string note_key_hash(std::string_view name, const PublicKey& key);
// Every key hash a verifier accepts for (`name`, `key`), note_key_hash first.
std::vector<std::string> note_key_hashes(std::string_view name, const PublicKey& key);
// True when one of `note`'s signatures is by (`name`, `key`) (the line's
// name equals `name` and its key hash is one of note_key_hashes) and
// verifies over note.text. Other signature lines are ignored.
bool verify_note(const Note& note, std::string_view name, const PublicKey& key);
// Signs `text` (which must end in "\n") as `name`.
NoteSignature sign_note(std::string_view text, std::string_view name, const PrivateKey& key);

struct Checkpoint {
    std::string origin;
    std::uint64_t tree_size = 0;
    std::string root_hash;  // raw
    std::vector<std::string> extensions;
};

// Reads a note body (C2SP tlog-checkpoint): origin, decimal tree size, base64
// 32-byte root hash, then extension lines. Throws slate::Error (Parse).
Checkpoint parse_checkpoint(std::string_view text);
std::string format_checkpoint(const Checkpoint& checkpoint);  // a note body

}  // namespace slate::sign
