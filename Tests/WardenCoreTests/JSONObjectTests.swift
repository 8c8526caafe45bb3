import Testing
import WardenCore
import WardenFormats

/// JSON objects are sorted arrays: lookups, updates and parsing must behave as a dictionary's.
@Suite struct JSONObjectTests {
    @Test(arguments: [3, 8, 9, 40])
    func lookupsAndUpdatesAsADictionary(_ size: Int) {
        var object = JSONObject()
        var reference: [String: JSON] = [:]
        // Keys inserted out of order, some replaced, some removed.
        for i in (0..<size).reversed() {
            object["k\(i * 7 % size)"] = .int(i)
            reference["k\(i * 7 % size)"] = .int(i)
        }
        object["k1"] = "replaced"
        reference["k1"] = "replaced"
        object["k2"] = nil
        reference["k2"] = nil
        #expect(object.count == reference.count)
        #expect(object.keys == reference.keys.sorted { JSON.utf8LessForTests($0, $1) })
        for key in reference.keys { #expect(object[key] == reference[key], "\(key)") }
        // A missing key is nil, never null (JSON takes a nil literal).
        #expect(object["absent"] == nil)
        #expect(object["k2"] == nil)
        #expect(JSON.object(object)["absent"] == nil)
        #expect(object.removeValue(forKey: "k1") == "replaced")
        #expect(object["k1"] == nil)
    }

    @Test func parsedObjectsAreSortedAndDuplicatesFoundWhereTheyRepeat() throws {
        let parsed = try JSON.parse(Array(#"{"b":1,"a":{"z":true,"y":null},"c":"x"}"#.utf8))
        #expect(parsed.compactString == #"{"a":{"y":null,"z":true},"b":1,"c":"x"}"#)
        #expect(parsed["a"]?["y"] == .null)
        #expect(parsed["a"]?["x"] == nil)
        // The first key given twice, in document order, is the one reported, where it repeats.
        let text = #"{"d":1,"b":2,"a":3,"b":4,"d":5}"#
        let error = #expect(throws: JSONParseError.self) { try JSON.parse(Array(text.utf8)) }
        #expect(error?.message == "duplicate key \"b\"")
        #expect(error?.offset == 19)
    }
}

extension JSON {
    static func utf8LessForTests(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
