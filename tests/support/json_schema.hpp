#pragma once
// Validating slate's JSON against the official schemas in ../shared/schemas
// with a real, independent validator (Debian's python3-jsonschema).

#include <filesystem>
#include <string>
#include <string_view>

namespace slate::test {

// The directory of one family of schemas, e.g. shared_schemas() / "oci-image".
std::filesystem::path shared_schemas();

class JsonSchemaValidator {
public:
    // Fails the current test (and throws) when the schemas or the validator are missing.
    explicit JsonSchemaValidator(std::filesystem::path schema_dir);
    // "" when `json` is valid against `schema_file` (a file in the schema
    // directory), else one line per error. Remote references are resolved by
    // their file name inside the directory, as the specs' own validators do.
    std::string errors(const std::string& schema_file, std::string_view json) const;

private:
    std::filesystem::path m_dir;
    std::filesystem::path m_python;
};

}  // namespace slate::test
