#pragma once
// Package relationship fields (Depends, Pre-Depends, Provides, Conflicts, ...):
// "a (>= 1.0) | b:any, c [amd64] <!nocheck>" parsed into groups of alternatives.

#include <string>
#include <string_view>
#include <vector>

#include "slate/deb/version.hpp"

namespace slate::deb {

struct Relation {
    std::string_view name;
    std::string_view arch_qualifier;  // "", "any", "native" or an architecture
    VersionOp op = VersionOp::Any;
    std::string_view version;         // empty when op == Any

    std::string to_string() const;    // "name:arch (op version)"
};

using RelationGroup = std::vector<Relation>;  // alternatives: satisfied by any one

// Parses a relationship field. Alternatives restricted to other architectures
// with "[...]" are dropped for `host_arch`; build profiles "<...>" are ignored.
// Throws slate::Error (Parse) naming `context` for malformed text.
std::vector<RelationGroup> parse_relations(std::string_view field, std::string_view host_arch,
                                           std::string_view context);

// "Source: name" or "Source: name (version)".
struct SourceRef {
    std::string_view name;
    std::string_view version;  // empty when absent
};
SourceRef parse_source_field(std::string_view field);

}  // namespace slate::deb
