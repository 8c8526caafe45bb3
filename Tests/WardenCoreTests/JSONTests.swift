import Testing
import WardenCore
import WardenFormats

@Suite struct JSONTests {
    @Test func serialisationSortsKeysAndEscapes() {
        let v: JSON = ["b": 1, "a": ["x": true, "\u{1}": .null], "é": "line\n\"q\"\\"]
        #expect(v.compactString == #"{"a":{"\u0001":null,"x":true},"b":1,"é":"line\n\"q\"\\"}"#)
    }

    @Test func roundTrip() throws {
        let v: JSON = ["list": [1, -2, "three", ["four": .null]], "empty": [:], "none": []]
        #expect(try JSON.parse(v.serialized()) == v)
        #expect(try JSON.parse(v.prettySerialized()) == v)
    }

    @Test(arguments: [
        ("{\"a\":1,\"a\":2}", "duplicate key"),
        ("[1,]", "unexpected character"),
        ("{\"a\":1.5}", "non-integer"),
        ("\"\\ud800\"", "unpaired surrogate"),
        ("[1] x", "unexpected data"),
        ("01", "leading zero"),
        ("{\"a\":\"\u{1}\"}", "control character"),
        ("", "unexpected end"),
    ])
    func malformedInputIsRejectedWithAPosition(text: String, message: String) {
        let error = #expect(throws: JSONParseError.self) { try JSON.parse(text) }
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    /// Long strings are scanned eight bytes at a time: every character that ends, escapes or
    /// invalidates a string must still be found wherever it falls in the word.
    @Test func everySpecialByteIsFoundAtEveryOffset() throws {
        for offset in 0..<20 {
            let padding = String(repeating: "a", count: offset)
            for scalar in ["\"", "\\", "\u{0}", "\u{1F}", "\n", "é", "😀", "\u{7F}", " "] {
                let text = padding + scalar + padding
                #expect(try JSON.parse(JSON.string(text).serialized()) == .string(text), "\(offset) \(scalar.unicodeScalars.first!.value)")
            }
            for bad: UInt8 in [0x80, 0xC3, 0xFF, 0x01, 0x1F] {
                let bytes = [0x22] + Array(padding.utf8) + [bad] + Array(padding.utf8) + [0x22]
                #expect(throws: JSONParseError.self, "\(offset) \(bad)") { try JSON.parse(bytes) }
            }
            #expect(throws: JSONParseError.self) { try JSON.parse([0x22] + Array(padding.utf8) + Array(padding.utf8)) }
        }
    }

    /// The same in a value left unbuilt, and with two special bytes in one eight-byte word.
    @Test func everySpecialByteIsFoundAtEveryOffsetUnbuilt() throws {
        for offset in 0..<20 {
            let padding = String(repeating: "a", count: offset)
            for scalar in ["\"", "\\", "\u{0}", "\u{1F}", "\n", "é", "😀", "\u{7F}", " ", "é\"", "\"\\", "\n\u{1}é"] {
                let text = padding + scalar + padding
                let doc =
                    [0x7B] + Array(#""p":["#.utf8) + JSON.string(text).serialized() + Array(#"],"q":"#.utf8)
                    + JSON.string(text).serialized() + [0x7D]
                #expect(
                    try JSON.parse(doc, omitting: ["p"]) == ["p": [], "q": .string(text)], "\(offset) \(scalar.unicodeScalars.first!.value)"
                )
            }
            for bad: [UInt8] in [[0x80], [0xC3], [0xFF], [0x01], [0x1F], [0x61, 0x0A], [0xC3, 0xA9, 0x80]] {
                let string = [0x22] + Array(padding.utf8) + bad + Array(padding.utf8) + [0x22]
                let doc = [0x7B] + Array(#""p":["#.utf8) + string + [0x5D, 0x7D]
                #expect(throws: JSONParseError.self, "\(offset) \(bad)") { try JSON.parse(doc, omitting: ["p"]) }
            }
        }
    }

    /// A value left unbuilt is still checked as strictly as a built one, and stands as an
    /// empty value of its type; everything else is built as usual.
    @Test func omittedValuesAreCheckedNotBuilt() throws {
        let doc: JSON = ["predicate": ["results": [["control": "A", "evidence": [["x": "é\n"]]]], "facts": ["n": 1]], "results": [1]]
        let parsed = try JSON.parse(doc.serialized(), omitting: ["predicate", "results"])
        #expect(parsed == ["predicate": ["results": [], "facts": ["n": 1]], "results": [1]])
        #expect(
            try JSON.parse(Array(#"{"predicate":{"results":{"a":1}}}"#.utf8), omitting: ["predicate", "results"]) == [
                "predicate": ["results": [:]]
            ])
        #expect(
            try JSON.parse(Array(#"{"predicate":{"results":"text"}}"#.utf8), omitting: ["predicate", "results"]) == [
                "predicate": ["results": ""]
            ])
        for bad in [
            #"{"predicate":{"results":[{"a":1,"a":2}]}}"#,
            "{\"predicate\":{\"results\":[{\"k\":\"\u{1}\"}]}}",
            #"{"predicate":{"results":[1.5]}}"#,
            #"{"predicate":{"results":[{"a":1},]}}"#,
            #"{"predicate":{"results":["\ud800"]}}"#,
            #"{"predicate":{"results":[tru]}}"#,
        ] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSON.parse(Array(bad.utf8), omitting: ["predicate", "results"]) }
        }
        let invalidUTF8 = Array(#"{"predicate":{"results":[""#.utf8) + [0xC3] + Array(#""]}}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSON.parse(invalidUTF8, omitting: ["predicate", "results"]) }
        // Many keys in an unbuilt object: duplicates are still found (past the short scan too).
        let keys = (0..<100).map { "\"k\($0)\":0" }
        let many = #"{"predicate":{"results":{"# + keys.joined(separator: ",") + #","k77":1}}}"#
        let error = #expect(throws: JSONParseError.self) { try JSON.parse(Array(many.utf8), omitting: ["predicate", "results"]) }
        #expect(error?.message == "duplicate key \"k77\"")
        let unique = #"{"predicate":{"results":{"# + keys.joined(separator: ",") + "}}}"
        #expect(try JSON.parse(Array(unique.utf8), omitting: ["predicate", "results"]) == ["predicate": ["results": [:]]])
        // Unbuilt keys are compared by their decoded bytes: an escape, non-ASCII text and the
        // empty key are the same key however written, and a key is reported where it repeats.
        for (text, key) in [
            (#"{"a":1,"\u0061":2}"#, "a"), (#"{"é":1,"\u00e9":2}"#, "é"), (#"{"\u00e9":1,"é":2}"#, "é"),
            (#"{"":1,"b":2,"":3}"#, ""), (#"{"a\"b":1,"a\u0022b":2}"#, "a\"b"), (#"{"ab":1,"a":2,"b":3,"ab":4}"#, "ab"),
            (#"{"abcdefghij":1,"abcdefghik":2,"abcdefgh\u0069j":3}"#, "abcdefghij"),
        ] {
            let doc = #"{"predicate":{"results":["# + text + "]}}"
            let error = #expect(throws: JSONParseError.self, "\(text)") {
                try JSON.parse(Array(doc.utf8), omitting: ["predicate", "results"])
            }
            #expect(error?.message == "duplicate key \"\(key)\"", "\(text)")
            #expect(
                error?.message == (#expect(throws: JSONParseError.self) { try JSON.parse(Array(doc.utf8)) })?.message,
                "as a full parse says: \(text)")
        }
        // Several paths, sharing a prefix or not; a path's prefix is built, and only objects are
        // followed (not lists).
        let several = Array(#"{"p":{"r":[1,{"x":2}],"f":{"files":{"a":"b"},"facts":{"n":1}},"s":"t"},"q":{"r":3},"z":[{"p":1}]}"#.utf8)
        #expect(
            try JSON.parse(several, omitting: [["p", "r"], ["p", "f", "files"], ["z", "p"]])
                == ["p": ["r": [], "f": ["files": [:], "facts": ["n": 1]], "s": "t"], "q": ["r": 3], "z": [["p": 1]]])
        #expect(try JSON.parse(several, omitting: [["p"], ["p", "r"]]) == ["p": [:], "q": ["r": 3], "z": [["p": 1]]])
        #expect(try JSON.parse(several, omitting: [[], ["nothing"]]) == (try JSON.parse(several)))
        let duplicate = Array(#"{"p":{"f":{"files":{"a":"b","a":"c"}}}}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSON.parse(duplicate, omitting: [["p", "r"], ["p", "f", "files"]]) }
        for text in [
            #"{"a":1,"A":2,"\u0062":3,"é":4,"e":5,"":6}"#, #"{"ab":1,"a":2,"b":3,"ba":4}"#,
            #"{"abcdefghij":1,"abcdefghik":2,"bbcdefghij":3}"#,
        ] {
            let doc = #"{"predicate":{"results":["# + text + "]}}"
            #expect(try JSON.parse(Array(doc.utf8), omitting: ["predicate", "results"]) == ["predicate": ["results": []]], "\(text)")
        }
    }

    /// The line of every member's key, by its path: what evidence cites for a setting in a JSON
    /// configuration file (containers' policy.json).
    @Test func keyLinesNameWhereEachMemberIs() throws {
        let text =
            "{\"default\": [{\"type\": \"reject\"}],\r\n \"transports\":\n  {\"docker\": {\n   \"quay.io\": [\n    {\"type\": \"x\"}]}}}"
        let (value, lines) = try JSON.parseWithKeyLines(text)
        #expect(value == (try JSON.parse(text)))
        #expect(
            lines == [
                ["default"]: 1, ["default", "0", "type"]: 1, ["transports"]: 2, ["transports", "docker"]: 3,
                ["transports", "docker", "quay.io"]: 4, ["transports", "docker", "quay.io", "0", "type"]: 5,
            ])
        #expect(throws: JSONParseError.self) { try JSON.parseWithKeyLines("{\"a\": 1, \"a\": 2}") }
    }

    @Test func deepNestingIsBounded() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
    }

    @Test func unicodeEscapesDecode() throws {
        #expect(try JSON.parse("\"\\u00e9\\ud83d\\ude00\"") == "é😀")
    }

    @Test func errorPositionIsLineAndColumn() {
        let error = #expect(throws: JSONParseError.self) { try JSON.parse("{\n  \"a\": tru\n}") }
        #expect(error?.line == 2)
        #expect(error?.column == 8)
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-29T08:38:14Z", 1_795_941_494),
        ("2026-11-29T10:38:14+02:00", 1_795_941_494),
        ("2026-11-29T08:38:14.123Z", 1_795_941_494),
        ("2000-02-29T00:00:00Z", 951_782_400),
    ])
    func parses(text: String, seconds: Int64) {
        #expect(Timestamp(rfc3339: text)?.seconds == seconds)
    }

    @Test(arguments: [
        "2026-13-01T00:00:00Z", "2026-02-30", "2026-11-29T25:00:00Z", "2026-11-29T08:38:14", "yesterday", "2026-11-29T08:38:14Zjunk",
    ])
    func rejects(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func bareDateAsExpiryMeansEndOfDay() {
        #expect(Timestamp(rfc3339: "2026-11-29", dateMeansEndOfDay: true)?.description == "2026-11-29T23:59:59Z")
        #expect(Timestamp(rfc3339: "2026-11-29")?.description == "2026-11-29T00:00:00Z")
    }

    @Test func formatsRFC3339() {
        #expect(Timestamp(seconds: 1_795_941_494).description == "2026-11-29T08:38:14Z")
    }
}
