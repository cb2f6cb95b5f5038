// The SAX handler behind parse_read_members (read_json.hpp).
#include "sbom/read_json.hpp"

#include <unordered_set>
#include <utility>
#include <vector>

namespace slate::sbom::detail {

namespace {

using Json = nlohmann::json;

// The members the readers of read.cpp look at, at any depth. Every other
// member is scanned but never stored: most of an SBOM is what a scan needs
// nothing of (files, dependencies, suppliers, copyright texts, evidence...).
bool is_read_member(std::string_view key) {
    static const std::unordered_set<std::string_view> Read{
        // SPDX 2.x
        "spdxVersion", "SPDXID", "name", "creationInfo", "created", "documentDescribes", "packages", "versionInfo",
        "primaryPackagePurpose", "externalRefs", "referenceType", "referenceLocator", "licenseDeclared",
        "licenseConcluded", "sourceInfo", "checksums", "algorithm", "checksumValue", "comment", "description",
        "relationships", "relationshipType", "spdxElementId", "relatedSpdxElement",
        // CycloneDX 1.x
        "bomFormat", "specVersion", "metadata", "timestamp", "component", "components", "type", "bom-ref", "version",
        "purl", "licenses", "license", "id", "expression", "acknowledgement", "properties", "value", "hashes", "alg",
        "content", "cpe",
        // an in-toto statement around either
        "_type", "predicateType", "predicate"};
    return Read.count(key) > 0;
}

// A SAX handler that builds a Json of the read members only (see
// is_read_member). The outermost object keeps every key, with null for the
// values not read, so a document of another kind can still be recognised by
// its keys. SPDX relationships other than DESCRIBES / DESCRIBED_BY are
// dropped as each ends (a slate document has one per package, dependency and
// source link).
class ReadMembersBuilder : public nlohmann::json_sax<Json> {
public:
    explicit ReadMembersBuilder(Json& root) : m_root(root) {}

    bool null() override { return scalar(nullptr); }
    bool boolean(bool value) override { return scalar(value); }
    bool number_integer(number_integer_t value) override { return scalar(value); }
    bool number_unsigned(number_unsigned_t value) override { return scalar(value); }
    bool number_float(number_float_t value, const string_t&) override { return scalar(value); }
    bool string(string_t& value) override { return scalar(std::move(value)); }
    bool binary(binary_t&) override { return scalar(nullptr); }  // JSON text has none

    bool start_object(std::size_t) override { return open(Json::object()); }
    bool start_array(std::size_t) override { return open(Json::array()); }
    bool end_array() override { return close(); }
    bool end_object() override {
        if (m_skip_depth > 0) return close();
        Json* ended = m_stack.back().value;
        close();
        // An object that ends inside "relationships": kept only when it names the subject.
        if (!m_stack.empty() && m_stack.back().is_relationships) {
            const Json* type = ended->contains("relationshipType") ? &(*ended)["relationshipType"] : nullptr;
            bool describes = type && type->is_string() &&
                             (type->get_ref<const std::string&>() == "DESCRIBES" ||
                              type->get_ref<const std::string&>() == "DESCRIBED_BY");
            if (!describes) m_stack.back().value->erase(m_stack.back().value->size() - 1);
        }
        return true;
    }

    bool key(string_t& key) override {
        if (m_skip_depth > 0) return true;
        bool read = is_read_member(key);
        m_skip_next = !read;
        m_next_is_relationships = key == "relationships";
        // The outermost object keeps the keys it does not read, as null.
        if (read || m_stack.size() == 1) m_slot = &(*m_stack.back().value)[key];
        return true;
    }

    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& error) override {
        m_error_position = position;
        m_error = error.what();
        return false;
    }

    std::size_t error_position() const { return m_error_position; }
    const std::string& error() const { return m_error; }

private:
    struct Frame {
        Json* value;
        bool is_relationships;  // the array of SPDX relationships
    };

    // Where a new value goes: the root, the end of the current array, or the
    // member slot key() made.
    Json* place(Json&& value) {
        if (m_stack.empty()) {
            m_root = std::move(value);
            return &m_root;
        }
        Json& container = *m_stack.back().value;
        if (container.is_array()) {
            container.push_back(std::move(value));
            return &container.back();
        }
        *m_slot = std::move(value);
        return m_slot;
    }

    bool scalar(Json&& value) {
        if (m_skip_depth > 0) return true;
        m_next_is_relationships = false;
        if (m_skip_next) {
            m_skip_next = false;
            return true;
        }
        place(std::move(value));
        return true;
    }

    bool open(Json&& empty) {
        if (m_skip_depth > 0 || m_skip_next) {
            ++m_skip_depth;
            m_skip_next = false;
            return true;
        }
        bool is_relationships = m_next_is_relationships && empty.is_array();
        m_next_is_relationships = false;
        m_stack.push_back({place(std::move(empty)), is_relationships});
        return true;
    }

    bool close() {
        if (m_skip_depth > 0) --m_skip_depth;
        else m_stack.pop_back();
        return true;
    }

    Json& m_root;
    std::vector<Frame> m_stack;
    Json* m_slot = nullptr;          // the member key() made, waiting for its value
    bool m_skip_next = false;        // the next value belongs to a member not read
    bool m_next_is_relationships = false;
    std::size_t m_skip_depth = 0;    // > 0 inside a value not read
    std::size_t m_error_position = 0;
    std::string m_error;
};

}  // namespace

std::optional<JsonSyntaxError> parse_read_members(std::string_view text, Json& document) {
    ReadMembersBuilder builder(document);
    if (Json::sax_parse(text.begin(), text.end(), &builder)) return std::nullopt;
    std::string message = builder.error();
    if (auto bracket = message.find("] "); message.starts_with("[json.exception") && bracket != std::string::npos)
        message.erase(0, bracket + 2);
    return JsonSyntaxError{builder.error_position(), std::move(message)};
}

}  // namespace slate::sbom::detail
