#include "slate/deb/openpgp.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "slate/error.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"

namespace slate::deb {
namespace {
namespace fs = std::filesystem;

constexpr std::string_view SignedMessageBegin = "-----BEGIN PGP SIGNED MESSAGE-----";
constexpr std::string_view SignatureBegin = "-----BEGIN PGP SIGNATURE-----";
constexpr std::string_view SignatureEnd = "-----END PGP SIGNATURE-----";
constexpr std::string_view KeyBlockBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
constexpr std::string_view KeyBlockEnd = "-----END PGP PUBLIC KEY BLOCK-----";
constexpr std::string_view KeyringHint =
    "install debian-archive-keyring or pass --keyring with the key that signs this archive";

// ---------------------------------------------------------------------------
// Text helpers

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view trim(std::string_view s) {
    s = trim_right(s);
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    return s;
}

// Lines without their '\n'; a final line without '\n' counts, a final '\n' does not
// start an empty line.
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        auto nl = text.find('\n');
        lines.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return lines;
}

// Armor lines may carry trailing blanks (and CRs); they are still armor lines.
bool is_marker(std::string_view line, std::string_view marker) { return trim_right(line) == marker; }

// ---------------------------------------------------------------------------
// The clearsigned block (RFC 4880 section 7)

struct ClearsignedBlock {
    std::vector<std::string_view> cleartext;  // dash-escaped lines, as in the file
};

// Checks that `text` is exactly one clearsigned block with only whitespace
// around it and returns its cleartext lines. `code` is the ErrorCode thrown.
ClearsignedBlock split_clearsigned(std::string_view text, ErrorCode code, const std::string& what) {
    const auto lines = split_lines(text);
    std::size_t i = 0;
    while (i < lines.size() && !is_marker(lines[i], SignedMessageBegin)) ++i;
    if (i == lines.size())
        throw Error(code, fmt::format("{} is not signed: it has no \"{}\" block", what, SignedMessageBegin),
                    "check that the URL points to a Debian archive and that no proxy rewrites the file");
    for (std::size_t k = 0; k < i; ++k)
        if (!trim(lines[k]).empty())
            throw Error(code,
                        fmt::format("{} has unsigned text before the signed block (line {}); refusing it", what, k + 1),
                        "the file was altered after signing or is not a plain InRelease; check the mirror");

    // Armor headers: only "Hash:" is valid for a cleartext signature; then an empty line.
    ++i;
    for (; i < lines.size() && !trim(lines[i]).empty(); ++i) {
        if (!trim(lines[i]).starts_with("Hash:"))
            throw Error(code, fmt::format("{}: unexpected armor header \"{}\" at line {} (only \"Hash:\" is allowed)",
                                          what, trim(lines[i]), i + 1));
    }
    if (i == lines.size())
        throw Error(code, fmt::format("{}: the signed block ends before its text starts", what));
    ++i;

    ClearsignedBlock block;
    for (; i < lines.size() && !is_marker(lines[i], SignatureBegin); ++i) {
        // Every cleartext line starting with '-' must be dash-escaped ("- "), so an
        // unescaped one is a stray armor line (e.g. a second BEGIN PGP SIGNED MESSAGE).
        if (lines[i].starts_with("-") && !lines[i].starts_with("- "))
            throw Error(code, fmt::format("{}: line {} of the signed text starts with '-' but is not dash-escaped "
                                          "(\"{}\"); refusing a malformed or nested block",
                                          what, i + 1, trim(lines[i])));
        block.cleartext.push_back(lines[i]);
    }
    if (i == lines.size())
        throw Error(code, fmt::format("{}: the signed block has no signature (\"{}\" is missing)", what, SignatureBegin));
    for (++i; i < lines.size() && !is_marker(lines[i], SignatureEnd); ++i) {}
    if (i == lines.size())
        throw Error(code, fmt::format("{}: the signature is truncated (\"{}\" is missing)", what, SignatureEnd));
    for (++i; i < lines.size(); ++i) {
        if (trim(lines[i]).empty()) continue;
        if (is_marker(lines[i], SignedMessageBegin))
            throw Error(code, fmt::format("{} contains more than one signed block (the second starts at line {})",
                                          what, i + 1),
                        "an InRelease file has exactly one signed block; check the mirror");
        throw Error(code, fmt::format("{} has unsigned text after the signature (line {}); refusing it", what, i + 1),
                    "the file was altered after signing; check the mirror");
    }
    return block;
}

// The cleartext in the form gpgv --output writes it: dash-escapes removed,
// trailing spaces and tabs removed (they are not covered by the signature), each
// line ended by '\n' (a CR before it is kept, as gpgv keeps it).
std::string cleartext_of(const ClearsignedBlock& block) {
    std::string out;
    for (auto line : block.cleartext) {
        if (line.starts_with("- ")) line.remove_prefix(2);
        bool cr = !line.empty() && line.back() == '\r';
        if (cr) line.remove_suffix(1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        out += line;
        if (cr) out += '\r';
        out += '\n';
    }
    return out;
}

// ---------------------------------------------------------------------------
// ASCII armor (RFC 4880 section 6): base64 with an optional CRC-24 checksum.

std::uint32_t crc24(std::string_view data) {
    std::uint32_t crc = 0xB704CE;
    for (char c : data) {
        crc ^= static_cast<std::uint32_t>(static_cast<unsigned char>(c)) << 16;
        for (int i = 0; i < 8; ++i) {
            crc <<= 1;
            if (crc & 0x1000000) crc ^= 0x1864CFB;
        }
    }
    return crc & 0xFFFFFF;
}

bool is_armored_key(std::string_view content) {
    auto start = content.find_first_not_of(" \t\r\n");
    return start != std::string_view::npos && content.substr(start).starts_with(KeyBlockBegin);
}

// Decodes every public key block of an armored file into binary OpenPGP packets.
std::string dearmor_keys(std::string_view content, const fs::path& source) {
    auto bad = [&](const std::string& why) {
        return Error(ErrorCode::Parse, fmt::format("keyring {} is not a valid ASCII-armored key: {}", source.string(), why),
                     "re-download the key, or convert it with: gpg --dearmor < KEY.asc > KEY.gpg");
    };
    const auto lines = split_lines(content);
    std::string packets;
    std::size_t i = 0;
    while (true) {
        while (i < lines.size() && !is_marker(lines[i], KeyBlockBegin)) ++i;
        if (i == lines.size()) break;
        ++i;
        while (i < lines.size() && !trim(lines[i]).empty()) {  // armor headers ("Comment: ...")
            if (trim(lines[i]).find(':') == std::string_view::npos) break;  // no blank line before the data
            ++i;
        }
        std::string body;
        std::optional<std::string_view> checksum;
        for (; i < lines.size() && !is_marker(lines[i], KeyBlockEnd); ++i) {
            auto line = trim(lines[i]);
            if (line.size() == 5 && line.front() == '=') checksum = line.substr(1);
            else body += line;
        }
        if (i == lines.size()) throw bad(fmt::format("\"{}\" is missing", KeyBlockEnd));
        ++i;
        auto decoded = util::base64_decode(body);
        if (!decoded || decoded->empty()) throw bad("the base64 data is malformed");
        if (checksum) {
            auto sum = util::base64_decode(*checksum);
            if (!sum || sum->size() != 3) throw bad("the checksum line is malformed");
            std::uint32_t expected = (static_cast<std::uint32_t>(static_cast<unsigned char>((*sum)[0])) << 16) |
                                     (static_cast<std::uint32_t>(static_cast<unsigned char>((*sum)[1])) << 8) |
                                     static_cast<std::uint32_t>(static_cast<unsigned char>((*sum)[2]));
            if (crc24(*decoded) != expected) throw bad("the CRC-24 checksum does not match (the file is corrupted)");
        }
        packets += *decoded;
    }
    if (packets.empty()) throw bad(fmt::format("no \"{}\" found", KeyBlockBegin));
    return packets;
}

// ---------------------------------------------------------------------------
// Running gpgv


void write_private_file(const fs::path& path, std::string_view data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) throw Error(ErrorCode::Io, "cannot write temporary file " + path.string());
}

// One signature as gpgv's status lines describe it.
struct SignatureStatus {
    std::string verdict;      // GOODSIG, BADSIG, EXPSIG, EXPKEYSIG, REVKEYSIG, ERRSIG; empty until known
    std::string key;          // the key id or fingerprint gpgv names
    std::string user_id;
    std::string fingerprint;  // primary key fingerprint, from VALIDSIG
    bool valid = false;       // VALIDSIG seen after GOODSIG
    std::string errsig_rc;    // ERRSIG's reason code (9: no public key)
};

struct GpgvStatus {
    std::vector<SignatureStatus> signatures;
    bool no_data = false;
};

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

// Parses "[GNUPG:] KEYWORD args" lines (doc/DETAILS in GnuPG). Each signature
// starts with NEWSIG; older versions without NEWSIG start one per verdict line.
GpgvStatus parse_status(std::string_view output) {
    constexpr std::string_view prefix = "[GNUPG:] ";
    GpgvStatus status;
    for (auto line : split_lines(output)) {
        line = trim_right(line);
        if (!line.starts_with(prefix)) continue;
        line.remove_prefix(prefix.size());
        auto fields = split_fields(line);
        if (fields.empty()) continue;
        const auto keyword = fields[0];
        if (keyword == "NEWSIG") {
            status.signatures.emplace_back();
        } else if (keyword == "GOODSIG" || keyword == "BADSIG" || keyword == "EXPSIG" || keyword == "EXPKEYSIG" ||
                   keyword == "REVKEYSIG" || keyword == "ERRSIG") {
            if (status.signatures.empty() || !status.signatures.back().verdict.empty()) status.signatures.emplace_back();
            auto& sig = status.signatures.back();
            sig.verdict = std::string(keyword);
            if (fields.size() > 1) sig.key = std::string(fields[1]);
            if (keyword == "ERRSIG") {
                if (fields.size() > 6) sig.errsig_rc = std::string(fields[6]);
                if (fields.size() > 7) sig.key = std::string(fields[7]);  // the fingerprint, when gpgv knows it
            } else {
                auto uid = line.substr(std::min(line.size(), keyword.size() + 1));
                auto space = uid.find(' ');
                sig.user_id = space == std::string_view::npos ? std::string() : std::string(uid.substr(space + 1));
            }
        } else if (keyword == "VALIDSIG" && !status.signatures.empty()) {
            auto& sig = status.signatures.back();
            if (sig.verdict == "GOODSIG" && fields.size() > 1) {
                sig.valid = true;
                // Field 10 is the primary key's fingerprint; field 1 the (sub)key that signed.
                sig.fingerprint = std::string(fields.size() > 10 ? fields[10] : fields[1]);
            }
        } else if (keyword == "NODATA") {
            status.no_data = true;
        }
    }
    return status;
}

std::string describe_key(const SignatureStatus& sig) {
    return sig.user_id.empty() ? sig.key : fmt::format("{} ({})", sig.key, sig.user_id);
}

std::string keyring_list(const std::vector<fs::path>& keyrings) {
    std::string out;
    for (const auto& k : keyrings) {
        if (!out.empty()) out += ", ";
        out += k.string();
    }
    return out;
}

// Turns gpgv's report into the error that explains it best. A bad signature wins
// over everything; otherwise the reasons are ordered by how actionable they are.
[[noreturn]] void throw_verification_failure(const GpgvStatus& status, const std::string& gpgv_stderr,
                                             const std::vector<fs::path>& keyrings, const std::string& what) {
    auto find = [&](std::string_view verdict) -> const SignatureStatus* {
        for (const auto& sig : status.signatures)
            if (sig.verdict == verdict) return &sig;
        return nullptr;
    };
    if (auto* sig = find("BADSIG"))
        throw Error(ErrorCode::Signature,
                    fmt::format("{} has a BAD signature from key {}: the file was changed after it was signed",
                                what, describe_key(*sig)),
                    "retry; if it persists, the mirror or a proxy serves corrupted or tampered files");
    if (auto* sig = find("EXPKEYSIG"))
        throw Error(ErrorCode::Signature,
                    fmt::format("{} is signed by key {}, which has expired", what, describe_key(*sig)),
                    "update debian-archive-keyring (or the key passed with --keyring)");
    if (auto* sig = find("REVKEYSIG"))
        throw Error(ErrorCode::Signature,
                    fmt::format("{} is signed by key {}, which has been revoked", what, describe_key(*sig)),
                    "the archive key was withdrawn; update debian-archive-keyring and check the mirror");
    if (auto* sig = find("EXPSIG"))
        throw Error(ErrorCode::Signature,
                    fmt::format("{} carries an expired signature by key {}", what, describe_key(*sig)),
                    "the mirror serves outdated metadata; try another mirror");
    std::vector<std::string> unknown;  // ERRSIG reason 9: no public key
    for (const auto& sig : status.signatures)
        if (sig.verdict == "ERRSIG" && sig.errsig_rc == "9") unknown.push_back(sig.key);
    if (!unknown.empty())
        throw Error(ErrorCode::Signature,
                    fmt::format("{} is signed by {} {}, which {} not in the trusted keyrings ({})", what,
                                unknown.size() == 1 ? "key" : "keys", fmt::join(unknown, ", "),
                                unknown.size() == 1 ? "is" : "are", keyring_list(keyrings)),
                    std::string(KeyringHint));
    if (auto* sig = find("ERRSIG"))
        throw Error(ErrorCode::Signature,
                    fmt::format("{}: cannot check the signature by key {} (gpgv reason code {}; a weak digest or an "
                                "unsupported algorithm)",
                                what, sig->key, sig->errsig_rc),
                    "the archive uses a signature slate does not accept; check the mirror");
    if (status.no_data || status.signatures.empty())
        throw Error(ErrorCode::Signature, fmt::format("{} contains no usable OpenPGP signature", what),
                    "the signature block is damaged; retry or check the mirror");
    throw Error(ErrorCode::Signature,
                fmt::format("{}: gpgv reported no valid signature: {}", what, trim(gpgv_stderr)),
                std::string(KeyringHint));
}

}  // namespace

VerifiedText verify_clearsigned(std::string_view inrelease, const std::vector<fs::path>& keyrings,
                                const std::string& what) {
    // Structure first: nothing outside the one signed block, whatever gpgv would say.
    split_clearsigned(inrelease, ErrorCode::Signature, what);
    if (keyrings.empty())
        throw Error(ErrorCode::Signature, fmt::format("cannot verify {}: no keyring was given", what),
                    std::string(KeyringHint));

    util::TempDir dir(fs::temp_directory_path(), "slate-gpgv-", "check that the temporary directory exists and is writable");
    const fs::path home = dir.path() / "gnupg";
    const fs::path input = dir.path() / "InRelease";
    const fs::path output = dir.path() / "signed-text";
    if (::mkdir(home.c_str(), 0700) != 0)
        throw Error(ErrorCode::Io, "cannot create a temporary GnuPG home in " + dir.path().string());

    std::vector<std::string> argv{"gpgv",          "--homedir", home.string(), "--status-fd", "1",
                                  "--weak-digest", "sha1",      "--output",    output.string()};
    for (std::size_t i = 0; i < keyrings.size(); ++i) {
        const auto& keyring = keyrings[i];
        std::error_code ec;
        if (!fs::exists(keyring, ec))
            throw Error(ErrorCode::NotFound, fmt::format("keyring {} does not exist (needed to verify {})",
                                                         keyring.string(), what),
                        std::string(KeyringHint));
        // gpgv reads only binary keyrings: armored keys are decoded into the private dir.
        auto content = util::read_file(keyring);
        if (is_armored_key(content)) {
            fs::path binary = dir.path() / fmt::format("keyring-{}.gpg", i);
            write_private_file(binary, dearmor_keys(content, keyring));
            argv.insert(argv.end(), {"--keyring", binary.string()});
        } else {
            // A name without '/' would be looked up in the home directory.
            argv.insert(argv.end(), {"--keyring", fs::absolute(keyring).string()});
        }
    }
    write_private_file(input, inrelease);
    argv.push_back(input.string());

    util::ProcessOptions options;
    options.env = {{"LC_ALL", "C"}};
    options.unset_env = {"GNUPGHOME", "LANGUAGE"};
    options.timeout = std::chrono::seconds(120);
    util::ProcessResult result;
    try {
        result = util::run_process(argv, options);
    } catch (Error& e) {
        if (e.code() != ErrorCode::NotFound) throw;
        throw Error(ErrorCode::NotFound, fmt::format("cannot verify {}: gpgv is not installed", what),
                    "install the gpgv package (apt-get install gpgv), or pass --insecure-skip-verify at your own risk");
    }
    if (result.timed_out)
        throw Error(ErrorCode::Signature, fmt::format("cannot verify {}: gpgv did not finish in time", what));

    const auto status = parse_status(result.out);
    bool any_bad = false;
    VerifiedText verified;
    for (const auto& sig : status.signatures) {
        any_bad = any_bad || sig.verdict == "BADSIG";
        if (sig.valid && std::find(verified.fingerprints.begin(), verified.fingerprints.end(), sig.fingerprint) ==
                             verified.fingerprints.end())
            verified.fingerprints.push_back(sig.fingerprint);
    }
    if (any_bad || verified.fingerprints.empty()) throw_verification_failure(status, result.err, keyrings, what);

    // gpgv exits non-zero when some signature is by an unknown key even though
    // another one is good; it still writes the signed text, which is what we use.
    std::error_code ec;
    if (!fs::exists(output, ec))
        throw Error(ErrorCode::Internal,
                    fmt::format("gpgv verified {} but wrote no signed text: {}", what, trim(result.err)));
    verified.signed_text = util::read_file(output);
    return verified;
}

std::string strip_clearsign(std::string_view inrelease) {
    return cleartext_of(split_clearsigned(inrelease, ErrorCode::Parse, "the clearsigned message"));
}

}  // namespace slate::deb
