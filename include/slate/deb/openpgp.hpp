#pragma once
// OpenPGP verification of clearsigned archive metadata (InRelease), the way apt
// does it: gpgv checks the signature against the given keyrings only, and the
// caller uses only the text gpgv says was signed.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace slate::deb {

struct VerifiedText {
    // Only the signed content, exactly as gpgv outputs it (dash-escaping removed,
    // trailing blanks of each line removed, every line ending in '\n'). Never any
    // text from outside the signed block.
    std::string signed_text;
    // Primary-key fingerprints (40 upper-case hex digits) of every good signature.
    std::vector<std::string> fingerprints;
};

// Verifies a clearsigned message (an InRelease file) with gpgv against `keyrings`
// (binary .gpg keyrings or ASCII-armored .asc keys, detected by content). At least
// one signature must be good (GOODSIG + VALIDSIG); signatures by keys missing from
// the keyrings are ignored when another one is good, as Debian signs with several
// keys. A BAD signature always fails. gpgv runs with LC_ALL=C and a private, empty
// home directory, so the user's ~/.gnupg is never read or written; all temporary
// files are removed before returning.
//
// The input must be exactly one "BEGIN PGP SIGNED MESSAGE" block with nothing but
// whitespace around it; anything else is rejected before gpgv runs, so unsigned
// text cannot be smuggled in next to a valid signature.
//
// `what` names the input in messages, e.g. "bookworm InRelease from http://...".
// Throws slate::Error: Signature (not signed, bad/unknown-key/expired/revoked
// signature, malformed block), NotFound (a keyring file or gpgv is missing),
// Parse (an .asc keyring is not valid armor), Io.
VerifiedText verify_clearsigned(std::string_view inrelease, const std::vector<std::filesystem::path>& keyrings,
                                const std::string& what);

// For --insecure-skip-verify: returns the signed text of a clearsigned message
// without checking the signature, in the same form verify_clearsigned returns it.
// The block structure is still checked (one block, nothing around it); throws
// slate::Error (Parse) when the input is not a well-formed clearsigned message.
std::string strip_clearsign(std::string_view inrelease);

}  // namespace slate::deb
