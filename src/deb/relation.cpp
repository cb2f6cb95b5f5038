#include "slate/deb/relation.hpp"

#include <fmt/format.h>

#include "slate/deb/deb822.hpp"
#include "slate/error.hpp"

namespace slate::deb {

std::string Relation::to_string() const {
    std::string text(name);
    if (!arch_qualifier.empty()) text += ":" + std::string(arch_qualifier);
    if (op != VersionOp::Any) text += fmt::format(" ({} {})", deb::to_string(op), version);
    return text;
}

namespace {

// True when `arch` matches an architecture restriction list like "amd64 arm64"
// or "!armel !armhf".
bool arch_list_matches(std::string_view list, std::string_view arch) {
    bool any_positive = false;
    bool matched = false;
    for (auto word : split_words(list)) {
        bool negated = !word.empty() && word.front() == '!';
        if (negated) word.remove_prefix(1);
        bool hit = word == arch || word == "any" || (word == "linux-any") || (word.starts_with("any-") && word.substr(4) == arch);
        if (negated) {
            if (hit) return false;
        } else {
            any_positive = true;
            if (hit) matched = true;
        }
    }
    return !any_positive || matched;
}

Relation parse_one(std::string_view text, std::string_view context, bool& keep, std::string_view host_arch) {
    keep = true;
    Relation rel;
    text = trim(text);
    // Outside the version parentheses, "[...]" restricts architectures and
    // "<...>" names build profiles (irrelevant for binary packages).
    std::size_t restriction = text.size();
    int depth = 0;
    for (std::size_t k = 0; k < text.size(); ++k) {
        char c = text[k];
        if (c == '(') ++depth;
        else if (c == ')') --depth;
        else if (depth == 0 && (c == '[' || c == '<')) {
            restriction = k;
            break;
        }
    }
    if (restriction < text.size()) {
        auto tail = text.substr(restriction);
        if (auto lb = tail.find('['); lb != std::string_view::npos) {
            auto rb = tail.find(']', lb);
            if (rb == std::string_view::npos)
                throw Error(ErrorCode::Parse, fmt::format("{}: unterminated '[' in \"{}\"", context, text));
            keep = arch_list_matches(tail.substr(lb + 1, rb - lb - 1), host_arch);
        }
        text = trim(text.substr(0, restriction));
    }
    std::size_t i = 0;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '(' && text[i] != '\n') ++i;
    std::string_view name = text.substr(0, i);
    if (auto colon = name.find(':'); colon != std::string_view::npos) {
        rel.arch_qualifier = name.substr(colon + 1);
        name = name.substr(0, colon);
    }
    if (name.empty()) throw Error(ErrorCode::Parse, fmt::format("{}: empty package name in \"{}\"", context, text));
    rel.name = name;
    auto rest = trim(text.substr(i));
    if (!rest.empty()) {
        if (rest.front() != '(' || rest.back() != ')')
            throw Error(ErrorCode::Parse, fmt::format("{}: malformed relation \"{}\"", context, text));
        rest = trim(rest.substr(1, rest.size() - 2));
        std::size_t j = 0;
        while (j < rest.size() && (rest[j] == '<' || rest[j] == '>' || rest[j] == '=')) ++j;
        auto op = parse_version_op(rest.substr(0, j));
        if (!op || *op == VersionOp::Any)
            throw Error(ErrorCode::Parse, fmt::format("{}: bad version operator in \"{}\"", context, text));
        rel.op = *op;
        rel.version = trim(rest.substr(j));
        if (rel.version.empty())
            throw Error(ErrorCode::Parse, fmt::format("{}: missing version in \"{}\"", context, text));
    }
    return rel;
}

}  // namespace

std::vector<RelationGroup> parse_relations(std::string_view field, std::string_view host_arch,
                                           std::string_view context) {
    std::vector<RelationGroup> groups;
    std::size_t start = 0;
    while (start <= field.size()) {
        auto comma = field.find(',', start);
        auto group_text = field.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        RelationGroup group;
        bool had_any = false;
        std::size_t alt_start = 0;
        while (alt_start <= group_text.size()) {
            auto bar = group_text.find('|', alt_start);
            auto alt = trim(group_text.substr(alt_start, bar == std::string_view::npos ? std::string_view::npos : bar - alt_start));
            if (!alt.empty()) {
                had_any = true;
                bool keep = true;
                Relation rel = parse_one(alt, context, keep, host_arch);
                if (keep) group.push_back(rel);
            }
            if (bar == std::string_view::npos) break;
            alt_start = bar + 1;
        }
        if (!group.empty()) groups.push_back(std::move(group));
        (void)had_any;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return groups;
}

SourceRef parse_source_field(std::string_view field) {
    field = trim(field);
    SourceRef ref;
    auto paren = field.find('(');
    if (paren == std::string_view::npos) {
        ref.name = field;
        return ref;
    }
    ref.name = trim(field.substr(0, paren));
    auto close = field.find(')', paren);
    ref.version = trim(field.substr(paren + 1, close == std::string_view::npos ? std::string_view::npos : close - paren - 1));
    return ref;
}

}  // namespace slate::deb
