#include "slate/error.hpp"

namespace slate {

const char* to_string(ErrorCode code) {
    switch (code) {
    case ErrorCode::Usage: return "usage";
    case ErrorCode::Config: return "config";
    case ErrorCode::Parse: return "parse";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::Unsatisfiable: return "unsatisfiable";
    case ErrorCode::Network: return "network";
    case ErrorCode::Auth: return "auth";
    case ErrorCode::Integrity: return "integrity";
    case ErrorCode::Signature: return "signature";
    case ErrorCode::Io: return "io";
    case ErrorCode::CheckFailed: return "check-failed";
    case ErrorCode::Internal: return "internal";
    }
    return "unknown";
}

Error::Error(ErrorCode code, std::string message, std::string hint)
    : std::runtime_error(message), m_code(code), m_message(std::move(message)), m_hint(std::move(hint)) {}

void Error::add_context(std::string what) {
    m_context.insert(m_context.begin(), std::move(what));
}

std::string Error::describe() const {
    std::string text = m_message;
    for (auto it = m_context.rbegin(); it != m_context.rend(); ++it) {
        text += "\n  ";
        text += *it;
    }
    if (!m_hint.empty()) {
        text += "\nhint: ";
        text += m_hint;
    }
    return text;
}

}  // namespace slate
