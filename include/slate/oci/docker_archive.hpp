#pragma once
// docker-archive tarballs: what `docker save` writes and `docker load` and
// `skopeo copy docker-archive:FILE ...` read.
//
// The tarball has Docker 25's layout, which is at the same time an OCI image
// layout (so `skopeo ... oci-archive:FILE` reads it too):
//
//   blobs/sha256/<hex>   the config, the manifest and the layers, byte for byte
//                        as in the OCI layout (compressed layers: docker load and
//                        skopeo decompress them and check them against the
//                        config's diff_ids)
//   index.json           the platform's manifest, named by the tag
//   manifest.json        [{"Config":"blobs/sha256/<hex>","RepoTags":[...],
//                          "Layers":["blobs/sha256/<hex>",...]}]
//   oci-layout
//
// Entries are sorted, owned by 0:0 with fixed modes and the image's creation
// time as mtime, so the same layout always gives the same tarball.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"

namespace slate::oci {

// Writes the image of `platform` (see Layout::find) from the OCI layout in
// `layout_dir` to `out_file`, atomically (a temporary file in the same
// directory, renamed into place). `repo_tag` ("slate/python:3.11") becomes
// the RepoTags entry; empty for an untagged image. Throws slate::Error:
// Usage (a repo_tag that is not NAME:TAG in Docker's grammar), NotFound (no
// image for the platform; the message lists those there are), Integrity or
// Parse (a damaged layout), Io.
void write_docker_archive(const std::filesystem::path& layout_dir, const Platform& platform,
                          const std::filesystem::path& out_file, std::string_view repo_tag);

// True when `repo_tag` is a Docker reference with a tag and no digest:
// [host[:port]/]path:tag, path components lowercase.
bool is_valid_repo_tag(std::string_view repo_tag);

// The fully qualified name Docker and containerd use for `repo_tag`:
// "python:3" -> "docker.io/library/python:3", "me/app:1" ->
// "docker.io/me/app:1", "host:5000/app:1" unchanged.
std::string normalize_repo_tag(std::string_view repo_tag);

// Unpacks the docker-archive tarball `archive` into a new OCI image layout
// `layout_dir` (which must not exist, or be an empty directory) and returns
// read_layout() of it. Two forms are read:
//  - OCI (Docker 25+, slate's own writer): the tarball holds oci-layout,
//    index.json and blobs/sha256; the blobs are extracted byte for byte (each
//    checked against its name) and index.json is kept.
//  - Legacy (`docker save` before 25, `skopeo copy ... docker-archive:`):
//    manifest.json [{Config, RepoTags, Layers}] naming the config and the
//    layer tars at any path. The config is stored byte for byte (its digest
//    is preserved); each layer becomes a blob of media type ...layer.v1.tar,
//    or ...tar+gzip when the file is gzip-compressed (detected by magic),
//    whose uncompressed digest must equal the config's diff_id; a new OCI
//    manifest names them.
// When the archive holds several images, `image_index` picks one (in the
// order of manifest.json, or of index.json for the OCI form); index.json of
// the new layout then lists just that one. The first RepoTag ("app:1.0")
// becomes index.json's org.opencontainers.image.ref.name ("1.0") and
// io.containerd.image.name ("docker.io/library/app:1.0") annotations, as
// Docker 25 writes them.
//
// Safety: nothing is extracted by its path in the tarball. Members with an
// absolute path or a ".." component, device, FIFO and socket members, and
// links whose target is absolute or leaves the archive are refused. Other
// links (skopeo and docker write "<id>/layer.tar -> ../<hex>.tar" for old
// tools) are ignored unless manifest.json names one; then it is followed,
// inside the archive, to the regular file it names. Blobs are streamed, never
// held in memory, and the layout is built in a temporary sibling directory
// renamed into place at the end: on any error nothing is left behind.
//
// Throws slate::Error: NotFound (no such archive), Usage (`layout_dir` is not
// empty; `image_index` out of range: the message lists the images), Parse
// (not a tar, truncated, neither manifest.json nor index.json, malformed
// JSON, a refused member, a member manifest.json names that is missing),
// Integrity (a blob whose bytes do not match its name, a layer whose digest
// is not its diff_id), Io.
Layout read_docker_archive(const std::filesystem::path& archive, const std::filesystem::path& layout_dir,
                           std::size_t image_index = 0);

}  // namespace slate::oci
