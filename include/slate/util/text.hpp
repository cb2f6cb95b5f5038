#pragma once
// Text helpers: suggestions for "did you mean ...?" messages, UTF-8 checks.

#include <cstddef>
#include <string_view>

namespace slate::util {

// Edit distance for suggestions: insertions, deletions, substitutions and
// swaps of two neighbours each cost 1 (optimal string alignment, so
// "pyhton3" is 1 from "python3"), ignoring case and treating '_' like '-'
// ("run_as" is 0 from "run-as").
std::size_t suggestion_distance(std::string_view a, std::string_view b);

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0 when there is
// none (or i is past the end).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

}  // namespace slate::util
