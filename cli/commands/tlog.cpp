// slate tlog serve --data DIR --key K [--listen 127.0.0.1:0] [--origin NAME] [--port-file F]
//                  [--idle-exit SECONDS] [--threads N] [--max-body-size BYTES]
// slate tlog checkpoint --url U [-o FILE]
// slate tlog verify --tlog-key PUB --url U OLD_CHECKPOINT [NEW_CHECKPOINT] [--json]
//
// `serve` runs slate's air-gapped transparency log (Rekor v1 API) until
// SIGINT/SIGTERM, or until --idle-exit seconds pass without a request. It
// prints the URL it listens on to stdout (and writes the port to
// --port-file, for scripts that start it on port 0).
// `verify` checks both checkpoints' signatures with the log's key and the
// consistency proof the log gives between them; exit 3 naming what failed.

#include <fmt/format.h>
#include <signal.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "commands/commands.hpp"
#include "signing_keys.hpp"
#include "slate/error.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/sign/note.hpp"
#include "slate/sign/tlog.hpp"
#include "slate/sign/tlog_client.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/http.hpp"
#include "slate/util/http_server.hpp"
#include "terminal.hpp"

namespace slate::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct ServeArgs {
    std::string data;
    std::string key;
    std::string listen = "127.0.0.1:0";
    std::string origin;
    std::string port_file;
    unsigned idle_exit = 0;
    unsigned threads = 4;
    std::size_t max_body_size = 4 * 1024 * 1024;
};

struct CheckpointArgs {
    std::string url;
    std::string output;
};

struct VerifyArgs {
    std::string key;
    std::string url;
    std::string old_checkpoint;
    std::string new_checkpoint;
    bool json = false;
};

util::HttpOptions http_options(const Settings& settings) {
    util::HttpOptions options;
    options.retries = settings.retries;
    options.ca_file = settings.ca_file;
    return options;
}

void run_serve(const Context& ctx, const ServeArgs& args) {
    auto [address, port] = util::parse_listen_address(args.listen);
    if (args.threads == 0 || args.threads > 256) throw Error(ErrorCode::Usage, "--threads must be 1..256");

    // SIGINT and SIGTERM are taken synchronously below (sigtimedwait), so
    // the server stops cleanly. Blocked before any thread starts, so every
    // thread inherits the mask and none of them gets the signal.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    sign::PrivateKey key = load_signing_key(args.key);
    sign::TransparencyLog log(args.data, std::move(key), sign::TlogOptions{args.origin, {}});
    if (log.truncated_bytes() > 0)
        fmt::print(stderr, "slate tlog: removed a torn record ({} bytes) left at the end of {} by a crash\n",
                   log.truncated_bytes(), (fs::path(args.data) / "entries.log").string());

    TerminalLog terminal_log(ctx.settings.verbosity());
    util::HttpServerOptions options;
    options.address = address;
    options.port = port;
    options.threads = args.threads;
    options.max_body_bytes = args.max_body_size;
    options.server_name = "slate-tlog";
    options.log = &terminal_log;
    util::HttpServer server(options, [&log](const util::HttpServerRequest& request) {
        return sign::handle_tlog_request(log, request);
    });
    server.start();
    if (!args.port_file.empty()) util::write_file_atomic(args.port_file, fmt::format("{}\n", server.port()));
    fmt::print(stderr, "slate tlog: log \"{}\" with {} entries, log ID {}\n", log.origin(), log.size(),
               util::to_hex(log.log_id()));
    fmt::print("{}\n", server.url());
    std::fflush(stdout);

    for (;;) {
        timespec tick{1, 0};
        siginfo_t info{};
        int signal_number = sigtimedwait(&stop_signals, &info, &tick);
        if (signal_number == SIGINT || signal_number == SIGTERM) {
            fmt::print(stderr, "slate tlog: stopping ({})\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        if (args.idle_exit > 0 &&
            std::chrono::steady_clock::now() - server.last_request_time() > std::chrono::seconds(args.idle_exit)) {
            fmt::print(stderr, "slate tlog: stopping: no request for {} seconds (--idle-exit)\n", args.idle_exit);
            break;
        }
    }
    server.stop();
    server.wait();
}

void run_checkpoint(const Context& ctx, const CheckpointArgs& args) {
    TerminalLog log(ctx.settings.verbosity());
    util::NullProgress progress;
    util::CurlHttpClient http(http_options(ctx.settings), log, progress);
    std::string checkpoint = sign::TlogClient(args.url, http).checkpoint();
    if (args.output.empty() || args.output == "-") {
        fmt::print("{}", checkpoint);
    } else {
        util::write_file_atomic(args.output, checkpoint);
        fmt::print(stderr, "Checkpoint written to {}\n", args.output);
    }
}

[[noreturn]] void check_failed(std::string message, std::string hint = {}) {
    throw Error(ErrorCode::CheckFailed, std::move(message), std::move(hint));
}

// A checkpoint note signed by `key`: its signature checked (under whatever
// name it carries), then its body parsed.
sign::Checkpoint verified_checkpoint(std::string_view text, const std::string& where, const sign::PublicKey& key,
                                     const std::string& key_path) {
    sign::Note note;
    sign::Checkpoint checkpoint;
    try {
        note = sign::parse_note(text);
        checkpoint = sign::parse_checkpoint(note.text);
    } catch (const Error& e) {
        check_failed(fmt::format("{} is not a valid checkpoint: {}", where, e.message()),
                     "give a checkpoint saved with `slate tlog checkpoint`");
    }
    std::set<std::string> names;
    for (const auto& signature : note.signatures) names.insert(signature.name);
    bool verified = false;
    for (const auto& name : names) verified = verified || sign::verify_note(note, name, key);
    if (!verified)
        check_failed(fmt::format("bad signature: {} is not signed by the log key {} (forged, tampered with, or from "
                                 "another log)",
                                 where, key_path),
                     "check that --tlog-key is this log's public key");
    return checkpoint;
}

void run_verify(const Context& ctx, const VerifyArgs& args) {
    sign::PublicKey key = load_verification_key(args.key);
    TerminalLog log(ctx.settings.verbosity());
    util::NullProgress progress;
    util::CurlHttpClient http(http_options(ctx.settings), log, progress);
    sign::TlogClient client(args.url, http);

    sign::Checkpoint old_cp = verified_checkpoint(util::read_file(args.old_checkpoint), args.old_checkpoint, key, args.key);
    const std::string new_where = args.new_checkpoint.empty() ? "the log's current checkpoint" : args.new_checkpoint;
    const std::string new_text = args.new_checkpoint.empty() ? client.checkpoint() : util::read_file(args.new_checkpoint);
    sign::Checkpoint new_cp = verified_checkpoint(new_text, new_where, key, args.key);

    if (old_cp.origin != new_cp.origin)
        check_failed(fmt::format("the checkpoints are from different logs: {} is \"{}\", {} is \"{}\"",
                                 args.old_checkpoint, old_cp.origin, new_where, new_cp.origin));
    if (old_cp.tree_size > new_cp.tree_size)
        check_failed(fmt::format("size went backwards: {} has {} entries, {} only {}", args.old_checkpoint,
                                 old_cp.tree_size, new_where, new_cp.tree_size),
                     "a log never shrinks: it was rolled back or replaced");
    std::size_t proof_size = 0;
    if (old_cp.tree_size == new_cp.tree_size) {
        if (old_cp.root_hash != new_cp.root_hash)
            check_failed(fmt::format("root mismatch: {} and {} both have {} entries but different roots (a split view)",
                                     args.old_checkpoint, new_where, old_cp.tree_size),
                         "the log signed two different trees of the same size");
    } else if (old_cp.tree_size > 0) {
        sign::ConsistencyProof proof = client.consistency_proof(old_cp.tree_size, new_cp.tree_size);
        if (proof.root_hash != new_cp.root_hash)
            check_failed(fmt::format("root mismatch: the log's tree of {} entries has root {}, {} says {}",
                                     new_cp.tree_size, util::to_hex(proof.root_hash), new_where,
                                     util::to_hex(new_cp.root_hash)),
                         "the log now shows a different tree than it signed");
        if (!sign::verify_consistency(old_cp.tree_size, new_cp.tree_size, old_cp.root_hash, new_cp.root_hash,
                                      proof.hashes))
            check_failed(fmt::format("inconsistent proof: the log cannot show that {} ({} entries) is a prefix of {} "
                                     "({} entries)",
                                     args.old_checkpoint, old_cp.tree_size, new_where, new_cp.tree_size),
                         "the log rewrote entries it had already committed to");
        proof_size = proof.hashes.size();
    }

    if (args.json) {
        nlohmann::ordered_json out = {
            {"consistent", true},
            {"origin", old_cp.origin},
            {"old", {{"treeSize", old_cp.tree_size}, {"rootHash", util::to_hex(old_cp.root_hash)}}},
            {"new", {{"treeSize", new_cp.tree_size}, {"rootHash", util::to_hex(new_cp.root_hash)}}},
            {"proofHashes", proof_size}};
        fmt::print("{}\n", out.dump(2));
    } else {
        fmt::print("consistent: {} ({} entries) is a prefix of {} ({} entries)\n", args.old_checkpoint,
                   old_cp.tree_size, new_where, new_cp.tree_size);
    }
}

}  // namespace

void add_tlog_command(CLI::App& app, Context& ctx) {
    auto* tlog = app.add_subcommand("tlog", "Run and check slate's air-gapped transparency log (Rekor v1 API)");
    tlog->require_subcommand(1);

    auto serve = std::make_shared<ServeArgs>();
    auto* cmd = tlog->add_subcommand("serve", "Serve an append-only transparency log over HTTP");
    cmd->add_option("--data", serve->data, "Directory holding the log (created if missing)")->required();
    cmd->add_option("--key", serve->key, "The log's signing key (cosign/slate key file or PEM)")->required();
    cmd->add_option("--listen", serve->listen, "Address to listen on, HOST:PORT (port 0: any free port)")
        ->capture_default_str();
    cmd->add_option("--origin", serve->origin,
                    "Checkpoint origin, fixed when the log is created (default: slate-tlog - <log ID prefix>). Its "
                    "first word names the key in signed checkpoints; Sigstore clients such as sigstore-js match it "
                    "against the log's URL in their trusted root, so start it with the host name clients use, as "
                    "Rekor's \"rekor.sigstore.dev - <tree id>\" does");
    cmd->add_option("--port-file", serve->port_file, "Write the port listened on to this file");
    cmd->add_option("--idle-exit", serve->idle_exit, "Exit after this many seconds without a request (0: never)")
        ->capture_default_str();
    cmd->add_option("--threads", serve->threads, "Worker threads")->capture_default_str();
    cmd->add_option("--max-body-size", serve->max_body_size, "Largest accepted request body, in bytes")
        ->capture_default_str();
    cmd->footer("The key's password is read from SLATE_PASSWORD. Stops on SIGINT or SIGTERM.");
    cmd->callback([serve, &ctx] {
        run_serve(ctx, *serve);
        ctx.exit_code = 0;
    });

    auto checkpoint = std::make_shared<CheckpointArgs>();
    cmd = tlog->add_subcommand("checkpoint", "Save the log's current signed checkpoint");
    cmd->add_option("--url", checkpoint->url, "The log's URL")->required();
    cmd->add_option("-o,--output", checkpoint->output, "Write the checkpoint to FILE (default: stdout)");
    cmd->callback([checkpoint, &ctx] {
        run_checkpoint(ctx, *checkpoint);
        ctx.exit_code = 0;
    });

    auto verify = std::make_shared<VerifyArgs>();
    cmd = tlog->add_subcommand("verify", "Check that a log stayed consistent between two checkpoints");
    cmd->add_option("--tlog-key", verify->key, "The log's public key (PEM)")->required();
    cmd->add_option("--url", verify->url, "The log's URL")->required();
    cmd->add_option("old", verify->old_checkpoint, "An earlier checkpoint")->required();
    cmd->add_option("new", verify->new_checkpoint, "A later checkpoint (default: the log's current one)");
    cmd->add_flag("--json", verify->json, "Print the result as JSON");
    cmd->footer("Exit code 3 when a signature, the sizes, the roots or the consistency proof do not check out.");
    cmd->callback([verify, &ctx] {
        run_verify(ctx, *verify);
        ctx.exit_code = 0;
    });
}

}  // namespace slate::cli
