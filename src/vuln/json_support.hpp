#pragma once
// Reading optional members of feed documents (tracker, OSV, OpenVEX), whose
// producers leave members out or give them the wrong type.

#include <nlohmann/json.hpp>
#include <string>

namespace slate::vuln {

// The string member `key` of `object`; "" when it is missing or not a string.
inline std::string string_member(const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

}  // namespace slate::vuln
