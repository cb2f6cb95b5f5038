#pragma once
// slate::Error: the one exception type of libslate. A failure that ends an
// operation throws it; outcomes a caller branches on are return values.

#include <stdexcept>
#include <string>
#include <vector>

namespace slate {

enum class ErrorCode {
    Usage,          // the caller asked for something malformed (bad flag, bad version string)
    Config,         // an image spec or setting is wrong
    Parse,          // a file from the outside world is malformed
    NotFound,       // a named thing does not exist (package, file, suite)
    Unsatisfiable,  // dependencies cannot be satisfied
    Network,        // a server could not be reached or answered with an error
    Auth,           // a server refused the credentials, or they are missing
    Integrity,      // a hash or size does not match what was promised
    Signature,      // an OpenPGP signature is missing or bad
    Io,             // the local filesystem failed
    CheckFailed,    // a check the user asked for failed (image tests, lock --check); exit code 3
    Internal,       // a bug in slate
};

const char* to_string(ErrorCode code);

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, std::string message, std::string hint = {});

    ErrorCode code() const noexcept { return m_code; }
    const std::string& message() const noexcept { return m_message; }
    const std::string& hint() const noexcept { return m_hint; }
    // Outermost first: what slate was doing when the error passed through.
    const std::vector<std::string>& context() const noexcept { return m_context; }

    // Adds what the caller was doing, e.g. "while resolving image python".
    // Use as: catch (Error& e) { e.add_context("..."); throw; }
    void add_context(std::string what);

    // The full text a person reads: message, context lines and hint.
    std::string describe() const;

private:
    ErrorCode m_code;
    std::string m_message;
    std::string m_hint;
    std::vector<std::string> m_context;
};

}  // namespace slate
