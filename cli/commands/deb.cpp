// slate deb ...: Debian helpers.
//
//   slate deb compare-versions A B     prints "<", "=" or ">" (A relative to B)
//   slate deb compare-versions --stdin one "A B" pair per input line, one
//                                      result per output line
//
// A version dpkg would reject is a usage error (exit 2); one dpkg only warns
// about is compared, with the same warning on stderr.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "commands/commands.hpp"
#include "slate/deb/version.hpp"
#include "slate/error.hpp"
#include "terminal.hpp"

namespace slate::cli {
namespace {

constexpr const char* VersionHint =
    "A Debian version is [epoch:]upstream[-revision], e.g. 2.36-9+deb12u4 or 1:9.2p1-2; see deb-version(5).";

// `line` names the input line a version came from; 0 for a command-line argument.
std::string where(std::size_t line) { return line == 0 ? std::string() : fmt::format("line {}: ", line); }

[[noreturn]] void throw_invalid(std::string_view version, std::string_view reason, std::size_t line) {
    throw Error(ErrorCode::Usage, fmt::format("{}invalid version \"{}\": {}", where(line), version, reason),
                VersionHint);
}

// dpkg compares versions it only warns about; so do we, with the same warning.
void warn_if_unusual(std::string_view version, std::size_t line, util::LogSink& log) {
    if (auto reason = deb::version_warning(version)) {
        log.warning(fmt::format("{}version \"{}\": {} (compared anyway, as dpkg does)", where(line), version, *reason));
    }
}

char relation_symbol(int rc) { return rc < 0 ? '<' : rc > 0 ? '>' : '='; }

// Splits on blanks and carriage returns (so CRLF input works).
constexpr bool is_separator(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_separator(line[i])) ++i;
        std::size_t start = i;
        while (i < line.size() && !is_separator(line[i])) ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

// Output collected in a buffer and written in large blocks.
class BufferedOut {
public:
    explicit BufferedOut(std::FILE* file) : m_file(file) { m_buffer.reserve(Capacity); }
    ~BufferedOut() { flush_quietly(); }
    BufferedOut(const BufferedOut&) = delete;
    BufferedOut& operator=(const BufferedOut&) = delete;

    void put(std::string_view text) {
        m_buffer.append(text);
        if (m_buffer.size() >= Capacity) flush();
    }
    void flush() {
        if (!flush_quietly()) throw Error(ErrorCode::Io, "cannot write the results to standard output");
    }

private:
    static constexpr std::size_t Capacity = 1 << 16;
    bool flush_quietly() {
        bool ok = m_buffer.empty() || std::fwrite(m_buffer.data(), 1, m_buffer.size(), m_file) == m_buffer.size();
        m_buffer.clear();
        return std::fflush(m_file) == 0 && ok;
    }
    std::FILE* m_file;
    std::string m_buffer;
};

// Calls on_line(line, number) for each line of `file`, read in large blocks.
// A last line without a newline counts; an empty input has no lines.
template <typename OnLine>
void for_each_line(std::FILE* file, OnLine on_line) {
    std::vector<char> block(1 << 16);
    std::string pending;  // an incomplete line carried over between blocks
    std::size_t number = 0;
    for (;;) {
        std::size_t n = std::fread(block.data(), 1, block.size(), file);
        if (n == 0) break;
        std::string_view data(block.data(), n);
        std::size_t pos = 0;
        for (std::size_t nl; (nl = data.find('\n', pos)) != std::string_view::npos; pos = nl + 1) {
            std::string_view piece = data.substr(pos, nl - pos);
            if (pending.empty()) {
                on_line(piece, ++number);
            } else {
                pending.append(piece);
                on_line(std::string_view(pending), ++number);
                pending.clear();
            }
        }
        pending.append(data.substr(pos));
    }
    if (std::ferror(file)) throw Error(ErrorCode::Io, "cannot read standard input");
    if (!pending.empty()) on_line(std::string_view(pending), ++number);
}

void compare_arguments(const std::vector<std::string>& versions, util::LogSink& log) {
    if (versions.size() != 2) {
        throw Error(ErrorCode::Usage,
                    fmt::format("compare-versions takes two versions, got {}", versions.size()),
                    "Run: slate deb compare-versions 1.0-1 1.0-2 (or pass pairs with --stdin).");
    }
    for (const auto& version : versions) {
        if (auto reason = deb::version_error(version)) throw_invalid(version, *reason, 0);
        warn_if_unusual(version, 0, log);
    }
    fmt::print("{}\n", relation_symbol(deb::compare_versions(versions[0], versions[1])));
}

void compare_stdin(util::LogSink& log) {
    BufferedOut out(stdout);
    char result[2] = {'=', '\n'};
    for_each_line(stdin, [&](std::string_view line, std::size_t number) {
        auto fields = split_fields(line);
        if (fields.size() != 2) {
            out.flush();  // the results so far stay usable
            throw Error(ErrorCode::Usage,
                        fmt::format("{}expected two versions separated by whitespace, got {} field{}", where(number),
                                    fields.size(), fields.size() == 1 ? "" : "s"),
                        "Each input line must be a pair such as: 1.0-1 1.0-2");
        }
        for (auto version : fields) {
            if (auto reason = deb::version_error(version)) {
                out.flush();
                throw_invalid(version, *reason, number);
            }
            warn_if_unusual(version, number, log);
        }
        result[0] = relation_symbol(deb::compare_versions(fields[0], fields[1]));
        out.put(std::string_view(result, 2));
    });
    out.flush();
}

}  // namespace

void add_deb_command(CLI::App& app, Context& ctx) {
    auto* deb = app.add_subcommand("deb", "Debian helpers");
    deb->require_subcommand(1);

    struct CompareOptions {
        std::vector<std::string> versions;
        bool from_stdin = false;
    };
    auto options = std::make_shared<CompareOptions>();
    auto* compare = deb->add_subcommand("compare-versions",
                                        "Compare two Debian versions as dpkg does; prints <, = or >");
    compare->add_option("versions", options->versions, "The two versions A and B (prints how A relates to B)")
        ->type_name("VERSION");
    compare->add_flag("--stdin", options->from_stdin,
                      "Read one pair of versions per line from standard input; print one result per line");
    compare->callback([options, &ctx] {
        TerminalLog log(ctx.settings.verbosity());
        if (options->from_stdin) {
            if (!options->versions.empty()) {
                throw Error(ErrorCode::Usage, "compare-versions takes either two versions or --stdin, not both",
                            "Drop the versions from the command line, or drop --stdin.");
            }
            compare_stdin(log);
        } else {
            compare_arguments(options->versions, log);
        }
        ctx.exit_code = 0;
    });
}

}  // namespace slate::cli
