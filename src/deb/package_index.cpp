#include "slate/deb/package_index.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "slate/deb/deb822.hpp"
#include "slate/deb/relation.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"

namespace slate::deb {

std::string_view to_string(MultiArch ma) {
    switch (ma) {
    case MultiArch::No: return "no";
    case MultiArch::Same: return "same";
    case MultiArch::Foreign: return "foreign";
    case MultiArch::Allowed: return "allowed";
    }
    return "no";
}

std::string_view to_string(Priority priority) {
    switch (priority) {
    case Priority::Required: return "required";
    case Priority::Important: return "important";
    case Priority::Standard: return "standard";
    case Priority::Optional: return "optional";
    case Priority::Extra: return "extra";
    case Priority::Unknown: return "unknown";
    }
    return "unknown";
}

namespace {

// ---- On-disk layout (host byte order; the cache is local) -------------------
// header | RawRecord[record_count] | RawProvide[provide_count] | strings
constexpr char Magic[8] = {'S', 'L', 'A', 'T', 'E', 'I', 'D', 'X'};
constexpr std::uint32_t FormatVersion = 1;

struct StrRef {
    std::uint32_t off = 0;
    std::uint32_t len = 0;
};

enum FieldSlot : std::size_t {
    FName, FVersion, FArch, FSource, FSourceVersion, FFilename, FSha256, FDepends, FPreDepends, FRecommends,
    FSuggests, FProvides, FConflicts, FBreaks, FReplaces, FSection, FInstalledSize, FieldCount
};

struct RawRecord {
    StrRef fields[FieldCount];
    std::uint64_t size;
    std::uint8_t multi_arch;
    std::uint8_t priority;
    std::uint8_t essential;
    std::uint8_t pad[5];
};

struct RawProvide {
    StrRef name;
    StrRef version;
    std::uint32_t record;
    std::uint8_t op;
    std::uint8_t pad[3];
};

struct Header {
    char magic[8];
    std::uint32_t version;
    std::uint32_t record_count;
    std::uint32_t provide_count;
    std::uint32_t crc;  // CRC-32 of everything after the header
    std::uint64_t strings_size;
};
static_assert(sizeof(Header) % 8 == 0);
static_assert(sizeof(RawRecord) % 8 == 0);
static_assert(sizeof(RawProvide) % 8 == 0);

MultiArch parse_multi_arch(std::string_view v) {
    if (v == "same") return MultiArch::Same;
    if (v == "foreign") return MultiArch::Foreign;
    if (v == "allowed") return MultiArch::Allowed;
    return MultiArch::No;
}

Priority parse_priority(std::string_view v) {
    if (v == "required") return Priority::Required;
    if (v == "important") return Priority::Important;
    if (v == "standard") return Priority::Standard;
    if (v == "optional") return Priority::Optional;
    if (v == "extra") return Priority::Extra;
    return Priority::Unknown;
}

}  // namespace

struct PackageIndex::Storage {
    // Either built in memory (parse) or mapped from the cache (load).
    std::vector<char> owned_strings;
    std::vector<RawRecord> owned_records;
    std::vector<RawProvide> owned_provides;
    std::optional<util::MappedFile> mapped;

    std::span<const RawRecord> records;
    std::span<const RawProvide> provides;
    std::string_view strings;

    std::string_view str(StrRef ref) const { return strings.substr(ref.off, ref.len); }
};

PackageIndex::PackageIndex(std::unique_ptr<Storage> storage) : m_storage(std::move(storage)) {}
PackageIndex::PackageIndex(PackageIndex&&) noexcept = default;
PackageIndex& PackageIndex::operator=(PackageIndex&&) noexcept = default;
PackageIndex::~PackageIndex() = default;

PackageIndex PackageIndex::parse(std::string_view text, const std::string& display_name) {
    auto storage = std::make_unique<Storage>();
    auto& strings = storage->owned_strings;
    auto& records = storage->owned_records;
    strings.reserve(text.size() / 3);

    auto intern = [&](std::string_view value) {
        StrRef ref{static_cast<std::uint32_t>(strings.size()), static_cast<std::uint32_t>(value.size())};
        strings.insert(strings.end(), value.begin(), value.end());
        return ref;
    };

    Deb822Reader reader(text, display_name);
    Paragraph paragraph;
    while (reader.next(paragraph)) {
        RawRecord rec{};
        std::string_view source_field;
        bool has_size = false;
        for (const auto& field : paragraph.fields()) {
            auto n = field.name;
            auto v = field.value;
            // Exact-case comparisons first: Packages files use canonical case.
            if (n == "Package") rec.fields[FName] = intern(v);
            else if (n == "Version") rec.fields[FVersion] = intern(v);
            else if (n == "Architecture") rec.fields[FArch] = intern(v);
            else if (n == "Source") source_field = v;
            else if (n == "Filename") rec.fields[FFilename] = intern(v);
            else if (n == "SHA256") rec.fields[FSha256] = intern(v);
            else if (n == "Depends") rec.fields[FDepends] = intern(v);
            else if (n == "Pre-Depends") rec.fields[FPreDepends] = intern(v);
            else if (n == "Recommends") rec.fields[FRecommends] = intern(v);
            else if (n == "Suggests") rec.fields[FSuggests] = intern(v);
            else if (n == "Provides") rec.fields[FProvides] = intern(v);
            else if (n == "Conflicts") rec.fields[FConflicts] = intern(v);
            else if (n == "Breaks") rec.fields[FBreaks] = intern(v);
            else if (n == "Replaces") rec.fields[FReplaces] = intern(v);
            else if (n == "Section") rec.fields[FSection] = intern(v);
            else if (n == "Installed-Size") rec.fields[FInstalledSize] = intern(v);
            else if (n == "Multi-Arch") rec.multi_arch = static_cast<std::uint8_t>(parse_multi_arch(v));
            else if (n == "Priority") rec.priority = static_cast<std::uint8_t>(parse_priority(v));
            else if (n == "Essential") rec.essential = (v == "yes");
            else if (n == "Size") {
                auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), rec.size);
                if (ec != std::errc{} || ptr != v.data() + v.size())
                    throw Error(ErrorCode::Parse,
                                fmt::format("{}:{}: bad Size \"{}\"", display_name, paragraph.line(), v));
                has_size = true;
            }
        }
        if (rec.fields[FName].len == 0 || rec.fields[FVersion].len == 0 || rec.fields[FArch].len == 0)
            throw Error(ErrorCode::Parse, fmt::format("{}:{}: stanza lacks Package, Version or Architecture",
                                                      display_name, paragraph.line()));
        (void)has_size;
        if (source_field.empty()) {
            rec.fields[FSource] = rec.fields[FName];
            rec.fields[FSourceVersion] = rec.fields[FVersion];
        } else {
            auto src = parse_source_field(source_field);
            rec.fields[FSource] = intern(src.name);
            rec.fields[FSourceVersion] = src.version.empty() ? rec.fields[FVersion] : intern(src.version);
        }
        records.push_back(rec);
    }

    std::string_view all(strings.data(), strings.size());
    auto name_of = [&](const RawRecord& r) { return all.substr(r.fields[FName].off, r.fields[FName].len); };
    std::stable_sort(records.begin(), records.end(),
                     [&](const RawRecord& a, const RawRecord& b) { return name_of(a) < name_of(b); });

    // Provides table: parse each record's Provides once, here.
    auto& provides = storage->owned_provides;
    for (std::uint32_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        if (r.fields[FProvides].len == 0) continue;
        auto field = all.substr(r.fields[FProvides].off, r.fields[FProvides].len);
        auto arch = all.substr(r.fields[FArch].off, r.fields[FArch].len);
        for (const auto& group : parse_relations(field, arch, display_name)) {
            for (const auto& rel : group) {
                RawProvide p{};
                // Views point into `strings`, so offsets are recoverable.
                p.name = {static_cast<std::uint32_t>(rel.name.data() - strings.data()), static_cast<std::uint32_t>(rel.name.size())};
                p.version = {static_cast<std::uint32_t>(rel.version.data() - strings.data()),
                             static_cast<std::uint32_t>(rel.version.size())};
                if (rel.version.empty()) p.version = {};
                p.op = static_cast<std::uint8_t>(rel.op);
                p.record = i;
                provides.push_back(p);
            }
        }
    }
    std::stable_sort(provides.begin(), provides.end(), [&](const RawProvide& a, const RawProvide& b) {
        return all.substr(a.name.off, a.name.len) < all.substr(b.name.off, b.name.len);
    });

    storage->records = storage->owned_records;
    storage->provides = storage->owned_provides;
    storage->strings = all;
    return PackageIndex(std::move(storage));
}

void PackageIndex::save(const std::filesystem::path& path) const {
    const auto& s = *m_storage;
    Header header{};
    std::memcpy(header.magic, Magic, sizeof Magic);
    header.version = FormatVersion;
    header.record_count = static_cast<std::uint32_t>(s.records.size());
    header.provide_count = static_cast<std::uint32_t>(s.provides.size());
    header.strings_size = s.strings.size();
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(s.records.data()), s.records.size_bytes());
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(s.provides.data()), s.provides.size_bytes());
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(s.strings.data()), s.strings.size());
    header.crc = static_cast<std::uint32_t>(crc);

    util::AtomicFile file(path);
    file.write(&header, sizeof header);
    file.write(s.records.data(), s.records.size_bytes());
    file.write(s.provides.data(), s.provides.size_bytes());
    file.write(s.strings.data(), s.strings.size());
    file.commit();
}

std::optional<PackageIndex> PackageIndex::load(const std::filesystem::path& path) {
    std::optional<util::MappedFile> mapped;
    try {
        mapped.emplace(path);
    } catch (const Error&) {
        return std::nullopt;
    }
    auto bytes = mapped->view();
    if (bytes.size() < sizeof(Header)) return std::nullopt;
    Header header;
    std::memcpy(&header, bytes.data(), sizeof header);
    if (std::memcmp(header.magic, Magic, sizeof Magic) != 0 || header.version != FormatVersion) return std::nullopt;
    std::uint64_t expected = sizeof(Header) + std::uint64_t{header.record_count} * sizeof(RawRecord) +
                             std::uint64_t{header.provide_count} * sizeof(RawProvide) + header.strings_size;
    if (expected != bytes.size()) return std::nullopt;
    auto body = bytes.substr(sizeof(Header));
    uLong crc = crc32_z(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()), body.size());
    if (static_cast<std::uint32_t>(crc) != header.crc) return std::nullopt;

    auto storage = std::make_unique<Storage>();
    const char* p = body.data();
    storage->records = {reinterpret_cast<const RawRecord*>(p), header.record_count};
    p += std::size_t{header.record_count} * sizeof(RawRecord);
    storage->provides = {reinterpret_cast<const RawProvide*>(p), header.provide_count};
    p += std::size_t{header.provide_count} * sizeof(RawProvide);
    storage->strings = std::string_view(p, header.strings_size);
    storage->mapped = std::move(mapped);
    return PackageIndex(std::move(storage));
}

std::size_t PackageIndex::size() const { return m_storage->records.size(); }

PackageRecord PackageIndex::record(std::uint32_t i) const {
    const auto& s = *m_storage;
    const RawRecord& r = s.records[i];
    PackageRecord rec;
    rec.name = s.str(r.fields[FName]);
    rec.version = s.str(r.fields[FVersion]);
    rec.architecture = s.str(r.fields[FArch]);
    rec.source = s.str(r.fields[FSource]);
    rec.source_version = s.str(r.fields[FSourceVersion]);
    rec.filename = s.str(r.fields[FFilename]);
    rec.sha256 = s.str(r.fields[FSha256]);
    rec.depends = s.str(r.fields[FDepends]);
    rec.pre_depends = s.str(r.fields[FPreDepends]);
    rec.recommends = s.str(r.fields[FRecommends]);
    rec.suggests = s.str(r.fields[FSuggests]);
    rec.provides = s.str(r.fields[FProvides]);
    rec.conflicts = s.str(r.fields[FConflicts]);
    rec.breaks = s.str(r.fields[FBreaks]);
    rec.replaces = s.str(r.fields[FReplaces]);
    rec.section = s.str(r.fields[FSection]);
    rec.installed_size = s.str(r.fields[FInstalledSize]);
    rec.size = r.size;
    rec.multi_arch = static_cast<MultiArch>(r.multi_arch);
    rec.priority = static_cast<Priority>(r.priority);
    rec.essential = r.essential != 0;
    return rec;
}

std::vector<std::uint32_t> PackageIndex::find(std::string_view name) const {
    const auto& s = *m_storage;
    auto it = std::lower_bound(s.records.begin(), s.records.end(), name,
                               [&](const RawRecord& r, std::string_view n) { return s.str(r.fields[FName]) < n; });
    std::vector<std::uint32_t> out;
    for (; it != s.records.end() && s.str(it->fields[FName]) == name; ++it)
        out.push_back(static_cast<std::uint32_t>(it - s.records.begin()));
    return out;
}

std::vector<Provide> PackageIndex::providers(std::string_view name) const {
    const auto& s = *m_storage;
    auto it = std::lower_bound(s.provides.begin(), s.provides.end(), name,
                               [&](const RawProvide& p, std::string_view n) { return s.str(p.name) < n; });
    std::vector<Provide> out;
    for (; it != s.provides.end() && s.str(it->name) == name; ++it)
        out.push_back(Provide{s.str(it->name), static_cast<VersionOp>(it->op), s.str(it->version), it->record});
    return out;
}

std::vector<std::string_view> PackageIndex::names() const {
    const auto& s = *m_storage;
    std::vector<std::string_view> out;
    out.reserve(s.records.size());
    for (const auto& r : s.records) {
        auto n = s.str(r.fields[FName]);
        if (out.empty() || out.back() != n) out.push_back(n);
    }
    return out;
}

}  // namespace slate::deb
