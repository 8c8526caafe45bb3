/// A JSON object: its members sorted by key in UTF-8 byte order (the order `serialized()`
/// writes them in), each key once. A document has many small objects, which a sorted array
/// holds in one allocation, builds without hashing, and searches faster than a hash table
/// (linearly for a few members, by bisection past that); iteration is in key order, so anything
/// built from it is deterministic. The API is the part of `Dictionary`'s that Warden uses.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSON)

    struct Member: Sendable, Hashable {
        var key: String
        var value: JSON
    }

    private(set) var members: [Member]

    public init() { members = [] }

    public init(dictionaryLiteral elements: (String, JSON)...) {
        members = []
        members.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    /// From members already in key order with no key twice (the parser checks both).
    init(sortedUniqueMembers: [Member]) { members = sortedUniqueMembers }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }
    public var values: [JSON] { members.map(\.value) }

    /// Where `key` is, or where it would go.
    func position(of key: String) -> (index: Int, found: Bool) {
        if members.count <= 8 {
            for i in members.indices where members[i].key == key { return (i, true) }
            return (members.firstIndex { JSON.utf8Less(key, $0.key) } ?? members.count, false)
        }
        var lo = 0
        var hi = members.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if JSON.utf8Less(members[mid].key, key) { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < members.count && members[lo].key == key)
    }

    public subscript(key: String) -> JSON? {
        get {
            // (Not `found ? value : nil`: JSON takes a nil literal, which would make that .null.)
            let (i, found) = position(of: key)
            guard found else { return .none }
            return members[i].value
        }
        set {
            let (i, found) = position(of: key)
            switch (found, newValue) {
            case (true, let value?): members[i].value = value
            case (true, nil): members.remove(at: i)
            case (false, let value?): members.insert(Member(key: key, value: value), at: i)
            case (false, nil): break
            }
        }
    }

    @discardableResult
    public mutating func updateValue(_ value: JSON, forKey key: String) -> JSON? {
        let old = self[key]
        self[key] = value
        return old
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        let old = self[key]
        self[key] = nil
        return old
    }

    public func mapValues(_ transform: (JSON) throws -> JSON) rethrows -> JSONObject {
        JSONObject(sortedUniqueMembers: try members.map { Member(key: $0.key, value: try transform($0.value)) })
    }

    /// A concrete iterator: with an opaque one, every loop over an object in another module
    /// looked up the iterator's type metadata at run time (seen under perf in the redaction of
    /// an audit's facts).
    public struct Iterator: IteratorProtocol {
        var members: IndexingIterator<[Member]>

        public mutating func next() -> Element? {
            members.next().map { (key: $0.key, value: $0.value) }
        }
    }

    public func makeIterator() -> Iterator { Iterator(members: members.makeIterator()) }
}

extension JSONObject {
    /// From a dictionary (its keys sorted once).
    public init(_ dictionary: [String: JSON]) {
        members = dictionary.map { Member(key: $0.key, value: $0.value) }.sorted { JSON.utf8Less($0.key, $1.key) }
    }
}

extension JSON {
    /// An object from a dictionary (its keys sorted once).
    public static func object(_ dictionary: [String: JSON]) -> JSON { .object(JSONObject(dictionary)) }
}
