#include "support/json_schema.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace fs = std::filesystem;

namespace {

constexpr const char* ValidatorScript = R"PY(
import json, os, sys, warnings
warnings.simplefilter("ignore")
import jsonschema
schema_dir, name = sys.argv[1], sys.argv[2]
def load(file):
    with open(os.path.join(schema_dir, file)) as f:
        return json.load(f)
def by_file_name(uri):
    return load(uri.split("#")[0].rstrip("/").rsplit("/", 1)[-1])
schema = load(name)
resolver = jsonschema.RefResolver.from_schema(schema, handlers={"https": by_file_name, "http": by_file_name})
cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
validator = cls(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(json.load(sys.stdin)), key=lambda e: list(e.path))
for e in errors:
    print("/".join(str(p) for p in e.path) + ": " + e.message)
sys.exit(3 if errors else 0)
)PY";

}  // namespace

fs::path shared_schemas() { return source_dir().parent_path() / "shared" / "schemas"; }

JsonSchemaValidator::JsonSchemaValidator(fs::path schema_dir) : m_dir(std::move(schema_dir)) {
    if (!fs::is_directory(m_dir)) {
        ADD_FAILURE() << "no schemas in " << m_dir;
        throw std::runtime_error("schemas missing");
    }
    // Debian's python3-jsonschema belongs to /usr/bin/python3; another python3
    // earlier in PATH may not have it.
    std::vector<fs::path> candidates{"/usr/bin/python3"};
    if (auto python = util::find_program("python3")) candidates.push_back(*python);
    for (const auto& candidate : candidates)
        if (fs::exists(candidate) && util::run_process({candidate.string(), "-c", "import jsonschema"}).exit_code == 0) {
            m_python = candidate;
            return;
        }
    ADD_FAILURE() << "no python3 with jsonschema: apt-get install python3-jsonschema";
    throw std::runtime_error("validator missing");
}

std::string JsonSchemaValidator::errors(const std::string& schema_file, std::string_view json) const {
    util::ProcessOptions options;
    options.stdin_data = std::string(json);
    options.timeout = std::chrono::seconds(60);
    auto result = util::run_process({m_python.string(), "-c", ValidatorScript, m_dir.string(), schema_file}, options);
    if (result.exit_code == 0) return {};
    if (result.exit_code == 3) return result.out;
    return "the validator failed: " + result.err;
}

}  // namespace slate::test
