// slate sign   IMAGE --key P.key [--recursive] [-a KEY=VALUE]... [--tlog URL] [--json]
// slate attest IMAGE --key P.key --predicate FILE [--type TYPE] [--recursive] [--tlog URL] [--json]
// slate verify IMAGE --key P.pub [--attestation TYPE] [--tlog-key LOG.pub] [--platform OS/ARCH]
//                    [--print-predicate] [--no-cache] [--json]
//
// IMAGE: a registry reference or an OCI layout (oci:DIR[:REF], or a
// directory). Signatures are stored as cosign v2 and v3 read them
// (docs/signing.md). `verify` exits 3 when no signature passes every check.

#include <fmt/format.h>

#include <cstdio>
#include <optional>

#include "commands/commands.hpp"
#include "signing_keys.hpp"
#include "signing_session.hpp"
#include "slate/error.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/sign/image_signing.hpp"
#include "slate/util/fs.hpp"

namespace slate::cli {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> parse_annotations(const std::vector<std::string>& flags) {
    std::map<std::string, std::string> out;
    for (const auto& flag : flags) {
        auto equals = flag.find('=');
        if (equals == std::string::npos || equals == 0)
            throw Error(ErrorCode::Usage, fmt::format("--annotation {} is not KEY=VALUE", flag),
                        "write e.g. -a build=1234");
        out[flag.substr(0, equals)] = flag.substr(equals + 1);
    }
    return out;
}

nlohmann::ordered_json report_json(const sign::SignReport& report) {
    nlohmann::ordered_json doc = nlohmann::ordered_json::object();
    doc["image"] = report.image;
    nlohmann::ordered_json manifests = nlohmann::ordered_json::array();
    for (const auto& done : report.manifests)
        manifests.push_back({{"digest", done.digest},
                             {"legacyTag", done.legacy_tag},
                             {"legacyAdded", done.legacy_added},
                             {"referrer", done.referrer},
                             {"tlogIndexes", done.tlog_indexes}});
    doc["manifests"] = std::move(manifests);
    return doc;
}

void print_report(const sign::SignReport& report, const char* verb, bool json) {
    if (json) {
        fmt::print("{}\n", report_json(report).dump(2));
        return;
    }
    for (const auto& done : report.manifests) {
        fmt::print("{} {}@{}\n", verb, report.image, done.digest);
        fmt::print("  tag       {}{}\n", done.legacy_tag, done.legacy_added ? "" : " (the same signature was there)");
        fmt::print("  referrer  {}\n", done.referrer);
        if (!done.tlog_indexes.empty()) {
            std::string indexes;
            for (auto index : done.tlog_indexes) indexes += (indexes.empty() ? "" : ", ") + std::to_string(index);
            fmt::print("  tlog      entries {}\n", indexes);
        }
    }
}

// ------------------------------------------------------------ sign, attest

struct SignArgs {
    std::string image;
    std::string key;
    bool recursive = false;
    std::string tlog;
    std::vector<std::string> annotations;
    bool json = false;
};

void run_sign(const Context& ctx, const SignArgs& args) {
    auto annotations = parse_annotations(args.annotations);
    sign::PrivateKey key = load_signing_key(args.key);
    SigningTarget target = open_signing_target(ctx.settings, args.image);
    std::optional<TlogSession> tlog;
    if (!args.tlog.empty()) tlog.emplace(ctx.settings, args.tlog);
    sign::SignOptions options;
    options.key = &key;
    options.identity = target.identity;
    options.annotations = std::move(annotations);
    options.recursive = args.recursive;
    options.tlog = tlog ? &tlog->client : nullptr;
    options.created = now_seconds();
    print_report(sign::sign_image(*target.store, options), "Signed", args.json);
}

struct AttestArgs {
    std::string image;
    std::string key;
    std::string type = "custom";
    std::string predicate;
    bool recursive = false;
    std::string tlog;
    bool json = false;
};

void run_attest(const Context& ctx, const AttestArgs& args) {
    const std::string predicate_type = sign::predicate_type_uri(args.type);
    std::string text = util::read_file(args.predicate);
    nlohmann::ordered_json predicate = nlohmann::ordered_json::parse(text, nullptr, false);
    if (predicate.is_discarded() || !predicate.is_object())
        throw Error(ErrorCode::Usage, fmt::format("the predicate {} is not a JSON object", args.predicate),
                    "give the predicate itself (e.g. an SPDX or CycloneDX JSON document, SLSA provenance)");
    sign::PrivateKey key = load_signing_key(args.key);
    SigningTarget target = open_signing_target(ctx.settings, args.image);
    std::optional<TlogSession> tlog;
    if (!args.tlog.empty()) tlog.emplace(ctx.settings, args.tlog);
    sign::AttestOptions options;
    options.key = &key;
    options.identity = target.identity;
    options.predicate_type = predicate_type;
    options.predicate = std::move(predicate);
    options.recursive = args.recursive;
    options.tlog = tlog ? &tlog->client : nullptr;
    options.created = now_seconds();
    print_report(sign::attest_image(*target.store, options), "Attested", args.json);
}

// ------------------------------------------------------------ verify

struct VerifyArgs {
    std::string image;
    std::string key;
    std::string attestation;
    std::string tlog_key;
    std::string platform;
    bool print_predicate = false;
    bool no_cache = false;
    bool json = false;
};

void print_verification(const sign::VerificationResult& result, bool to_stderr) {
    std::FILE* out = to_stderr ? stderr : stdout;
    fmt::print(out, "Verified {}@{} ({}) with key {}{}\n", result.image, result.digest, result.policy, result.key,
               result.cached ? " (cached)" : "");
    for (const auto& signature : result.signatures) {
        fmt::print(out, "  {:4} {} [{}]\n", signature.verified ? "ok" : "FAIL", signature.location, signature.format);
        if (!signature.verified) fmt::print(out, "       {}\n", signature.failure);
        for (const auto& check : signature.checks) fmt::print(out, "       - {}\n", check);
    }
    if (!result.tlog_checked)
        fmt::print(out, "No transparency log was checked (give --tlog-key to require and check log entries).\n");
}

void run_verify(const Context& ctx, const VerifyArgs& args) {
    if (args.print_predicate && args.attestation.empty())
        throw Error(ErrorCode::Usage, "--print-predicate needs --attestation TYPE");
    sign::VerifyOptions options;
    if (!args.attestation.empty()) options.attestation_type = sign::predicate_type_uri(args.attestation);
    if (!args.platform.empty()) options.platform = parse_platform_flag(args.platform);
    sign::PublicKey key = load_verification_key(args.key);
    options.key = &key;
    std::optional<sign::PublicKey> tlog_key;
    if (!args.tlog_key.empty()) {
        tlog_key.emplace(load_verification_key(args.tlog_key));
        options.tlog_key = &*tlog_key;
    }
    SigningTarget target = open_signing_target(ctx.settings, args.image);
    std::optional<sign::VerificationCache> cache;
    if (!args.no_cache) cache.emplace(fs::path(ctx.settings.effective_cache_dir()) / "verify");
    sign::VerificationResult result = sign::verify_image_cached(*target.store, options, cache ? &*cache : nullptr);

    if (args.json) {
        fmt::print("{}\n", sign::to_json(result).dump(2));
        return;
    }
    print_verification(result, args.print_predicate);
    if (args.print_predicate)
        for (const auto& signature : result.signatures)
            if (signature.verified) {
                fmt::print("{}\n", signature.predicate.dump(2));
                break;
            }
}

}  // namespace

void add_sign_commands(CLI::App& app, Context& ctx) {
    {
        auto args = std::make_shared<SignArgs>();
        auto* cmd = app.add_subcommand("sign", "Sign an image's manifest digest as cosign does (.sig tag and bundle referrer)");
        cmd->add_option("image", args->image, "Registry reference or oci:DIR[:REF]")->required();
        cmd->add_option("--key", args->key, "Private key (cosign's format or PEM); password from SLATE_PASSWORD")
            ->required();
        cmd->add_flag("--recursive", args->recursive, "Also sign every manifest of an index");
        cmd->add_option("-a,--annotation", args->annotations, "KEY=VALUE for the payload's \"optional\" section");
        cmd->add_option("--tlog", args->tlog, "Record the signatures in this transparency log (URL)");
        cmd->add_flag("--json", args->json, "Print what was written as JSON");
        cmd->callback([&ctx, args] { run_sign(ctx, *args); });
    }
    {
        auto args = std::make_shared<AttestArgs>();
        auto* cmd = app.add_subcommand("attest", "Attach a signed in-toto attestation to an image, as cosign attest does");
        cmd->add_option("image", args->image, "Registry reference or oci:DIR[:REF]")->required();
        cmd->add_option("--key", args->key, "Private key; password from SLATE_PASSWORD")->required();
        cmd->add_option("--predicate", args->predicate, "The predicate (a JSON file)")->required();
        cmd->add_option("--type", args->type,
                        "slsaprovenance1, slsaprovenance, spdx, spdxjson, cyclonedx, openvex, vuln, link, custom, "
                        "or a URI")
            ->capture_default_str();
        cmd->add_flag("--recursive", args->recursive, "Also attest every manifest of an index");
        cmd->add_option("--tlog", args->tlog, "Record the attestation in this transparency log (URL)");
        cmd->add_flag("--json", args->json, "Print what was written as JSON");
        cmd->callback([&ctx, args] { run_attest(ctx, *args); });
    }
    {
        auto args = std::make_shared<VerifyArgs>();
        auto* cmd = app.add_subcommand("verify", "Verify an image's signatures or attestations (exit 3 when none is valid)");
        cmd->add_option("image", args->image, "Registry reference or oci:DIR[:REF]")->required();
        cmd->add_option("--key", args->key, "Public key (PEM)")->required();
        cmd->add_option("--attestation", args->attestation, "Verify attestations of this predicate type instead");
        cmd->add_option("--tlog-key", args->tlog_key,
                        "Require a transparency log entry and check it offline with this log key");
        cmd->add_option("--platform", args->platform, "Verify this platform's manifest of an index (OS/ARCH[/VARIANT])");
        cmd->add_flag("--print-predicate", args->print_predicate, "Print the verified attestation's predicate");
        cmd->add_flag("--no-cache", args->no_cache, "Do not use or update the verification cache");
        cmd->add_flag("--json", args->json, "Print the result as JSON");
        cmd->callback([&ctx, args] { run_verify(ctx, *args); });
    }
}

}  // namespace slate::cli
