#include "slate/build/image_build.hpp"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <map>
#include <set>

#include <fmt/format.h>

#include "slate/build/image_sbom.hpp"
#include "slate/build/rootfs.hpp"
#include "slate/build/system_files.hpp"
#include "slate/deb/deb822.hpp"
#include "slate/deb/deb_file.hpp"
#include "slate/deb/release.hpp"
#include "slate/error.hpp"
#include "slate/oci/docker_archive.hpp"
#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"
#include "slate/oci/tar.hpp"
#include "slate/sbom/spdx.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/parallel.hpp"

namespace slate::build {
namespace fs = std::filesystem;

namespace {

constexpr const char* DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The staging directory sits next to the output, so the final rename stays
// on one file system; it is removed with whatever is left in it.
util::TempDir staging_dir(const fs::path& output) {
    auto parent = output.parent_path().empty() ? fs::path(".") : output.parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    return util::TempDir(parent, "." + output.filename().string() + ".tmp-",
                         "check that the output's directory is writable");
}

// Replaces `target` with `staged` (a directory or a file) in one rename; an
// existing target is moved aside first and removed after.
void move_into_place(const fs::path& staged, const fs::path& target) {
    std::error_code ec;
    fs::path old;
    if (fs::exists(target, ec)) {
        old = target;
        old += fmt::format(".old-{}", ::getpid());
        fs::rename(target, old, ec);
        if (ec)
            throw Error(ErrorCode::Io, fmt::format("cannot replace {}: {}", target.string(), ec.message()));
    }
    fs::rename(staged, target, ec);
    if (ec) {
        if (!old.empty()) fs::rename(old, target);
        throw Error(ErrorCode::Io, fmt::format("cannot move the image into {}: {}", target.string(), ec.message()));
    }
    if (!old.empty()) fs::remove_all(old, ec);
}

// Reads every .deb; results in input order.
std::vector<deb::DebFile> read_debs(const std::vector<fs::path>& paths, const std::vector<deb::ResolvedPackage>& pkgs) {
    std::vector<deb::DebFile> out(paths.size());
    util::parallel_for(paths.size(), 0, [&](std::size_t i, unsigned) {
        out[i] = deb::read_deb(paths[i], fmt::format("{} {} ({})", pkgs[i].name, pkgs[i].version, pkgs[i].arch));
    });
    return out;
}

std::string control_field(const std::string& control, std::string_view name) {
    deb::Deb822Reader reader(control, "control");
    deb::Paragraph paragraph;
    if (!reader.next(paragraph)) return {};
    return std::string(paragraph.get_or(name, ""));
}

// The layers' contents: which entries go in which layer.
using LayerFilter = std::function<bool(const std::string&, const FsEntry&)>;

std::vector<LayerFilter> plan_layers(const ImageSpec& spec, const RootFs& root,
                                     const std::vector<deb::ResolvedPackage>& packages) {
    if (spec.layering.strategy == LayeringStrategy::Single || spec.layering.budget <= 1) return {LayerFilter{}};
    // Origin: group packages by source package; the largest groups get layers
    // of their own (shared between images that install them), the rest and
    // slate's generated files share the last layer.
    std::map<std::string, std::string> source_of;  // package -> source
    for (const auto& p : packages) source_of[p.name] = p.source;
    std::map<std::string, std::uint64_t> group_size;
    for (const auto& [path, entry] : root.entries())
        if (!entry.package.empty() && entry.content) group_size[source_of[entry.package]] += entry.content->size();
    std::vector<std::pair<std::string, std::uint64_t>> groups(group_size.begin(), group_size.end());
    std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::size_t own = std::min<std::size_t>(groups.size(), static_cast<std::size_t>(spec.layering.budget - 1));

    auto layer_of = std::make_shared<std::map<std::string, std::size_t>>();  // package -> layer
    for (std::size_t i = 0; i < own; ++i)
        for (const auto& [pkg, src] : source_of)
            if (src == groups[i].first) (*layer_of)[pkg] = i;
    // Each entry belongs to one layer: its package's, or the last one. The
    // package database entries travel with their package so every layer is
    // self-describing for scanners.
    auto owner_layer = std::make_shared<std::map<std::string, std::size_t>>();
    const std::string db = "var/lib/dpkg/status.d/";
    for (const auto& [path, entry] : root.entries()) {
        std::string pkg = entry.package;
        if (pkg.empty() && path.starts_with(db)) {
            pkg = path.substr(db.size());
            if (pkg.ends_with(".md5sums")) pkg.resize(pkg.size() - 8);
        }
        auto it = layer_of->find(pkg);
        (*owner_layer)[path] = it == layer_of->end() ? own : it->second;
    }
    // Directories go in every layer that has something below them, with the
    // same attributes, so each layer unpacks correctly on its own.
    auto needed_dirs = std::make_shared<std::vector<std::set<std::string>>>(own + 1);
    for (const auto& [path, layer] : *owner_layer)
        for (auto slash = path.rfind('/'); slash != std::string::npos; slash = path.rfind('/', slash - 1)) {
            (*needed_dirs)[layer].insert(path.substr(0, slash));
            if (slash == 0) break;
        }
    std::vector<LayerFilter> filters;
    for (std::size_t i = 0; i <= own; ++i)
        filters.push_back([=](const std::string& path, const FsEntry& entry) {
            if (owner_layer->at(path) == i) return true;
            return entry.type == deb::EntryType::Directory && (*needed_dirs)[i].count(path) > 0;
        });
    return filters;
}

oci::RuntimeConfig runtime_config(const ImageSpec& spec, const SystemFiles& system) {
    oci::RuntimeConfig config;
    config.user = system.run_as.user;
    std::map<std::string, std::string> env = spec.environment;
    env.emplace("PATH", DefaultPath);
    if (system.ca_certificates.generated) env.emplace("SSL_CERT_FILE", std::string(CaBundlePath));
    config.env.push_back("PATH=" + env.at("PATH"));
    for (const auto& [k, v] : env)
        if (k != "PATH") config.env.push_back(k + "=" + v);
    config.entrypoint = spec.entrypoint;
    config.cmd = spec.cmd;
    config.working_dir = spec.work_dir;
    return config;
}

struct ArchBuild {
    BuiltImage image;
    oci::Descriptor manifest;
    sbom::Catalog catalog;  // what the image holds; its subject names the manifest digest
};

// The spec as built for `arch`: "${ARCH}" in paths (e.g. an alternatives
// symlink into /usr/lib/jvm/java-17-openjdk-${ARCH}) becomes the architecture.
ImageSpec spec_for_arch(ImageSpec spec, const std::string& arch) {
    auto substitute = [&](std::string& text) {
        for (auto pos = text.find("${ARCH}"); pos != std::string::npos; pos = text.find("${ARCH}", pos + arch.size()))
            text.replace(pos, 7, arch);
    };
    for (auto& path : spec.paths) {
        substitute(path.path);
        substitute(path.source);
        substitute(path.content);
    }
    return spec;
}

ArchBuild build_arch(const ImageSpec& generic_spec, const Lock& lock, const std::string& arch, std::int64_t epoch,
                     util::BlobCache& cache, const BuildOptions& options, const oci::LayoutWriter& layout,
                     util::LogSink& log, util::ProgressSink& progress) {
    const ImageSpec spec = spec_for_arch(generic_spec, arch);
    const auto& locked = lock.archs.at(arch);
    std::map<std::string, std::string> mirror_of;
    for (const auto& s : lock.suites) mirror_of[s.suite] = s.mirror;

    std::vector<FetchItem> items;
    for (const auto& p : locked.packages) {
        auto mirror = mirror_of.find(p.suite);
        if (mirror == mirror_of.end())
            throw Error(ErrorCode::Parse, fmt::format("the lock lists {} from suite {}, which it does not describe", p.name, p.suite),
                        "regenerate it with slate lock");
        items.push_back(FetchItem{mirror->second + "/" + p.filename, p.sha256,
                                  fmt::format("{} {} ({})", p.name, p.version, p.arch), p.size});
    }
    FetchOptions fetch = options.fetch;
    fetch.progress_label = fmt::format("{} packages ({})", spec.name, arch);
    auto paths = fetch_all(cache, items, fetch, log, progress);
    const std::string unpacking = fmt::format("{} ({}): unpacking {} packages", spec.name, arch, paths.size());
    progress.update(unpacking, 0, 0);
    auto debs = read_debs(paths, locked.packages);
    progress.finish(unpacking);

    RootFs root;
    root.allow_overwrite(spec.contents.overwrite);
    std::vector<InstalledPackage> installed;
    for (std::size_t i = 0; i < debs.size(); ++i) {
        const auto& pkg = locked.packages[i];
        for (const auto& note : debs[i].notes) log.info(fmt::format("{}: {}", pkg.name, note));
        root.add_package(PackageFacts{pkg.name, pkg.version, control_field(debs[i].control, "Replaces")}, debs[i]);
        installed.push_back(installed_package(debs[i]));
    }
    debs.clear();  // contents live on in the RootFs
    auto system = write_system_files(root, spec, installed);

    ArchBuild out;
    // The SBOM goes into the image it describes, so it cannot name the
    // image's digest; the copy written next to the image does.
    out.catalog = catalog_rootfs(root, spec, locked, arch, epoch);
    root.put_file(in_image_sbom_path(spec), sbom::to_spdx_json(out.catalog));
    out.image.arch = arch;
    out.image.packages = locked.packages.size();
    // Layers are independent: tar and compress them in parallel, keep their order.
    const auto compression = options.compression;
    const auto filters = plan_layers(spec, root, locked.packages);
    const std::string layering = fmt::format("{} ({}): writing and compressing {} layer{}", spec.name, arch,
                                             filters.size(), filters.size() == 1 ? "" : "s");
    progress.update(layering, 0, 0);
    std::vector<oci::Layer> layers(filters.size());
    util::parallel_for(filters.size(), 0, [&](std::size_t i, unsigned) {
        auto blob = layout.begin_blob();
        oci::LayerCompressor compressor(compression, [&](std::string_view bytes) { blob.write(bytes); });
        oci::TarWriter tar(compressor.sink(), epoch);
        for (const auto& entry : root.tar_entries(filters[i])) tar.add(entry);
        tar.finish();
        auto compressed = compressor.finish();
        blob.commit(oci::layer_media_type(compression), compressed.digest);
        layers[i].digest = compressed.digest;
        layers[i].size = compressed.size;
        layers[i].diff_id = compressed.diff_id;
        layers[i].uncompressed_size = compressed.uncompressed_size;
        layers[i].compression = compression;
    });
    progress.finish(layering);
    for (const auto& layer : layers) {
        out.image.layers.push_back(BuiltLayer{layer.digest, layer.diff_id, layer.size, layer.uncompressed_size});
        out.image.compressed_size += layer.size;
        out.image.uncompressed_size += layer.uncompressed_size;
    }

    auto config = oci::make_image_config(oci::platform_for_debian_arch(arch), epoch, runtime_config(spec, system), layers);
    oci::ImageMetadata metadata;
    metadata.created = epoch;
    metadata.title = spec.name;
    metadata.description = spec.description;
    auto annotations = oci::image_annotations(metadata);
    for (const auto& [k, v] : spec.annotations) annotations[k] = v;
    out.manifest = layout.write_image(config, layers, annotations);
    out.image.manifest_digest = out.manifest.digest;
    out.image.config_digest = oci::parse_manifest(util::read_file(layout.blob_path(out.manifest.digest))).config.digest;
    out.catalog.subject.digest = out.manifest.digest;
    return out;
}

}  // namespace

std::int64_t default_source_date_epoch(const Lock& lock) {
    std::int64_t newest = 0;
    for (const auto& suite : lock.suites) {
        auto date = deb::parse_release_date(suite.date);
        if (!date)
            throw Error(ErrorCode::Parse, fmt::format("the lock's date for suite {} is unreadable: \"{}\"", suite.suite, suite.date),
                        "regenerate it with slate lock, or pass --source-date-epoch");
        newest = std::max<std::int64_t>(newest, std::chrono::system_clock::to_time_t(*date));
    }
    return newest;
}

BuildResult build_image(const ImageSpec& spec, const Lock& lock, util::BlobCache& cache, const BuildOptions& options,
                        util::LogSink& log, util::ProgressSink& progress) {
    std::vector<std::string> archs = options.archs.empty() ? std::vector<std::string>{} : options.archs;
    if (archs.empty())
        for (const auto& [arch, unused] : lock.archs) archs.push_back(arch);
    for (const auto& arch : archs)
        if (!lock.archs.count(arch))
            throw Error(ErrorCode::Usage, fmt::format("the lock has no packages for {}", arch),
                        "add it to the spec's archs and run slate lock again");
    if (options.format == OutputFormat::DockerArchive && archs.size() != 1)
        throw Error(ErrorCode::Usage, "a docker-archive holds one architecture", "choose one with --arch");
    const std::int64_t epoch = options.source_date_epoch.value_or(default_source_date_epoch(lock));

    auto staging = staging_dir(options.output);
    fs::path layout_dir = staging.path() / "layout";
    oci::LayoutWriter layout(layout_dir);
    BuildResult result;
    std::vector<oci::Descriptor> manifests;
    std::vector<sbom::Catalog> catalogs;
    for (const auto& arch : archs) {
        try {
            auto built = build_arch(spec, lock, arch, epoch, cache, options, layout, log, progress);
            manifests.push_back(built.manifest);
            result.images.push_back(std::move(built.image));
            catalogs.push_back(std::move(built.catalog));
        } catch (Error& e) {
            e.add_context(fmt::format("while building image {} for {}", spec.name, arch));
            throw;
        }
    }
    oci::Descriptor top = manifests.size() == 1 ? manifests.front() : layout.write_index(manifests);
    // "latest" names the whole image; with several architectures each one is
    // also named by its architecture, for tools that cannot pick a platform
    // out of an index (umoci unpack --image DIR:arm64).
    std::vector<std::pair<oci::Descriptor, std::string>> per_arch;
    if (manifests.size() > 1)
        for (std::size_t i = 0; i < manifests.size(); ++i) per_arch.emplace_back(manifests[i], archs[i]);
    layout.write_index_json(top, "latest", per_arch);
    result.digest = top.digest;
    if (options.before_commit) options.before_commit(layout_dir);

    // The SBOMs next to the image: OUTPUT.spdx.json for one architecture;
    // with several, OUTPUT.<os>-<arch>.spdx.json each and OUTPUT.spdx.json
    // the index document linking them.
    std::vector<std::pair<fs::path, std::string>> sboms;
    const fs::path index_sbom = fs::path(options.output.string() + ".spdx.json");
    if (catalogs.size() == 1) {
        sboms.emplace_back(index_sbom, sbom::to_spdx_json(catalogs.front()));
    } else {
        std::vector<sbom::PlatformDocument> platforms;
        for (const auto& catalog : catalogs) {
            std::string tag = catalog.subject.platform;
            std::replace(tag.begin(), tag.end(), '/', '-');
            std::string document = sbom::to_spdx_json(catalog);
            platforms.push_back({catalog.subject, sbom::spdx_namespace(catalog.subject), util::sha256_hex(document)});
            sboms.emplace_back(fs::path(options.output.string() + "." + tag + ".spdx.json"), std::move(document));
        }
        sbom::Subject index;
        index.name = spec.name;
        index.digest = top.digest;
        sboms.emplace_back(index_sbom, sbom::to_spdx_index_json(index, epoch, platforms));
    }

    if (options.format == OutputFormat::DockerArchive) {
        fs::path staged_file = staging.path() / "image.tar";
        oci::write_docker_archive(layout_dir, oci::platform_for_debian_arch(archs.front()), staged_file,
                                  spec.name + ":latest");
        move_into_place(staged_file, options.output);
    } else {
        move_into_place(layout_dir, options.output);
    }
    for (const auto& [path, document] : sboms) {
        util::write_file_atomic(path, document);
        result.sboms.push_back(path.string());
    }
    return result;
}

}  // namespace slate::build
