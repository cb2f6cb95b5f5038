#pragma once
// Standard base64 (RFC 4648 section 4), the alphabet with '+' and '/'.

#include <optional>
#include <string>
#include <string_view>

namespace slate::util {

// Encodes with padding.
std::string base64_encode(std::string_view data);
// Accepts padded or unpadded input; line breaks are ignored. nullopt for
// characters outside the alphabet or an impossible length.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace slate::util
