// slate verify-bundle [--staging] --bundle FILE
//                     (--certificate-identity ID --certificate-oidc-issuer URL | --key KEY)
//                     [--trusted-root FILE] FILE_OR_DIGEST
//
// Verifies a Sigstore bundle offline, with the flags of the
// sigstore-conformance CLI protocol. FILE_OR_DIGEST is the artifact, or
// "sha256:<hex>" when that is not a file. The trusted root comes from
// --trusted-root or SLATE_TRUSTED_ROOT: slate bundles none and never
// downloads one. Exit 0 verified, 3 a check failed, 1 unreadable or
// malformed input, 2 usage.

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "commands/commands.hpp"
#include "slate/error.hpp"
#include "slate/sign/bundle.hpp"
#include "slate/sign/trusted_root.hpp"
#include "slate/sign/verify_bundle.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::cli {
namespace {

struct VerifyBundleArgs {
    std::string bundle;
    std::string identity;
    std::string issuer;
    std::string key;
    std::string trusted_root;
    bool staging = false;
    std::string artifact;
};

// The protocol's rule: a digest starts with "sha256:", has 64 hex digits
// and is not a path on disk; anything else is a file.
sign::Artifact read_artifact(const std::string& input) {
    std::error_code ec;
    constexpr std::string_view Prefix = "sha256:";
    if (input.starts_with(Prefix) && input.size() == Prefix.size() + 64 && !std::filesystem::exists(input, ec))
        return sign::Artifact::from_digest(input);
    return sign::Artifact::from_bytes(util::read_file(input));
}

std::filesystem::path trusted_root_path(const VerifyBundleArgs& args) {
    if (!args.trusted_root.empty()) return args.trusted_root;
    if (const char* env = std::getenv("SLATE_TRUSTED_ROOT"); env && *env) return env;
    throw Error(ErrorCode::Usage,
                args.staging ? "--staging needs a trusted root: slate carries no Sigstore staging root"
                             : "no trusted root: slate carries no Sigstore public-good root and downloads none",
                "give the instance's trusted_root.json with --trusted-root FILE or SLATE_TRUSTED_ROOT=FILE "
                "(`sigstore-python trust-instance` or the TUF repository of the instance publishes it)");
}

void run_verify_bundle(Context& ctx, const VerifyBundleArgs& args) {
    const bool with_key = !args.key.empty();
    if (with_key && (!args.identity.empty() || !args.issuer.empty()))
        throw Error(ErrorCode::Usage, "--key cannot be combined with --certificate-identity or --certificate-oidc-issuer");
    if (!with_key && (args.identity.empty() || args.issuer.empty()))
        throw Error(ErrorCode::Usage, "say who must have signed: --certificate-identity and --certificate-oidc-issuer, or --key");

    const auto root_path = trusted_root_path(args);
    sign::TrustedRoot root = sign::parse_trusted_root(util::read_file(root_path), root_path.string());
    sign::Bundle bundle = sign::parse_bundle(util::read_file(args.bundle), args.bundle);
    sign::BundlePolicy policy;
    if (with_key) {
        policy.key = sign::PublicKey::from_pem(util::read_file(args.key), args.key);
    } else {
        policy.identity = args.identity;
        policy.issuer = args.issuer;
    }
    sign::Artifact artifact = read_artifact(args.artifact);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    try {
        sign::BundleVerification result = sign::verify_bundle(bundle, artifact, root, policy, now);
        for (const auto& warning : result.warnings) fmt::print(stderr, "warning: {}\n", warning);
        fmt::print("OK: {}: {}\n", args.artifact, result.summary);
    } catch (Error& e) {
        e.add_context(fmt::format("while verifying {} against {}", args.bundle, args.artifact));
        throw;
    }
    ctx.exit_code = 0;
}

}  // namespace

void add_verify_bundle_command(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<VerifyBundleArgs>();
    auto* cmd = app.add_subcommand("verify-bundle", "Verify a Sigstore bundle offline (sigstore-conformance protocol)");
    cmd->add_flag("--staging", args->staging, "The bundle is from Sigstore's staging instance (needs --trusted-root)");
    cmd->add_option("--bundle", args->bundle, "The Sigstore bundle (.sigstore.json)")->required();
    cmd->add_option("--certificate-identity", args->identity, "The signer identity the certificate must name (SAN)");
    cmd->add_option("--certificate-oidc-issuer", args->issuer, "The OIDC issuer the certificate must name");
    cmd->add_option("--key", args->key, "Verify with this PEM public key instead of a certificate");
    cmd->add_option("--trusted-root", args->trusted_root, "The Sigstore trusted_root.json (default: $SLATE_TRUSTED_ROOT)");
    cmd->add_option("artifact", args->artifact, "The signed file, or sha256:<hex> digest")->required();
    cmd->callback([&ctx, args] { run_verify_bundle(ctx, *args); });
}

}  // namespace slate::cli
