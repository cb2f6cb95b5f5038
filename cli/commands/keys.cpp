// slate keygen [--output-prefix P] [--force]
//
// Writes a new ECDSA P-256 key pair as cosign's generate-key-pair does:
// P.key, encrypted in cosign's format (mode 0600 from its creation on), and
// P.pub, the PKIX PEM public key (0644). The password comes from
// SLATE_PASSWORD, else a prompt on the terminal asked twice.

#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>

#include "commands/commands.hpp"
#include "signing_keys.hpp"
#include "slate/error.hpp"
#include "slate/sign/keys.hpp"
#include "slate/util/fs.hpp"

namespace slate::cli {
namespace {

namespace fs = std::filesystem;

struct KeygenArgs {
    std::string prefix = "slate";
    bool force = false;
};

void refuse_to_overwrite(const fs::path& path) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(path, ec)))
        throw Error(ErrorCode::Usage, path.string() + " already exists",
                    "Use --force to overwrite it, or --output-prefix to write the key pair elsewhere.");
}

void run_keygen(const KeygenArgs& args) {
    if (args.prefix.empty()) throw Error(ErrorCode::Usage, "--output-prefix must not be empty");
    const fs::path key_path = args.prefix + ".key";
    const fs::path pub_path = args.prefix + ".pub";
    // Checked before asking for a password, so nobody types one for nothing.
    // (A file created between this check and the rename below is replaced.)
    if (!args.force) {
        refuse_to_overwrite(key_path);
        refuse_to_overwrite(pub_path);
    }
    std::string password = read_password("the new private key " + key_path.string(), true);

    auto key = sign::PrivateKey::generate_p256();
    std::string encrypted = key.to_encrypted_pem(password);
    std::string public_pem = key.public_key().pem();

    // AtomicFile creates its temporary file 0600 and sets `mode` before any
    // byte is written: the private key is never readable by others.
    util::AtomicFile key_file(key_path, 0600);
    key_file.write(encrypted);
    key_file.commit();
    fmt::print(stderr, "Private key written to {}\n", key_path.string());
    util::AtomicFile pub_file(pub_path, 0644);
    pub_file.write(public_pem);
    pub_file.commit();
    fmt::print(stderr, "Public key written to {}\n", pub_path.string());
}

}  // namespace

void add_keygen_command(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<KeygenArgs>();
    auto* cmd = app.add_subcommand("keygen", "Generate an encrypted ECDSA P-256 signing key pair (cosign's format)");
    cmd->add_option("--output-prefix", args->prefix, "Write PREFIX.key and PREFIX.pub")->capture_default_str();
    cmd->add_flag("--force", args->force, "Overwrite existing key files");
    cmd->footer(
        "The password is read from SLATE_PASSWORD when it is set (it may be empty), else asked twice on the "
        "terminal.");
    cmd->callback([args, &ctx] {
        run_keygen(*args);
        ctx.exit_code = 0;
    });
}

}  // namespace slate::cli
