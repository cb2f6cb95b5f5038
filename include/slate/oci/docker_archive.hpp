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

#include <filesystem>
#include <string>
#include <string_view>

#include "slate/oci/image.hpp"

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

}  // namespace slate::oci
