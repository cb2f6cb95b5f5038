#pragma once
// Reading signing keys and their passwords for the commands that sign
// (keygen, sign, attest, build, tlog serve) and verify.
//
// The password of an encrypted key comes from SLATE_PASSWORD when it is set
// (even to the empty string), else from a prompt on the controlling terminal
// (/dev/tty, echo off). With neither, the command fails with a Usage error
// telling to set SLATE_PASSWORD: nothing ever blocks waiting for input that
// cannot come.

#include <filesystem>
#include <string>
#include <string_view>

#include "slate/sign/keys.hpp"

namespace slate::cli {

// The password for `what` (e.g. "the private key cosign.key"). With `confirm`
// the prompt asks twice and the answers must match (Usage error otherwise).
std::string read_password(std::string_view what, bool confirm);

// The private key in `path` (cosign's encrypted format, PKCS#8 or SEC1 PEM);
// the password is asked only for an encrypted key.
sign::PrivateKey load_signing_key(const std::filesystem::path& path);

// The PKIX PEM public key in `path`. A private key file is refused with a
// hint to give the .pub file instead.
sign::PublicKey load_verification_key(const std::filesystem::path& path);

}  // namespace slate::cli
