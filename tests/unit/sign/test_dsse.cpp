// DSSE: the specification's own test vector (../shared/vectors/dsse), PAE,
// envelopes signed and read back, and in-toto statements.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>

#include "slate/error.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/fs.hpp"
#include "support/paths.hpp"

namespace slate::sign {
namespace {

using nlohmann::json;

std::string dsse_vector() { return util::read_file(test::shared_vectors() / "dsse" / "envelope.json"); }

// The vector's key, from the X and Y the README gives (decimal).
PublicKey dsse_vector_key() {
    const char* x = "46950820868899156662930047687818585632848591499744589407958293238635476079160";
    const char* y = "5640078356564379163099075877009565129882514886557779369047442380624545832820";
    BIGNUM* bx = nullptr;
    BIGNUM* by = nullptr;
    EXPECT_GT(BN_dec2bn(&bx, x), 0);
    EXPECT_GT(BN_dec2bn(&by, y), 0);
    std::unique_ptr<BIGNUM, void (*)(BIGNUM*)> x_owner(bx, BN_free), y_owner(by, BN_free);
    unsigned char point[65];
    point[0] = 0x04;  // uncompressed
    EXPECT_EQ(BN_bn2binpad(bx, point + 1, 32), 32);
    EXPECT_EQ(BN_bn2binpad(by, point + 33, 32), 32);

    std::unique_ptr<OSSL_PARAM_BLD, void (*)(OSSL_PARAM_BLD*)> build(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
    OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
    std::unique_ptr<OSSL_PARAM, void (*)(OSSL_PARAM*)> params(OSSL_PARAM_BLD_to_param(build.get()), OSSL_PARAM_free);
    std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr),
                                                               EVP_PKEY_CTX_free);
    EVP_PKEY* key = nullptr;
    EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
    EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()), 1);
    if (!key) throw std::runtime_error("cannot build the DSSE vector's key");
    return PublicKey(key);
}

ErrorCode code_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.code();
    }
    ADD_FAILURE() << "no slate::Error thrown";
    return ErrorCode::Internal;
}

// ------------------------------------------------------------------ vector

TEST(Dsse, PaeIsTheSpecificationsString) {
    EXPECT_EQ(pae("http://example.com/HelloWorld", "hello world"),
              "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    EXPECT_EQ(pae("", ""), "DSSEv1 0  0 ");
    // Lengths are bytes, not characters.
    EXPECT_EQ(pae("t", "\xc3\xa9"), "DSSEv1 1 t 2 \xc3\xa9");
}

TEST(Dsse, SpecificationVectorVerifies) {
    auto envelope = parse_envelope(dsse_vector());
    EXPECT_EQ(envelope.payload_type, "http://example.com/HelloWorld");
    EXPECT_EQ(envelope.payload, "hello world");
    ASSERT_EQ(envelope.signatures.size(), 1u);
    EXPECT_EQ(envelope.signatures[0].signature.size(), 64u);  // raw r||s
    EXPECT_TRUE(envelope.signatures[0].keyid.empty());
    EXPECT_TRUE(verify_envelope(envelope, dsse_vector_key()));
    // Another key does not verify it.
    EXPECT_FALSE(verify_envelope(envelope, PrivateKey::generate_p256().public_key()));
}

TEST(Dsse, OneByteChangedAnywhereFails) {
    const auto key = dsse_vector_key();
    const auto original = parse_envelope(dsse_vector());
    auto payload = original;
    payload.payload[0] = 'H';
    EXPECT_FALSE(verify_envelope(payload, key));
    auto type = original;
    type.payload_type.back() = 'X';
    EXPECT_FALSE(verify_envelope(type, key));
    for (std::size_t i : {std::size_t{0}, std::size_t{31}, std::size_t{32}, std::size_t{63}}) {
        auto sig = original;
        sig.signatures[0].signature[i] = static_cast<char>(sig.signatures[0].signature[i] ^ 1);
        EXPECT_FALSE(verify_envelope(sig, key)) << "byte " << i;
    }
    // The same edits made in the JSON text.
    json doc = json::parse(dsse_vector());
    doc["payload"] = util::base64_encode("hello World");
    EXPECT_FALSE(verify_envelope(envelope_from_json(doc), key));
}

// ------------------------------------------------------------- round trips

TEST(Dsse, SignVerifyAndJsonRoundTrip) {
    auto key = PrivateKey::generate_p256();
    std::string payload = R"({"_type":"https://in-toto.io/Statement/v1"})";
    auto envelope = sign_envelope(InTotoPayloadType, payload, key);
    ASSERT_EQ(envelope.signatures.size(), 1u);
    EXPECT_TRUE(envelope.signatures[0].keyid.empty());
    EXPECT_TRUE(verify_envelope(envelope, key.public_key()));
    // The signature is over PAE, not the bare payload.
    EXPECT_TRUE(key.public_key().verify(pae(InTotoPayloadType, payload), envelope.signatures[0].signature));
    EXPECT_FALSE(key.public_key().verify(payload, envelope.signatures[0].signature));

    std::string text = envelope_to_string(envelope);
    json doc = json::parse(text);
    EXPECT_EQ(doc["payloadType"], InTotoPayloadType);
    EXPECT_EQ(util::base64_decode(doc["payload"].get<std::string>()), payload);
    EXPECT_EQ(doc["signatures"][0]["keyid"], "");
    auto back = parse_envelope(text);
    EXPECT_EQ(back.payload, envelope.payload);
    EXPECT_EQ(back.payload_type, envelope.payload_type);
    ASSERT_EQ(back.signatures.size(), 1u);
    EXPECT_EQ(back.signatures[0].signature, envelope.signatures[0].signature);
    EXPECT_TRUE(verify_envelope(back, key.public_key()));
}

TEST(Dsse, AnyOfSeveralSignaturesVerifies) {
    auto a = PrivateKey::generate_p256();
    auto b = PrivateKey::generate_p256();
    auto envelope = sign_envelope("text/plain", "x", a);
    envelope.signatures.push_back({"b", sign_envelope("text/plain", "x", b).signatures[0].signature});
    auto back = parse_envelope(envelope_to_string(envelope));
    EXPECT_EQ(back.signatures[1].keyid, "b");
    EXPECT_TRUE(verify_envelope(back, a.public_key()));
    EXPECT_TRUE(verify_envelope(back, b.public_key()));
    EXPECT_FALSE(verify_envelope(back, PrivateKey::generate_p256().public_key()));
}

TEST(Dsse, UrlSafeBase64IsAccepted) {
    auto key = PrivateKey::generate_p256();
    std::string payload = "\xfb\xff\xfe payload with + and / in its base64";
    auto envelope = sign_envelope("application/octet-stream", payload, key);
    json doc = json::parse(envelope_to_string(envelope));
    std::string url = doc["payload"];
    for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
    ASSERT_NE(url, doc["payload"].get<std::string>());
    doc["payload"] = url;
    auto back = envelope_from_json(doc);
    EXPECT_EQ(back.payload, payload);
    EXPECT_TRUE(verify_envelope(back, key.public_key()));
}

TEST(Dsse, MalformedEnvelopesAreParseErrors) {
    const std::string good_sig = json::parse(dsse_vector())["signatures"][0]["sig"];
    for (const std::string& text : {
             std::string("not json"),
             std::string("[]"),
             std::string(R"({"payloadType": "t", "signatures": [{"sig": "AAAA"}]})"),                    // no payload
             std::string(R"({"payload": "aGk=", "signatures": [{"sig": "AAAA"}]})"),                     // no type
             std::string(R"({"payload": "aGk=", "payloadType": 7, "signatures": [{"sig": "AAAA"}]})"),
             std::string(R"({"payload": "aGk=", "payloadType": "t"})"),                                  // no signatures
             std::string(R"({"payload": "aGk=", "payloadType": "t", "signatures": []})"),
             std::string(R"({"payload": "aGk=", "payloadType": "t", "signatures": {}})"),
             std::string(R"({"payload": "aGk=", "payloadType": "t", "signatures": ["AAAA"]})"),
             std::string(R"({"payload": "aGk=", "payloadType": "t", "signatures": [{"keyid": "k"}]})"),
             std::string(R"({"payload": "a*k=", "payloadType": "t", "signatures": [{"sig": "AAAA"}]})"),
             std::string(R"({"payload": "aGk=", "payloadType": "t", "signatures": [{"sig": "A"}]})"),
             std::string(R"({"payload": "aGk=", "payloadType": "t", "signatures": [{"sig": "AAAA", "keyid": 3}]})"),
         }) {
        EXPECT_EQ(code_of([&] { parse_envelope(text, "env.json"); }), ErrorCode::Parse) << text;
    }
    try {
        parse_envelope("{}", "att.dsse.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(e.message().find("att.dsse.json"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("payload"), std::string::npos) << e.message();
    }
    // Well-formed for comparison: the same shape with a valid signature parses.
    EXPECT_NO_THROW(parse_envelope(R"({"payload": "aGk=", "payloadType": "t", "signatures": [{"sig": ")" + good_sig +
                                   R"("}]})"));
}

// ----------------------------------------------------------------- in-toto

TEST(InToto, StatementRoundTrip) {
    Statement statement;
    statement.subjects.push_back({"registry.example/app", {{"sha256", std::string(64, 'a')}}});
    statement.subjects.push_back({"other", {{"sha256", std::string(64, 'b')}, {"sha512", std::string(128, 'c')}}});
    statement.predicate_type = "https://slsa.dev/provenance/v1";
    statement.predicate = nlohmann::ordered_json::parse(R"({"z": 1, "a": {"nested": [1, 2]}})");
    std::string text = statement_to_string(statement);
    json doc = json::parse(text);
    EXPECT_EQ(doc["_type"], "https://in-toto.io/Statement/v1");
    EXPECT_EQ(doc["subject"][0]["name"], "registry.example/app");
    EXPECT_EQ(doc["subject"][0]["digest"]["sha256"], std::string(64, 'a'));
    EXPECT_EQ(doc["predicateType"], "https://slsa.dev/provenance/v1");
    // The predicate keeps its key order.
    EXPECT_NE(text.find(R"("predicate":{"z":1,"a":{"nested":[1,2]}})"), std::string::npos) << text;

    auto back = parse_statement(text);
    ASSERT_EQ(back.subjects.size(), 2u);
    EXPECT_EQ(back.subjects[1].name, "other");
    EXPECT_EQ(back.subjects[1].digest, statement.subjects[1].digest);
    EXPECT_EQ(back.predicate_type, statement.predicate_type);
    EXPECT_EQ(back.predicate, statement.predicate);
    EXPECT_EQ(statement_to_string(back), text);
}

TEST(InToto, StatementV01IsAccepted) {
    auto statement = parse_statement(R"({"_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "img", "digest": {"sha256": "abc"}}],
        "predicate": {"builder": {"id": "x"}}})");
    EXPECT_EQ(statement.predicate_type, "https://slsa.dev/provenance/v0.2");
    ASSERT_EQ(statement.subjects.size(), 1u);
    EXPECT_EQ(statement.subjects[0].digest.at("sha256"), "abc");
    EXPECT_EQ(statement.predicate["builder"]["id"], "x");
}

TEST(InToto, MalformedStatementsAreParseErrors) {
    for (const std::string& text : {
             std::string("nope"),
             std::string(R"({"_type": "https://in-toto.io/Statement/v2", "subject": [{"digest": {"sha256": "a"}}], "predicateType": "p"})"),
             std::string(R"({"subject": [{"digest": {"sha256": "a"}}], "predicateType": "p"})"),
             std::string(R"({"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "p"})"),
             std::string(R"({"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "n"}], "predicateType": "p"})"),
             std::string(R"({"_type": "https://in-toto.io/Statement/v1", "subject": [{"digest": {"sha256": 1}}], "predicateType": "p"})"),
             std::string(R"({"_type": "https://in-toto.io/Statement/v1", "subject": [{"digest": {"sha256": "a"}}]})"),
         }) {
        EXPECT_EQ(code_of([&] { parse_statement(text); }), ErrorCode::Parse) << text;
    }
}

TEST(InToto, PredicateTypeNamesAreCosigns) {
    EXPECT_EQ(predicate_type_uri("slsaprovenance"), "https://slsa.dev/provenance/v0.2");
    EXPECT_EQ(predicate_type_uri("slsaprovenance02"), "https://slsa.dev/provenance/v0.2");
    EXPECT_EQ(predicate_type_uri("slsaprovenance1"), "https://slsa.dev/provenance/v1");
    EXPECT_EQ(predicate_type_uri("spdx"), "https://spdx.dev/Document");
    EXPECT_EQ(predicate_type_uri("spdxjson"), "https://spdx.dev/Document");
    EXPECT_EQ(predicate_type_uri("cyclonedx"), "https://cyclonedx.org/bom");
    EXPECT_EQ(predicate_type_uri("link"), "https://in-toto.io/Link/v1");
    EXPECT_EQ(predicate_type_uri("vuln"), "https://cosign.sigstore.dev/attestation/vuln/v1");
    EXPECT_EQ(predicate_type_uri("openvex"), "https://openvex.dev/ns");
    EXPECT_EQ(predicate_type_uri("custom"), "https://cosign.sigstore.dev/attestation/v1");
    EXPECT_EQ(predicate_type_uri("https://example.com/p/v1"), "https://example.com/p/v1");
    EXPECT_EQ(predicate_type_uri("urn:x:y"), "urn:x:y");
    try {
        predicate_type_uri("slsa");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Usage);
        EXPECT_NE(e.message().find("slsa"), std::string::npos);
        EXPECT_NE(e.hint().find("slsaprovenance1"), std::string::npos) << e.hint();
    }
}

}  // namespace
}  // namespace slate::sign
