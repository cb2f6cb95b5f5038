#pragma once
// Text helpers shared by every "did you mean ...?" message.

#include <cstddef>
#include <string_view>

namespace slate::util {

// Edit distance for suggestions: insertions, deletions, substitutions and
// swaps of two neighbours each cost 1 (optimal string alignment, so
// "pyhton3" is 1 from "python3"), ignoring case and treating '_' like '-'
// ("run_as" is 0 from "run-as").
std::size_t suggestion_distance(std::string_view a, std::string_view b);

}  // namespace slate::util
