// C2SP signed notes and tlog checkpoints. See note.hpp for the key-hash rules.

#include "slate/sign/note.hpp"

#include <openssl/evp.h>

#include <charconv>

#include "slate/error.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

// U+2014 EM DASH and a space open every signature line.
constexpr std::string_view SignaturePrefix = "\xe2\x80\x94 ";
constexpr std::size_t KeyHashSize = 4;

std::string sha256_raw(std::string_view data) {
    util::Sha256 sha;
    sha.update(data);
    auto digest = sha.finish();
    return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

std::string ed25519_raw_public_key(const PublicKey& key) {
    std::size_t size = 0;
    if (EVP_PKEY_get_raw_public_key(key.get(), nullptr, &size) != 1)
        throw Error(ErrorCode::Internal, "cannot read the raw Ed25519 public key (OpenSSL)");
    std::string raw(size, '\0');
    if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(raw.data()), &size) != 1)
        throw Error(ErrorCode::Internal, "cannot read the raw Ed25519 public key (OpenSSL)");
    raw.resize(size);
    return raw;
}

// First 4 bytes of SHA-256(name || "\n" || type || key material).
std::string named_hash(std::string_view name, std::string_view type, std::string_view material) {
    std::string input(name);
    input += '\n';
    input += type;
    input += material;
    return sha256_raw(input).substr(0, KeyHashSize);
}

// C2SP key names: non-empty, no whitespace, no '+'.
bool valid_key_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '+') return false;
    return true;
}

NoteSignature parse_signature_line(std::string_view line) {
    auto bad = [&](std::string_view why) {
        return Error(ErrorCode::Parse, "malformed signed-note signature line: " + std::string(why),
                     "a signature line reads \"\xe2\x80\x94 <key name> <base64 key hash and signature>\"");
    };
    if (!line.starts_with(SignaturePrefix)) throw bad("it does not start with an em dash and a space");
    line.remove_prefix(SignaturePrefix.size());
    auto space = line.rfind(' ');
    if (space == std::string_view::npos) throw bad("no space between the key name and the signature");
    NoteSignature signature;
    signature.name = std::string(line.substr(0, space));
    if (!valid_key_name(signature.name)) throw bad("the key name \"" + signature.name + "\" is not valid");
    auto decoded = util::base64_decode(line.substr(space + 1));
    if (!decoded) throw bad("the signature of " + signature.name + " is not base64");
    if (decoded->size() <= KeyHashSize) throw bad("the signature of " + signature.name + " is too short");
    signature.key_hash = decoded->substr(0, KeyHashSize);
    signature.signature = decoded->substr(KeyHashSize);
    return signature;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    // `text` ends in "\n": every line is terminated.
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        auto end = text.find('\n');
        lines.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    return lines;
}

}  // namespace

Note parse_note(std::string_view note) {
    // The text is everything up to the last blank line; signature lines
    // follow it and cannot themselves be empty.
    auto separator = note.rfind("\n\n");
    if (separator == std::string_view::npos)
        throw Error(ErrorCode::Parse, "malformed signed note: no blank line between the text and the signatures");
    Note parsed;
    parsed.text = std::string(note.substr(0, separator + 1));
    std::string_view rest = note.substr(separator + 2);
    if (rest.empty()) throw Error(ErrorCode::Parse, "malformed signed note: it carries no signature");
    if (!rest.ends_with('\n'))
        throw Error(ErrorCode::Parse, "malformed signed note: the last signature line does not end with a newline");
    for (auto line : split_lines(rest)) parsed.signatures.push_back(parse_signature_line(line));
    return parsed;
}

std::string format_note(const Note& note) {
    std::string out = note.text;
    out += '\n';
    for (const auto& signature : note.signatures) {
        out += SignaturePrefix;
        out += signature.name;
        out += ' ';
        out += util::base64_encode(signature.key_hash + signature.signature);
        out += '\n';
    }
    return out;
}

std::string note_key_hash(std::string_view name, const PublicKey& key) {
    return note_key_hashes(name, key).front();
}

std::vector<std::string> note_key_hashes(std::string_view name, const PublicKey& key) {
    switch (key.type()) {
    case KeyType::Ed25519:
        return {named_hash(name, "\x01", ed25519_raw_public_key(key))};
    case KeyType::Rsa:
        return {named_hash(name, std::string("\xff") + "PKIX-RSA-PKCS#1v1.5", key.der()),
                sha256_raw(key.der()).substr(0, KeyHashSize)};
    default:
        break;
    }
    const std::string der = key.der();
    return {sha256_raw(der).substr(0, KeyHashSize), named_hash(name, "\x02", der)};
}

bool verify_note(const Note& note, std::string_view name, const PublicKey& key) {
    const auto hashes = note_key_hashes(name, key);
    for (const auto& signature : note.signatures) {
        if (signature.name != name) continue;
        bool known = false;
        for (const auto& hash : hashes) known = known || hash == signature.key_hash;
        if (known && key.verify(note.text, signature.signature)) return true;
    }
    return false;
}

NoteSignature sign_note(std::string_view text, std::string_view name, const PrivateKey& key) {
    if (text.empty() || !text.ends_with('\n'))
        throw Error(ErrorCode::Internal, "a signed note's text must end with a newline");
    if (!valid_key_name(name))
        throw Error(ErrorCode::Usage, "\"" + std::string(name) + "\" cannot name a signed-note key",
                    "a key name is non-empty and has no spaces or '+'");
    return NoteSignature{std::string(name), note_key_hash(name, key.public_key()), key.sign(text)};
}

Checkpoint parse_checkpoint(std::string_view text) {
    if (!text.ends_with('\n')) throw Error(ErrorCode::Parse, "malformed checkpoint: it does not end with a newline");
    auto lines = split_lines(text);
    if (lines.size() < 3)
        throw Error(ErrorCode::Parse, "malformed checkpoint: it needs an origin, a tree size and a root hash line");
    Checkpoint checkpoint;
    checkpoint.origin = std::string(lines[0]);
    if (checkpoint.origin.empty()) throw Error(ErrorCode::Parse, "malformed checkpoint: the origin line is empty");
    const std::string_view size = lines[1];
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), checkpoint.tree_size);
    if (size.empty() || ec != std::errc() || end != size.data() + size.size() || (size.size() > 1 && size[0] == '0'))
        throw Error(ErrorCode::Parse, "malformed checkpoint: the tree size \"" + std::string(size) + "\" is not a decimal number",
                    "the lines are: origin, tree size, base64 root hash");
    auto root = util::base64_decode(lines[2]);
    if (!root || root->size() != 32 || lines[2].empty())
        throw Error(ErrorCode::Parse, "malformed checkpoint: the root hash is not 32 bytes of base64");
    checkpoint.root_hash = std::move(*root);
    for (std::size_t i = 3; i < lines.size(); ++i) {
        if (lines[i].empty()) throw Error(ErrorCode::Parse, "malformed checkpoint: an empty extension line");
        checkpoint.extensions.emplace_back(lines[i]);
    }
    return checkpoint;
}

std::string format_checkpoint(const Checkpoint& checkpoint) {
    std::string out = checkpoint.origin + '\n' + std::to_string(checkpoint.tree_size) + '\n' +
                      util::base64_encode(checkpoint.root_hash) + '\n';
    for (const auto& extension : checkpoint.extensions) out += extension + '\n';
    return out;
}

}  // namespace slate::sign
