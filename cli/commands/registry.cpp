// slate push IMAGE REF | pull REF DIR | copy SRC DST | inspect IMAGE | tags REPO | login REGISTRY | logout REGISTRY
//
// IMAGE, SRC and DST are image locations: oci:DIR[:REF], a layout directory,
// docker-archive:FILE, or a registry reference.
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "registry_session.hpp"
#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/util/fs.hpp"

namespace slate::cli {

namespace {

using registry::ImageLocation;

std::string human_size(std::uint64_t bytes) {
    if (bytes >= 1024 * 1024) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    if (bytes >= 1024) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
    return fmt::format("{} B", bytes);
}

}  // namespace

oci::Platform parse_platform_flag(const std::string& text) {
    oci::Platform platform;
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t slash = text.find('/', start);
        if (slash == std::string::npos) slash = text.size();
        parts.push_back(text.substr(start, slash - start));
        start = slash + 1;
    }
    bool bad = parts.size() < 2 || parts.size() > 3;
    for (const auto& part : parts) bad = bad || part.empty();
    if (bad)
        throw Error(ErrorCode::Usage, fmt::format("\"{}\" is not a platform", text),
                    "write OS/ARCH or OS/ARCH/VARIANT, e.g. linux/amd64 or linux/arm64/v8");
    platform.os = parts[0];
    platform.architecture = parts[1];
    if (parts.size() == 3) platform.variant = parts[2];
    return platform;
}

void print_transfer(const registry::TransferReport& report, const ImageLocation& destination, bool json) {
    std::string where = destination.to_string();
    if (destination.kind == ImageLocation::Kind::Registry)
        where = destination.reference.name() + "@" + report.top.digest;
    if (json) {
        nlohmann::ordered_json doc;
        doc["destination"] = destination.to_string();
        doc["digest"] = report.top.digest;
        doc["mediaType"] = report.top.media_type;
        doc["size"] = report.top.size;
        doc["blobs"] = {{"total", report.blobs},
                        {"copied", report.blobs_copied},
                        {"existed", report.blobs_existed},
                        {"mounted", report.blobs_mounted},
                        {"bytes_copied", report.bytes_copied}};
        doc["manifests"] = report.documents;
        fmt::print("{}\n", doc.dump(2));
        return;
    }
    fmt::print(stderr, "{} blobs: {} copied ({}), {} already there, {} mounted; {} manifests\n", report.blobs,
               report.blobs_copied, human_size(report.bytes_copied), report.blobs_existed, report.blobs_mounted,
               report.documents);
    fmt::print("{}\n", where);
}

registry::TransferReport transfer(Context& ctx, const TransferArgs& args, const ImageLocation& source,
                                  const ImageLocation& destination) {
    RegistrySession session(ctx.settings, args.jobs, args.chunk_size);
    util::TempDir scratch(std::filesystem::temp_directory_path(), "slate-transfer-");
    registry::ImageSource image(source, session.pool(), scratch.path());
    registry::TransferOptions options;
    if (!args.platform.empty()) options.platform = parse_platform_flag(args.platform);
    auto report = registry::copy_image(image, destination, session.pool(), options, session.log());
    print_transfer(report, destination, args.json);
    return report;
}

namespace {

void add_transfer_flags(CLI::App* cmd, TransferArgs& args, bool platform) {
    if (platform)
        cmd->add_option("--platform", args.platform,
                        "Copy only this platform's image (OS/ARCH[/VARIANT], e.g. linux/arm64)");
    cmd->add_option("--jobs", args.jobs, "Parallel blob transfers")->check(CLI::Range(1u, 64u));
    cmd->add_option("--chunk-size", args.chunk_size,
                    "Upload blobs larger than this many bytes in chunks (default 64 MiB)")
        ->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{1} << 40));
    cmd->add_flag("--json", args.json, "Print {digest, blobs: {...}} as JSON");
}

ImageLocation registry_location(const std::string& text, const char* role) {
    ImageLocation location = registry::parse_image_location(text);
    if (location.kind != ImageLocation::Kind::Registry)
        throw Error(ErrorCode::Usage, fmt::format("{} must be a registry reference, not {}", role, location.to_string()),
                    "write HOST[:PORT]/NAME[:TAG], e.g. localhost:5000/app:1; use `slate copy` for other moves");
    return location;
}

std::string read_secret(const std::string& prompt) {
    if (::isatty(STDIN_FILENO) != 1)
        throw Error(ErrorCode::Usage, "no password given and stdin is not a terminal",
                    "pipe it in with --password-stdin, or set SLATE_REGISTRY_PASSWORD");
    fmt::print(stderr, "{}", prompt);
    termios saved{};
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    std::string secret;
    std::getline(std::cin, secret);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fmt::print(stderr, "\n");
    return secret;
}

// ------------------------------------------------------------ inspect

void print_inspection(const registry::Inspection& found, bool json) {
    if (json) {
        nlohmann::ordered_json doc;
        doc["name"] = found.name;
        doc["digest"] = found.top.digest;
        doc["mediaType"] = found.top.media_type;
        doc["size"] = found.top.size;
        doc["images"] = nlohmann::ordered_json::array();
        for (const auto& image : found.images) {
            nlohmann::ordered_json layers = nlohmann::ordered_json::array();
            for (const auto& layer : image.layers)
                layers.push_back({{"digest", layer.digest}, {"mediaType", layer.media_type}, {"size", layer.size}});
            const auto& config = image.image_config.config;
            doc["images"].push_back({{"platform", oci::to_string(image.platform)},
                                     {"digest", image.manifest.digest},
                                     {"mediaType", image.manifest.media_type},
                                     {"size", image.size},
                                     {"created", oci::format_rfc3339(image.image_config.created)},
                                     {"config", {{"digest", image.config.digest}, {"size", image.config.size}}},
                                     {"user", config.user},
                                     {"entrypoint", config.entrypoint},
                                     {"cmd", config.cmd},
                                     {"env", config.env},
                                     {"workingDir", config.working_dir},
                                     {"labels", config.labels},
                                     {"layers", layers}});
        }
        doc["artifacts"] = nlohmann::ordered_json::array();
        for (const auto& other : found.other)
            doc["artifacts"].push_back({{"digest", other.digest},
                                        {"mediaType", other.media_type},
                                        {"artifactType", other.artifact_type},
                                        {"size", other.size}});
        fmt::print("{}\n", doc.dump(2));
        return;
    }
    fmt::print("{}\n  digest  {}\n  type    {}\n", found.name, found.top.digest, found.top.media_type);
    for (const auto& image : found.images) {
        fmt::print("  {:<16} {}  {} layer{}, {}, created {}\n", oci::to_string(image.platform), image.manifest.digest,
                   image.layers.size(), image.layers.size() == 1 ? "" : "s", human_size(image.size),
                   oci::format_rfc3339(image.image_config.created));
        const auto& config = image.image_config.config;
        if (!config.entrypoint.empty() || !config.cmd.empty())
            fmt::print("  {:<16} entrypoint {} cmd {} user {}\n", "", nlohmann::json(config.entrypoint).dump(),
                       nlohmann::json(config.cmd).dump(), config.user.empty() ? "root" : config.user);
    }
    for (const auto& other : found.other)
        fmt::print("  {:<16} {}  {}\n", "artifact", other.digest,
                   other.artifact_type.empty() ? other.media_type : other.artifact_type);
}

}  // namespace

void add_registry_commands(CLI::App& app, Context& ctx) {
    {
        auto args = std::make_shared<TransferArgs>();
        auto* cmd = app.add_subcommand("push", "Push an image (OCI layout or docker-archive) to a registry");
        cmd->add_option("image", args->source, "oci:DIR[:REF], a layout directory, or docker-archive:FILE")
            ->required();
        cmd->add_option("reference", args->destination, "Where to: HOST[:PORT]/NAME[:TAG]")->required();
        add_transfer_flags(cmd, *args, false);
        cmd->callback([&ctx, args] {
            ImageLocation source = registry::parse_image_location(args->source);
            if (source.kind == ImageLocation::Kind::Registry)
                throw Error(ErrorCode::Usage, fmt::format("{} is a registry reference, not a local image", args->source),
                            "give an OCI layout directory (or oci:DIR), or use `slate copy` between registries");
            transfer(ctx, *args, source, registry_location(args->destination, "the destination"));
        });
    }
    {
        auto args = std::make_shared<TransferArgs>();
        auto* cmd = app.add_subcommand("pull", "Download an image from a registry into an OCI layout directory");
        cmd->add_option("reference", args->source, "HOST[:PORT]/NAME[:TAG|@DIGEST]")->required();
        cmd->add_option("directory", args->destination, "OCI layout directory (or oci:DIR:REF)")->required();
        add_transfer_flags(cmd, *args, true);
        cmd->callback([&ctx, args] {
            ImageLocation destination = registry::parse_image_location(
                args->destination.starts_with("oci:") ? args->destination : "oci:" + args->destination);
            transfer(ctx, *args, registry_location(args->source, "the source"), destination);
        });
    }
    {
        auto args = std::make_shared<TransferArgs>();
        auto* cmd = app.add_subcommand("copy", "Copy an image between registries, layouts and docker-archives");
        cmd->add_option("source", args->source, "Image: registry reference, oci:DIR[:REF] or docker-archive:FILE")
            ->required();
        cmd->add_option("destination", args->destination, "Same forms as the source")->required();
        add_transfer_flags(cmd, *args, true);
        cmd->callback([&ctx, args] {
            transfer(ctx, *args, registry::parse_image_location(args->source),
                     registry::parse_image_location(args->destination));
        });
    }
    {
        struct InspectArgs {
            std::string image;
            bool json = false;
        };
        auto args = std::make_shared<InspectArgs>();
        auto* cmd = app.add_subcommand("inspect", "Show an image's manifests, platforms, layers and config");
        cmd->add_option("image", args->image, "Registry reference, oci:DIR[:REF] or docker-archive:FILE")->required();
        cmd->add_flag("--json", args->json, "Print JSON");
        cmd->callback([&ctx, args] {
            RegistrySession session(ctx.settings, 1);
            util::TempDir scratch(std::filesystem::temp_directory_path(), "slate-inspect-");
            registry::ImageSource image(registry::parse_image_location(args->image), session.pool(), scratch.path());
            print_inspection(registry::inspect_image(image), args->json);
        });
    }
    {
        struct TagsArgs {
            std::string repository;
            unsigned page_size = 0;
        };
        auto args = std::make_shared<TagsArgs>();
        auto* cmd = app.add_subcommand("tags", "List a repository's tags");
        cmd->add_option("repository", args->repository, "HOST[:PORT]/NAME")->required();
        cmd->add_option("--page-size", args->page_size, "Tags per request (the registry pages with Link headers)");
        cmd->callback([&ctx, args] {
            registry::Reference ref = registry_location(args->repository, "the repository").reference;
            RegistrySession session(ctx.settings, 1);
            for (const auto& tag : session.pool().client(ref.registry).list_tags(ref.repository, args->page_size))
                fmt::print("{}\n", tag);
        });
    }
    {
        struct LoginArgs {
            std::string registry;
            std::string username;
            bool password_stdin = false;
        };
        auto args = std::make_shared<LoginArgs>();
        auto* cmd = app.add_subcommand("login", "Check and store credentials for a registry (Docker's config.json)");
        cmd->add_option("registry", args->registry, "HOST[:PORT]")->required();
        cmd->add_option("-u,--username", args->username, "User name (default: SLATE_REGISTRY_USERNAME)");
        cmd->add_flag("--password-stdin", args->password_stdin, "Read the password from stdin");
        cmd->callback([&ctx, args] {
            std::string host = registry::parse_reference(args->registry + "/x").registry;
            registry::Credentials credentials;
            credentials.username = args->username;
            if (credentials.username.empty())
                if (const char* env = std::getenv("SLATE_REGISTRY_USERNAME")) credentials.username = env;
            if (credentials.username.empty())
                throw Error(ErrorCode::Usage, "no user name", "pass --username USER");
            if (args->password_stdin) {
                std::getline(std::cin, credentials.password);
            } else if (const char* env = std::getenv("SLATE_REGISTRY_PASSWORD"); env && *env) {
                credentials.password = env;
            } else {
                credentials.password = read_secret("Password: ");
            }
            while (!credentials.password.empty() &&
                   (credentials.password.back() == '\n' || credentials.password.back() == '\r'))
                credentials.password.pop_back();
            if (credentials.password.empty()) throw Error(ErrorCode::Usage, "empty password");

            // Check them against the registry before storing anything.
            registry::ClientOptions options = registry_options(ctx.settings, 1);
            TerminalLog log(ctx.settings.verbosity());
            util::NullProgress progress;
            registry::Client client(std::make_shared<registry::Authenticator>(host, credentials), options, log,
                                    progress);
            client.ping();
            CliCredentials store;
            store.store().store(host, credentials);
            fmt::print(stderr, "logged in to {} (credentials in {})\n", host, store.store().path().string());
        });
    }
    {
        auto registry_name = std::make_shared<std::string>();
        auto* cmd = app.add_subcommand("logout", "Remove a registry's stored credentials");
        cmd->add_option("registry", *registry_name, "HOST[:PORT]")->required();
        cmd->callback([registry_name] {
            std::string host = registry::parse_reference(*registry_name + "/x").registry;
            CliCredentials store;
            if (!store.store().erase(host))
                throw Error(ErrorCode::NotFound, fmt::format("no credentials stored for {}", host),
                            "`slate login` stores them in " + store.store().path().string());
            fmt::print(stderr, "removed the credentials for {}\n", host);
        });
    }
}

}  // namespace slate::cli
