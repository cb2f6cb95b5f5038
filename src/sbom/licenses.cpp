#include "slate/sbom/licenses.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <utility>

#include "slate/util/text.hpp"

namespace slate::sbom {

namespace {

// The SPDX license list without its deprecated ids (the same ids as the
// CycloneDX 1.6 schema's spdx.schema.json), sorted ignoring ASCII case so a
// binary search finds "zlib" as "Zlib". Keep it sorted when adding ids.
constexpr std::string_view SpdxLicenseIds[] = {
    "0BSD", "3D-Slicer-1.0", "AAL", "Abstyles", "AdaCore-doc", "Adobe-2006", "Adobe-Display-PostScript",
    "Adobe-Glyph", "Adobe-Utopia", "ADSL", "Advanced-Cryptics-Dictionary", "AFL-1.1", "AFL-1.2", "AFL-2.0",
    "AFL-2.1", "AFL-3.0", "Afmparse", "AGPL-1.0-only", "AGPL-1.0-or-later", "AGPL-3.0-only", "AGPL-3.0-or-later",
    "Aladdin", "ALGLIB-Documentation", "AMD-newlib", "AMDPLPA", "AML", "AML-glslang", "AMPAS", "ANTLR-PD",
    "ANTLR-PD-fallback", "any-OSI", "any-OSI-perl-modules", "Apache-1.0", "Apache-1.1", "Apache-2.0", "APAFML",
    "APL-1.0", "App-s2p", "APSL-1.0", "APSL-1.1", "APSL-1.2", "APSL-2.0", "Arphic-1999", "Artistic-1.0",
    "Artistic-1.0-cl8", "Artistic-1.0-Perl", "Artistic-2.0", "Artistic-dist", "Aspell-RU",
    "ASWF-Digital-Assets-1.0", "ASWF-Digital-Assets-1.1", "Baekmuk", "Bahyph", "Barr", "bcrypt-Solar-Designer",
    "Beerware", "Bitstream-Charter", "Bitstream-Vera", "BitTorrent-1.0", "BitTorrent-1.1", "blessing",
    "BlueOak-1.0.0", "Boehm-GC", "Boehm-GC-without-fee", "BOLA-1.1", "Borceux", "Brian-Gladman-2-Clause",
    "Brian-Gladman-3-Clause", "BSD-1-Clause", "BSD-2-Clause", "BSD-2-Clause-Darwin", "BSD-2-Clause-first-lines",
    "BSD-2-Clause-Patent", "BSD-2-Clause-pkgconf-disclaimer", "BSD-2-Clause-Views", "BSD-3-Clause",
    "BSD-3-Clause-acpica", "BSD-3-Clause-Attribution", "BSD-3-Clause-Clear", "BSD-3-Clause-flex", "BSD-3-Clause-HP",
    "BSD-3-Clause-LBNL", "BSD-3-Clause-Modification", "BSD-3-Clause-No-Military-License",
    "BSD-3-Clause-No-Nuclear-License", "BSD-3-Clause-No-Nuclear-License-2014", "BSD-3-Clause-No-Nuclear-Warranty",
    "BSD-3-Clause-Open-MPI", "BSD-3-Clause-Sun", "BSD-3-Clause-Tso", "BSD-4-Clause", "BSD-4-Clause-Shortened",
    "BSD-4-Clause-UC", "BSD-4.3RENO", "BSD-4.3TAHOE", "BSD-Advertising-Acknowledgement",
    "BSD-Attribution-HPND-disclaimer", "BSD-Inferno-Nettverk", "BSD-Mark-Modifications", "BSD-Protection",
    "BSD-Source-beginning-file", "BSD-Source-Code", "BSD-Systemics", "BSD-Systemics-W3Works", "BSL-1.0", "Buddy",
    "BUSL-1.1", "bzip2-1.0.6", "C-UDA-1.0", "CAL-1.0", "CAL-1.0-Combined-Work-Exception", "Caldera",
    "Caldera-no-preamble", "CAPEC-tou", "Catharon", "CATOSL-1.1", "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5",
    "CC-BY-2.5-AU", "CC-BY-3.0", "CC-BY-3.0-AT", "CC-BY-3.0-AU", "CC-BY-3.0-DE", "CC-BY-3.0-IGO", "CC-BY-3.0-NL",
    "CC-BY-3.0-US", "CC-BY-4.0", "CC-BY-NC-1.0", "CC-BY-NC-2.0", "CC-BY-NC-2.5", "CC-BY-NC-3.0", "CC-BY-NC-3.0-DE",
    "CC-BY-NC-4.0", "CC-BY-NC-ND-1.0", "CC-BY-NC-ND-2.0", "CC-BY-NC-ND-2.5", "CC-BY-NC-ND-3.0",
    "CC-BY-NC-ND-3.0-DE", "CC-BY-NC-ND-3.0-IGO", "CC-BY-NC-ND-4.0", "CC-BY-NC-SA-1.0", "CC-BY-NC-SA-2.0",
    "CC-BY-NC-SA-2.0-DE", "CC-BY-NC-SA-2.0-FR", "CC-BY-NC-SA-2.0-UK", "CC-BY-NC-SA-2.5", "CC-BY-NC-SA-3.0",
    "CC-BY-NC-SA-3.0-DE", "CC-BY-NC-SA-3.0-IGO", "CC-BY-NC-SA-4.0", "CC-BY-ND-1.0", "CC-BY-ND-2.0", "CC-BY-ND-2.5",
    "CC-BY-ND-3.0", "CC-BY-ND-3.0-DE", "CC-BY-ND-4.0", "CC-BY-SA-1.0", "CC-BY-SA-2.0", "CC-BY-SA-2.0-UK",
    "CC-BY-SA-2.1-JP", "CC-BY-SA-2.5", "CC-BY-SA-3.0", "CC-BY-SA-3.0-AT", "CC-BY-SA-3.0-DE", "CC-BY-SA-3.0-IGO",
    "CC-BY-SA-4.0", "CC-PDDC", "CC-PDM-1.0", "CC-SA-1.0", "CC0-1.0", "CDDL-1.0", "CDDL-1.1", "CDL-1.0",
    "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "CECILL-1.0", "CECILL-1.1", "CECILL-2.0",
    "CECILL-2.1", "CECILL-B", "CECILL-C", "CERN-OHL-1.1", "CERN-OHL-1.2", "CERN-OHL-P-2.0", "CERN-OHL-S-2.0",
    "CERN-OHL-W-2.0", "CFITSIO", "check-cvs", "checkmk", "ClArtistic", "Clips", "CMU-Mach", "CMU-Mach-nodoc",
    "CNRI-Jython", "CNRI-Python", "CNRI-Python-GPL-Compatible", "COIL-1.0", "Community-Spec-1.0", "Condor-1.1",
    "copyleft-next-0.3.0", "copyleft-next-0.3.1", "Cornell-Lossless-JPEG", "CPAL-1.0", "CPL-1.0", "CPOL-1.02",
    "Cronyx", "Crossword", "CryptoSwift", "CrystalStacker", "CUA-OPL-1.0", "Cube", "curl", "cve-tou", "D-FSL-1.0",
    "DEC-3-Clause", "diffmark", "DL-DE-BY-2.0", "DL-DE-ZERO-2.0", "DOC", "DocBook-DTD", "DocBook-Schema",
    "DocBook-Stylesheet", "DocBook-XML", "Dotseqn", "DRL-1.0", "DRL-1.1", "DSDP", "dtoa", "dvipdfm", "ECL-1.0",
    "ECL-2.0", "EFL-1.0", "EFL-2.0", "eGenix", "Elastic-2.0", "Entessa", "EPICS", "EPL-1.0", "EPL-2.0", "ErlPL-1.1",
    "ESA-PL-permissive-2.4", "ESA-PL-strong-copyleft-2.4", "ESA-PL-weak-copyleft-2.4", "etalab-2.0", "EUDatagrid",
    "EUPL-1.0", "EUPL-1.1", "EUPL-1.2", "Eurosym", "Fair", "FBM", "FDK-AAC", "Ferguson-Twofish", "Frameworx-1.0",
    "FreeBSD-DOC", "FreeImage", "FSFAP", "FSFAP-no-warranty-disclaimer", "FSFUL", "FSFULLR", "FSFULLRSD",
    "FSFULLRWD", "FSL-1.1-ALv2", "FSL-1.1-MIT", "FTL", "Furuseth", "fwlw", "Game-Programming-Gems", "GCR-docs",
    "GD", "generic-xts", "GFDL-1.1-invariants-only", "GFDL-1.1-invariants-or-later", "GFDL-1.1-no-invariants-only",
    "GFDL-1.1-no-invariants-or-later", "GFDL-1.1-only", "GFDL-1.1-or-later", "GFDL-1.2-invariants-only",
    "GFDL-1.2-invariants-or-later", "GFDL-1.2-no-invariants-only", "GFDL-1.2-no-invariants-or-later",
    "GFDL-1.2-only", "GFDL-1.2-or-later", "GFDL-1.3-invariants-only", "GFDL-1.3-invariants-or-later",
    "GFDL-1.3-no-invariants-only", "GFDL-1.3-no-invariants-or-later", "GFDL-1.3-only", "GFDL-1.3-or-later",
    "Giftware", "GL2PS", "Glide", "Glulxe", "GLWTPL", "gnuplot", "GPL-1.0-only", "GPL-1.0-or-later", "GPL-2.0-only",
    "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "Graphics-Gems", "gSOAP-1.3b", "gtkbook", "Gutmann",
    "HaskellReport", "HDF5", "hdparm", "HIDAPI", "Hippocratic-2.1", "HP-1986", "HP-1989", "HPND", "HPND-DEC",
    "HPND-doc", "HPND-doc-sell", "HPND-export-US", "HPND-export-US-acknowledgement", "HPND-export-US-modify",
    "HPND-export2-US", "HPND-Fenneberg-Livingston", "HPND-INRIA-IMAG", "HPND-Intel", "HPND-Kevlin-Henney",
    "HPND-Markus-Kuhn", "HPND-merchantability-variant", "HPND-MIT-disclaimer", "HPND-Netrek", "HPND-Pbmplus",
    "HPND-sell-MIT-disclaimer-xserver", "HPND-sell-regexpr", "HPND-sell-variant",
    "HPND-sell-variant-critical-systems", "HPND-sell-variant-MIT-disclaimer",
    "HPND-sell-variant-MIT-disclaimer-rev", "HPND-SMC", "HPND-UC", "HPND-UC-export-US", "HTMLTIDY",
    "hyphen-bulgarian", "IBM-pibs", "ICU", "IEC-Code-Components-EULA", "IJG", "IJG-short", "ImageMagick", "iMatix",
    "Imlib2", "Info-ZIP", "Inner-Net-2.0", "InnoSetup", "Intel", "Intel-ACPI", "Interbase-1.0", "IPA", "IPL-1.0",
    "ISC", "ISC-Veillard", "ISO-permission", "Jam", "JasPer-2.0", "jove", "JPL-image", "JPNIC", "JSON", "Kastrup",
    "Kazlib", "Knuth-CTAN", "LAL-1.2", "LAL-1.3", "Latex2e", "Latex2e-translated-notice", "Leptonica",
    "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only",
    "LGPL-3.0-or-later", "LGPLLR", "Libpng", "libpng-1.6.35", "libpng-2.0", "libselinux-1.0", "libtiff",
    "libutil-David-Nugent", "LiLiQ-P-1.1", "LiLiQ-R-1.1", "LiLiQ-Rplus-1.1", "Linux-man-pages-1-para",
    "Linux-man-pages-copyleft", "Linux-man-pages-copyleft-2-para", "Linux-man-pages-copyleft-var", "Linux-OpenIB",
    "LOOP", "LPD-document", "LPL-1.0", "LPL-1.02", "LPPL-1.0", "LPPL-1.1", "LPPL-1.2", "LPPL-1.3a", "LPPL-1.3c",
    "lsof", "Lucida-Bitmap-Fonts", "LZMA-SDK-9.11-to-9.20", "LZMA-SDK-9.22", "Mackerras-3-Clause",
    "Mackerras-3-Clause-acknowledgment", "magaz", "mailprio", "MakeIndex", "man2html", "Martin-Birgmeier",
    "McPhee-slideshow", "metamail", "Minpack", "MIPS", "MirOS", "MIT", "MIT-0", "MIT-advertising", "MIT-Click",
    "MIT-CMU", "MIT-enna", "MIT-feh", "MIT-Festival", "MIT-Khronos-old", "MIT-Modern-Variant", "MIT-open-group",
    "MIT-STK", "MIT-testregex", "MIT-Wu", "MITNFA", "MMIXware", "MMPL-1.0.1", "Motosoto", "MPEG-SSG",
    "mpi-permissive", "mpich2", "MPL-1.0", "MPL-1.1", "MPL-2.0", "MPL-2.0-no-copyleft-exception", "mplus", "MS-LPL",
    "MS-PL", "MS-RL", "MTLL", "MulanPSL-1.0", "MulanPSL-2.0", "Multics", "Mup", "NAIST-2003", "NASA-1.3", "Naumen",
    "NBPL-1.0", "NCBI-PD", "NCGL-UK-2.0", "NCL", "NCSA", "NetCDF", "Newsletr", "NGPL", "ngrep", "NICTA-1.0",
    "NIST-PD", "NIST-PD-fallback", "NIST-PD-TNT", "NIST-Software", "NLOD-1.0", "NLOD-2.0", "NLPL", "Nokia", "NOSL",
    "Noweb", "NPL-1.0", "NPL-1.1", "NPOSL-3.0", "NRL", "NTIA-PD", "NTP", "NTP-0", "O-UDA-1.0", "OAR", "OCCT-PL",
    "OCLC-2.0", "ODbL-1.0", "ODC-By-1.0", "OFFIS", "OFL-1.0", "OFL-1.0-no-RFN", "OFL-1.0-RFN", "OFL-1.1",
    "OFL-1.1-no-RFN", "OFL-1.1-RFN", "OGC-1.0", "OGDL-Taiwan-1.0", "OGL-Canada-2.0", "OGL-UK-1.0", "OGL-UK-2.0",
    "OGL-UK-3.0", "OGTSL", "OLDAP-1.1", "OLDAP-1.2", "OLDAP-1.3", "OLDAP-1.4", "OLDAP-2.0", "OLDAP-2.0.1",
    "OLDAP-2.1", "OLDAP-2.2", "OLDAP-2.2.1", "OLDAP-2.2.2", "OLDAP-2.3", "OLDAP-2.4", "OLDAP-2.5", "OLDAP-2.6",
    "OLDAP-2.7", "OLDAP-2.8", "OLFL-1.3", "OML", "OpenMDW-1.0", "OpenPBS-2.3", "OpenSSL", "OpenSSL-standalone",
    "OpenVision", "OPL-1.0", "OPL-UK-3.0", "OPUBL-1.0", "OSC-1.0", "OSET-PL-2.1", "OSL-1.0", "OSL-1.1", "OSL-2.0",
    "OSL-2.1", "OSL-3.0", "OSSP", "PADL", "ParaType-Free-Font-1.3", "Parity-6.0.0", "Parity-7.0.0", "PDDL-1.0",
    "PHP-3.0", "PHP-3.01", "Pixar", "pkgconf", "Plexus", "pnmstitch", "PolyForm-Noncommercial-1.0.0",
    "PolyForm-Small-Business-1.0.0", "PostgreSQL", "PPL", "PSF-2.0", "psfrag", "psutils", "Python-2.0",
    "Python-2.0.1", "python-ldap", "Qhull", "QPL-1.0", "QPL-1.0-INRIA-2004", "radvd", "Rdisc", "RHeCos-1.1",
    "RPL-1.1", "RPL-1.5", "RPSL-1.0", "RSA-MD", "RSCPL", "Ruby", "Ruby-pty", "SAX-PD", "SAX-PD-2.0", "Saxpath",
    "SCEA", "SchemeReport", "Sendmail", "Sendmail-8.23", "Sendmail-Open-Source-1.1", "SGI-B-1.0", "SGI-B-1.1",
    "SGI-B-2.0", "SGI-OpenGL", "SGMLUG-PM", "SGP4", "SHL-0.5", "SHL-0.51", "SimPL-2.0", "SISSL", "SISSL-1.2", "SL",
    "Sleepycat", "SMAIL-GPL", "SMLNJ", "SMPPL", "SNIA", "snprintf", "SOFA", "softSurfer", "Soundex", "Spencer-86",
    "Spencer-94", "Spencer-99", "SPL-1.0", "ssh-keyscan", "SSH-OpenSSH", "SSH-short", "SSLeay-standalone",
    "SSPL-1.0", "SugarCRM-1.1.3", "SUL-1.0", "Sun-PPP", "Sun-PPP-2000", "SunPro", "SWL", "swrule", "Symlinks",
    "TAPR-OHL-1.0", "TCL", "TCP-wrappers", "TekHVC", "TermReadKey", "TGPPL-1.0", "ThirdEye", "threeparttable",
    "TMate", "TORQUE-1.1", "TOSL", "TPDL", "TPL-1.0", "TrustedQSL", "TTWL", "TTYP0", "TU-Berlin-1.0",
    "TU-Berlin-2.0", "Ubuntu-font-1.0", "UCAR", "UCL-1.0", "ulem", "UMich-Merit", "Unicode-3.0", "Unicode-DFS-2015",
    "Unicode-DFS-2016", "Unicode-TOU", "UnixCrypt", "Unlicense", "Unlicense-libtelnet", "Unlicense-libwhirlpool",
    "UnRAR", "UPL-1.0", "URT-RLE", "Vim", "Vixie-Cron", "VOSTROM", "VSL-1.0", "W3C", "W3C-19980720", "W3C-20150513",
    "w3m", "Watcom-1.0", "Widget-Workshop", "WordNet", "Wsuipa", "WTFNMFPL", "WTFPL", "wwl", "X11",
    "X11-distribute-modifications-variant", "X11-no-permit-persons", "X11-swapped", "Xdebug-1.03", "Xerox", "Xfig",
    "XFree86-1.1", "xinetd", "xkeyboard-config-Zinoviev", "xlock", "Xnet", "xpp", "XSkat", "xzoom", "YPL-1.0",
    "YPL-1.1", "Zed", "Zeeff", "Zend-2.0", "Zimbra-1.3", "Zimbra-1.4", "Zlib", "zlib-acknowledgement", "ZPL-1.1",
    "ZPL-2.0", "ZPL-2.1",
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return lower(x) == lower(y);
           });
}

bool iless(std::string_view a, std::string_view b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return static_cast<unsigned char>(lower(x)) < static_cast<unsigned char>(lower(y));
    });
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && (is_blank(text.front()) || text.front() == '\n')) text.remove_prefix(1);
    while (!text.empty() && (is_blank(text.back()) || text.back() == '\n')) text.remove_suffix(1);
    return text;
}


// Names from a file may hold anything; what goes into `unknown` (and from
// there into JSON documents) must be printable UTF-8. Invalid sequences and
// control characters become '?'.
std::string printable(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        std::size_t length = util::utf8_sequence_length(text, i);
        if (length == 0 || (length == 1 && (c < 0x20 || c == 0x7f))) {
            out += '?';
            ++i;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
    }
    return out;
}

// --- Expressions -------------------------------------------------------------

// A license expression tree. Leaves hold one SPDX term ("MIT",
// "GPL-2.0-or-later WITH Bison-exception-2.2", "MPL-1.1+", "LicenseRef-x").
struct Expr {
    enum class Kind { Leaf, And, Or };
    Kind kind = Kind::Leaf;
    std::string term;
    std::vector<Expr> children;
};

Expr leaf(std::string term) { return Expr{Expr::Kind::Leaf, std::move(term), {}}; }

std::string render(const Expr& expr, bool nested);

// Flattens nested operators of the same kind, drops duplicates and sorts the
// operands by their text, so equal licenses always give the same string.
Expr normalise(Expr expr) {
    if (expr.kind == Expr::Kind::Leaf) return expr;
    std::vector<Expr> flat;
    for (auto& child : expr.children) {
        Expr c = normalise(std::move(child));
        if (c.kind == expr.kind) {
            for (auto& grandchild : c.children) flat.push_back(std::move(grandchild));
        } else {
            flat.push_back(std::move(c));
        }
    }
    std::vector<std::pair<std::string, Expr>> keyed;
    for (auto& c : flat) {
        std::string key = render(c, true);
        keyed.emplace_back(std::move(key), std::move(c));
    }
    std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    keyed.erase(std::unique(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
                keyed.end());
    if (keyed.size() == 1) return std::move(keyed.front().second);
    expr.children.clear();
    for (auto& [key, c] : keyed) expr.children.push_back(std::move(c));
    return expr;
}

// SPDX: WITH binds tighter than AND, AND tighter than OR. Operands that are
// themselves AND/OR groups are always parenthesised, which is valid either
// way and easier to read.
std::string render(const Expr& expr, bool nested) {
    if (expr.kind == Expr::Kind::Leaf) return expr.term;
    std::string op = expr.kind == Expr::Kind::And ? " AND " : " OR ";
    std::string out;
    for (const auto& child : expr.children) {
        if (!out.empty()) out += op;
        out += render(child, true);
    }
    return nested && expr.children.size() > 1 ? "(" + out + ")" : out;
}

// --- Debian short names --------------------------------------------------------

// Version "2" -> "2.0", "2.0.0" -> "2.0", "2.1" -> "2.1"; empty when `text`
// is not digits separated by dots.
std::string spdx_version(std::string_view text) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t dot = text.find('.', start);
        if (dot == std::string_view::npos) dot = text.size();
        std::string_view part = text.substr(start, dot - start);
        if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return {};
        parts.push_back(part);
        start = dot + 1;
    }
    while (parts.size() > 2 && parts.back() == "0") parts.pop_back();
    std::string out(parts[0]);
    out += '.';
    out += parts.size() > 1 ? parts[1] : "0";
    for (std::size_t i = 2; i < parts.size(); ++i) {
        out += '.';
        out += parts[i];
    }
    return out;
}

// The GNU licenses, whose SPDX ids say "-only" or "-or-later". A missing
// version means the family's lowest (copyright-format 1.0).
struct GnuFamily {
    std::string_view debian;  // lowercase
    std::string_view spdx;
    std::string_view lowest;
    std::string_view suffix;  // between version and -only/-or-later
};
constexpr GnuFamily GnuFamilies[] = {
    {"gpl", "GPL", "1.0", ""},    {"lgpl", "LGPL", "2.0", ""},   {"agpl", "AGPL", "1.0", ""},
    {"gfdl", "GFDL", "1.1", ""},  {"gfdl-niv", "GFDL", "1.1", "-no-invariants"},
};

std::optional<std::string> gnu_license(std::string_view base, bool plus) {
    std::string lowered = lowercase(base);
    for (const auto& family : GnuFamilies) {
        std::string_view rest = lowered;
        if (!rest.starts_with(family.debian)) continue;
        rest.remove_prefix(family.debian.size());
        std::string version;
        if (rest.empty()) {
            version = family.lowest;
        } else if (rest.front() == '-') {
            version = spdx_version(rest.substr(1));
        }
        if (version.empty()) continue;
        std::string id = std::string(family.spdx) + "-" + version + std::string(family.suffix) +
                         (plus ? "-or-later" : "-only");
        if (auto known = spdx_license_id(id)) return known;
    }
    return std::nullopt;
}

// Debian names that are not SPDX ids, or mean something else than the SPDX
// id of the same spelling. Keys are lowercase, without a trailing '+'.
struct Alias {
    std::string_view debian;
    std::string_view spdx;
};
constexpr Alias Aliases[] = {
    {"expat", "MIT"},
    // /usr/share/common-licenses/Artistic is the Artistic license Perl ships.
    {"artistic", "Artistic-1.0-Perl"},
    {"artistic-1", "Artistic-1.0-Perl"},
    {"psf-2", "PSF-2.0"},
    {"boost", "BSL-1.0"},
    {"boost-1.0", "BSL-1.0"},
    {"openldap-2.8", "OLDAP-2.8"},
    // Families without a version: the lowest version is meant.
    {"apache", "Apache-1.0"},
    {"mpl", "MPL-1.0"},
    {"cddl", "CDDL-1.0"},
    {"cc0", "CC0-1.0"},
    {"epl", "EPL-1.0"},
};

// "with <keywords> exception" keywords (lowercase) whose text is an SPDX
// exception. Autoconf is missing on purpose: Debian uses that keyword for at
// least three different texts (SPDX Autoconf-exception-2.0, -generic,
// -macro), so it stays a LicenseRef.
struct ExceptionName {
    std::string_view debian;
    std::string_view spdx;
    std::string_view requires_prefix;  // the license the exception is written for; empty: any
};
constexpr ExceptionName Exceptions[] = {
    {"bison", "Bison-exception-2.2", ""},
    {"bison-2.2", "Bison-exception-2.2", ""},
    {"libtool", "Libtool-exception", ""},
    {"font", "Font-exception-2.0", ""},
    {"classpath", "Classpath-exception-2.0", ""},
    {"llvm", "LLVM-exception", ""},
    {"linux-syscall-note", "Linux-syscall-note", ""},
    {"gcc-runtime-3.1", "GCC-exception-3.1", ""},
    // The GPL-2 wording of the Texinfo exception differs from SPDX's (GPL-3) text.
    {"texinfo", "Texinfo-exception", "GPL-3.0"},
};

std::optional<Expr> map_name(std::string_view name, std::vector<std::string>& unknown);

Expr unknown_name(std::string_view name, std::vector<std::string>& unknown) {
    unknown.push_back(printable(name));
    return leaf(license_ref(name));
}

// One short name without "with ... exception".
std::optional<Expr> map_simple(std::string_view name, std::vector<std::string>& unknown) {
    if (name.empty() || iequals(name, "none")) return std::nullopt;
    if (auto id = spdx_license_id(name); id && *id == name) return leaf(*id);  // exactly an SPDX id
    bool plus = name.ends_with('+');
    std::string_view base = plus ? name.substr(0, name.size() - 1) : name;
    std::string lowered = lowercase(base);
    if (lowered == "perl" && !plus)  // copyright-format: Perl means "GPL-1+ or Artistic-1"
        return Expr{Expr::Kind::Or, {}, {leaf("Artistic-1.0-Perl"), leaf("GPL-1.0-or-later")}};
    if (lowered == "public-domain" && !plus) {
        unknown.emplace_back("public-domain");  // one LicenseRef for every spelling
        return leaf("LicenseRef-public-domain");
    }
    if (auto id = gnu_license(base, plus)) return leaf(*id);
    std::optional<std::string> id;
    for (const auto& alias : Aliases)
        if (lowered == alias.debian) id = std::string(alias.spdx);
    if (!id) id = spdx_license_id(base);
    if (!id) {
        // "Apache-2" -> "Apache-2.0", "CDDL-1" -> "CDDL-1.0".
        std::size_t dash = base.rfind('-');
        if (dash != std::string_view::npos) {
            std::string version = spdx_version(base.substr(dash + 1));
            if (!version.empty()) id = spdx_license_id(std::string(base.substr(0, dash + 1)) + version);
        }
    }
    if (!id) return unknown_name(name, unknown);
    return leaf(plus ? *id + "+" : *id);
}

// One term of a License field: "GPL-2+", "GPL-2+ with Font exception",
// "MIT/X Consortium License".
std::optional<Expr> map_name(std::string_view name, std::vector<std::string>& unknown) {
    std::string lowered = lowercase(name);
    std::size_t with = lowered.find(" with ");
    if (with == std::string::npos) {
        if (name.find(' ') != std::string_view::npos) return unknown_name(name, unknown);
        return map_simple(name, unknown);
    }
    std::string_view base = trim(name.substr(0, with));
    std::string keywords(trim(std::string_view(lowered).substr(with + 6)));
    if (keywords.ends_with(" exception")) keywords.resize(keywords.size() - 10);
    std::vector<std::string> ignored;
    std::optional<Expr> license = map_simple(base, ignored);
    if (license && license->kind == Expr::Kind::Leaf && !license->term.starts_with("LicenseRef-") &&
        !license->term.ends_with('+')) {
        for (const auto& exception : Exceptions) {
            if (keywords == exception.debian && license->term.starts_with(exception.requires_prefix))
                return leaf(license->term + " WITH " + std::string(exception.spdx));
        }
    }
    return unknown_name(name, unknown);
}

// --- License field syntax ----------------------------------------------------

enum class Connective { None, And, Or };

Connective connective(std::string_view word) {
    if (iequals(word, "and")) return Connective::And;
    if (iequals(word, "or") || iequals(word, "and/or")) return Connective::Or;
    return Connective::None;
}

struct Token {
    std::string_view word;  // empty for a comma
    bool comma() const { return word.empty(); }
};

std::vector<Token> tokenize(std::string_view line) {
    std::vector<Token> tokens;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) ++i;
        std::size_t start = i;
        while (i < line.size() && !is_blank(line[i]) && line[i] != ',') ++i;
        if (i > start) tokens.push_back({line.substr(start, i - start)});
        if (i < line.size() && line[i] == ',') {
            tokens.push_back({});
            ++i;
        }
    }
    return tokens;
}

// copyright-format 1.0: "A or B and C" is "A or (B and C)"; a comma ends a
// group, so "A or B, and C" is "(A or B) and C". A comma with no word after
// it ("MIT, BSD-3-clause") is read as "and".
std::optional<Expr> parse_field(std::string_view line, std::vector<std::string>& unknown) {
    std::vector<Token> tokens = tokenize(line);
    std::vector<std::pair<Connective, Expr>> groups;  // comma-separated, with the word joining each to the left
    Connective group_join = Connective::And;
    Expr ors{Expr::Kind::Or, {}, {}};
    Expr ands{Expr::Kind::And, {}, {}};
    std::string term;

    auto end_term = [&] {
        if (auto e = map_name(trim(term), unknown)) ands.children.push_back(std::move(*e));
        term.clear();
    };
    auto end_and = [&] {
        end_term();
        if (!ands.children.empty()) ors.children.push_back(std::move(ands));
        ands = Expr{Expr::Kind::And, {}, {}};
    };
    auto end_group = [&] {
        end_and();
        if (!ors.children.empty()) groups.emplace_back(group_join, std::move(ors));
        ors = Expr{Expr::Kind::Or, {}, {}};
    };

    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const Token& token = tokens[i];
        if (token.comma()) {
            end_group();
            group_join = Connective::And;
            if (i + 1 < tokens.size() && !tokens[i + 1].comma()) {
                Connective next = connective(tokens[i + 1].word);
                if (next != Connective::None) {
                    group_join = next;
                    ++i;
                }
            }
            continue;
        }
        switch (connective(token.word)) {
            case Connective::And: end_term(); break;
            case Connective::Or: end_and(); break;
            case Connective::None:
                if (!term.empty()) term += ' ';
                term += token.word;
                break;
        }
    }
    end_group();
    if (groups.empty()) return std::nullopt;

    // Groups combine left to right: ((g1 join2 g2) join3 g3) ...
    Expr result = std::move(groups.front().second);
    for (std::size_t i = 1; i < groups.size(); ++i) {
        Expr::Kind kind = groups[i].first == Connective::Or ? Expr::Kind::Or : Expr::Kind::And;
        result = Expr{kind, {}, {std::move(result), std::move(groups[i].second)}};
    }
    return normalise(std::move(result));
}

// --- Copyright files -----------------------------------------------------------

struct CopyrightParagraph {
    bool has_files = false;
    std::optional<std::string_view> license;  // the License field's first line
    std::optional<std::string_view> format;   // Format (or the draft's Format-Specification)
};

// deb822 paragraphs, read leniently: real copyright files have stray lines,
// and only three fields matter here. Blank (or blank-only) lines end a
// paragraph; a line starting with a blank continues a field; other lines
// without a colon are skipped.
std::vector<CopyrightParagraph> copyright_paragraphs(std::string_view text) {
    std::vector<CopyrightParagraph> paragraphs;
    CopyrightParagraph current;
    bool open = false;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (trim(line).empty()) {
            if (open) paragraphs.push_back(current);
            current = {};
            open = false;
            if (nl == text.size()) break;
            continue;
        }
        open = true;
        if (is_blank(line.front()) || line.front() == '#') continue;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) continue;
        std::string_view name = trim(line.substr(0, colon));
        std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "Files")) current.has_files = true;
        if (iequals(name, "License") && !current.license) current.license = value;
        if ((iequals(name, "Format") || iequals(name, "Format-Specification")) && !current.format)
            current.format = value;
        if (nl == text.size()) break;
    }
    if (open) paragraphs.push_back(current);
    return paragraphs;
}

// The Format of copyright-format 1.0 (".../copyright-format/1.0/"), or of
// the DEP-5 drafts before it (".../dep5...").
bool is_dep5_format(std::string_view value) {
    std::string lowered = lowercase(value);
    return lowered.find("copyright-format/1.0") != std::string::npos || lowered.find("dep5") != std::string::npos;
}

}  // namespace

std::optional<std::string> spdx_license_id(std::string_view name) {
    const auto* end = std::end(SpdxLicenseIds);
    const auto* it = std::lower_bound(std::begin(SpdxLicenseIds), end, name, iless);
    if (it != end && iequals(*it, name)) return std::string(*it);
    return std::nullopt;
}

std::string license_ref(std::string_view name) {
    std::string out = "LicenseRef-";
    bool dash = true;  // the last character written is a '-'
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool word_end = i + 1 == name.size() || is_blank(name[i + 1]);
        if (c == '+' && word_end) {
            if (!dash) out += '-';
            out += "or-later";
            dash = false;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.') {
            out += c;
            dash = false;
        } else if (!dash) {
            // '-' itself, or a run of characters LicenseRef cannot hold: one '-'.
            out += '-';
            dash = true;
        }
    }
    while (out.size() > 11 && out.back() == '-') out.pop_back();
    if (out.size() == 11) out += "unknown";
    return out;
}

std::string debian_license_expression(std::string_view field, std::vector<std::string>& unknown) {
    std::size_t nl = field.find('\n');
    std::optional<Expr> expr = parse_field(trim(field.substr(0, nl)), unknown);
    return expr ? render(*expr, false) : std::string();
}

LicenseInfo license_from_copyright(std::string_view text) {
    LicenseInfo info;
    std::vector<CopyrightParagraph> paragraphs = copyright_paragraphs(text);
    if (paragraphs.empty() || !paragraphs.front().format || !is_dep5_format(*paragraphs.front().format))
        return info;
    info.machine_readable = true;

    Expr all{Expr::Kind::And, {}, {}};
    for (std::size_t i = 0; i < paragraphs.size(); ++i) {
        const CopyrightParagraph& p = paragraphs[i];
        // The header (first paragraph) and Files paragraphs say what applies;
        // stand-alone License paragraphs only hold the text of a name used elsewhere.
        if (!p.license || (i != 0 && !p.has_files)) continue;
        if (auto expr = parse_field(*p.license, info.unknown)) all.children.push_back(std::move(*expr));
    }
    if (all.children.empty()) return info;
    info.expression = render(normalise(std::move(all)), false);
    std::sort(info.unknown.begin(), info.unknown.end());
    info.unknown.erase(std::unique(info.unknown.begin(), info.unknown.end()), info.unknown.end());
    return info;
}

}  // namespace slate::sbom
