#pragma once
// Parsing an SBOM's JSON into a DOM of only the members the readers of
// read.cpp look at (`slate scan` may read thousands of SBOMs). nlohmann's
// scanner still reads every byte, and that scan is most of the time (about
// 0.65 of the 0.95 ms a 110 KB slate SPDX document took here); what skipping
// saves is the allocation of everything else: 5-20% of the time of a whole
// DOM (the more files and relationships, the more) and most of the memory.
// Private to src/sbom.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace slate::sbom::detail {

struct JsonSyntaxError {
    std::size_t position = 0;  // bytes read when the scanner stopped; >= the text's size when it ran out
    std::string message;       // nlohmann's, without its "[json.exception...]" tag
};

// Parses `text` into `document`, keeping only the members read.cpp reads
// (see read_json.cpp); the outermost object keeps every key, with null for
// values not read, so documents of other kinds can be recognised. SPDX
// relationships other than DESCRIBES / DESCRIBED_BY are dropped. Returns the
// syntax error when `text` is not JSON.
std::optional<JsonSyntaxError> parse_read_members(std::string_view text, nlohmann::json& document);

}  // namespace slate::sbom::detail
