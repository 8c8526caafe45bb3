import Evidence
import Testing
import WardenCore
import WardenFormats

@Suite struct DSSETests {
    /// The DSSE specification's PAE example (protocol.md), checked before anything else is signed.
    @Test func paeMatchesTheSpecVector() {
        let pae = DSSE.pae(payloadType: "http://example.com/HelloWorld", payload: Array("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    }

    @Test func paeCountsBytesNotCharacters() {
        let pae = DSSE.pae(payloadType: "t/é", payload: [0xFF, 0x00])
        #expect(pae == Array("DSSEv1 4 t/é 2 ".utf8) + [0xFF, 0x00])
        #expect(DSSE.pae(payloadType: "", payload: []) == Array("DSSEv1 0  0 ".utf8))
    }

    // RFC 4648 §10 test vectors.
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func base64RFC4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
        #expect(Base64.decode(encoded.replacingOccurrences("=", "")) == Array(plain.utf8))
    }

    @Test func base64AcceptsTheURLSafeAlphabet() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0xFE]
        #expect(Base64.encode(bytes) == "+/+//g==")
        #expect(Base64.decode("-_-__g") == bytes)
        #expect(Base64.decode("-_-__g==") == bytes)
    }

    /// Every length up to 70 bytes (the decoder's group-at-a-time and tail paths), in both
    /// alphabets, padded or not; and a character outside the alphabet anywhere is refused.
    @Test func base64RoundTripsEveryLengthAndRefusesAStrayCharacterAnywhere() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: seed >> 56)
        }
        for length in 0...70 {
            let bytes = (0..<length).map { _ in next() }
            let standard = Base64.encode(bytes)
            let urlSafe = String(standard.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
            #expect(Base64.decode(standard) == bytes, "\(length)")
            #expect(Base64.decode(urlSafe) == bytes, "\(length)")
            #expect(Base64.decode(String(standard.prefix { $0 != "=" })) == bytes, "\(length)")
            let unpadded = Array(standard.prefix { $0 != "=" })
            for position in unpadded.indices {
                // ("=" in the last two places can make a correctly padded shorter text.)
                for stray: Character in ["!", " ", "=", "\u{0}", "é"] where stray != "=" || position < unpadded.count - 2 {
                    var broken = unpadded
                    broken[position] = stray
                    #expect(Base64.decode(String(broken)) == nil, "\(length) \(position) \(stray)")
                }
            }
        }
    }

    @Test(arguments: ["Zg=", "Z", "Zm9v!", "Zm 9v", "Zh==", "Zm9=", "=Zm9", "Zg==Zg=="])
    func base64RejectsMalformedText(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test func envelopeRoundTripsAndWritesStandardBase64() throws {
        let envelope = Envelope(
            payloadType: DSSE.inTotoPayloadType, payload: [0xFB, 0xFF, 0x01], signatures: [.init(keyid: "ab", sig: [0xFF, 0xFE])])
        let bytes = envelope.encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"payload\": \"+/8B\""))
        #expect(text.contains("\"sig\": \"//4=\""))
        #expect(try Envelope.decode(bytes, file: "e.json") == envelope)
    }

    @Test func envelopeDecodeAcceptsURLSafeBase64() throws {
        let json = #"{"payloadType":"x","payload":"-_8B","signatures":[{"sig":"__4"}]}"#
        let envelope = try Envelope.decode(Array(json.utf8), file: "e.json")
        #expect(envelope.payload == [0xFB, 0xFF, 0x01])
        #expect(envelope.signatures == [.init(keyid: nil, sig: [0xFF, 0xFE])])
    }

    @Test(arguments: [
        ("", "e.json:1:1: error: not a DSSE envelope: invalid JSON: unexpected end of input"),
        ("hello", "e.json:1:1: error: not a DSSE envelope: invalid JSON"),
        (#"{"payloadType":"x","payload":"Zm9v","signat"#, "e.json:1:44: error: not a DSSE envelope: invalid JSON: unterminated string"),
        ("[1]", "e.json: error: not a DSSE envelope: expected a JSON object, found a list"),
        (#"{"payload":"Zm9v","signatures":[]}"#, "e.json: error: payloadType: missing: not a DSSE envelope"),
        (#"{"payloadType":1,"payload":"Zm9v","signatures":[]}"#, "e.json: error: payloadType: expected a string, found an integer"),
        (#"{"payloadType":"x","payload":"Zm9v!","signatures":[]}"#, "e.json: error: payload: not valid base64"),
        (#"{"payloadType":"x","payload":"Zm9v"}"#, "e.json: error: signatures: missing: not a DSSE envelope"),
        (#"{"payloadType":"x","payload":"Zm9v","signatures":[{"keyid":"a"}]}"#, "e.json: error: signatures[0].sig: missing"),
        (
            #"{"payloadType":"x","payload":"Zm9v","signatures":[{"sig":"Zm9v","keyid":7}]}"#,
            "e.json: error: signatures[0].keyid: expected a string"
        ),
    ])
    func notAnEnvelopeIsMalformedAndSaysWhere(input: String, message: String) {
        #expect {
            try Envelope.decode(Array(input.utf8), file: "e.json")
        } throws: { error in
            guard let e = error as? WardenError else { return false }
            return e.code == .malformed && e.description.hasPrefix(message)
        }
    }

    @Test(
        arguments: [("7d", 604_800), ("36h", 129_600), ("1d12h", 129_600), ("90m", 5400), ("45s", 45), ("2w", 1_209_600)]
            as [(String, Int64)])
    func durations(text: String, seconds: Int64) {
        #expect(Durations.seconds(text) == seconds)
    }

    @Test(arguments: ["", "7", "d", "7x", "-1d", "1.5d", "99999999999999999999d"])
    func badDurations(_ text: String) {
        #expect(Durations.seconds(text) == nil)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
