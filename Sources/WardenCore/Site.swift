public import WardenFormats

/// What only the operator knows about a host (docs/FORMATS.md, site file). Unknown keys are errors.
public struct Site: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable, CaseIterable { case storage, training, inference, other }

    /// RAND's SL3 interface alternatives (RR-A2849-1, pp. 78–80): A, weights reached only through
    /// a certified interface (`production`); B, output-rate-limited arbitrary code
    /// (`research-sandbox`); C, an isolated network (`isolated-network`). Controls whose SL3
    /// parameters differ between them read it; the findings say which was judged.
    public enum Environment: String, Sendable, Hashable, CaseIterable {
        case production
        case researchSandbox = "research-sandbox"
        case isolatedNetwork = "isolated-network"

        /// RAND's letter for the alternative.
        public var randAlternative: String {
            switch self {
            case .production: "A"
            case .researchSandbox: "B"
            case .isolatedNetwork: "C"
            }
        }
    }

    /// How long, by default, a human account may go without renewal (ACC-007): six months, the
    /// Code's review period for who may access weights (Appendix 4.3(1)).
    public static let defaultRenewalDays = 183

    public struct Waiver: Sendable, Hashable {
        public var control: String
        public var reason: String
        public var approvedBy: String
        /// The last moment the waiver holds (a bare date holds through the end of that day, UTC).
        public var expires: Timestamp
        public var expiresText: String
        public var line: Int?

        var json: JSON {
            ["control": .string(control), "reason": .string(reason), "approved_by": .string(approvedBy), "expires": .string(expiresText)]
        }
    }

    /// The last review of who may access the weights (ACC-015): the Code asks for one at least
    /// every six months (Appendix 4.3(1)).
    public struct AccessReview: Sendable, Hashable {
        /// The day of the review, as written (`2026-10-01`).
        public var reviewedAt: String
        public var reviewer: String
        public var line: Int?

        var json: JSON { ["reviewed_at": .string(reviewedAt), "reviewer": .string(reviewer)] }
    }

    public var role: Role?
    public var environment: Environment = .production
    public var containers: Bool = false
    public var weightsPaths: [String]?
    public var weightsOwner: String?
    public var weightsGroup: String?
    public var allowedPrincipals: [String] = []
    public var canary: [String] = []
    public var scanRoots: [String]?
    public var minSize: Int64 = 1 << 20
    public var allowedListeners: [String]?
    public var edrUnits: [String] = []
    public var weightsUnits: [String] = []
    /// Units of vendor agents that run commands for a third party (RMM, backup), which must be
    /// neither enabled nor running (EXF-008).
    public var forbiddenAgents: [String] = []
    /// The network IDS that watches this host's traffic, as the site describes it (INT-005):
    /// Warden cannot see it from the host, so it asks a reviewer to check it.
    public var networkIDS: String?
    /// Units the host may enable beyond the Debian baseline and the weights' and EDR units
    /// (HRD-012).
    public var allowedUnits: [String] = []
    /// Containers, by name or id, that may run on the host (HRD-012).
    public var allowedContainers: [String] = []
    /// The group whose members may reach weights directly in an emergency (ACC-001, ACC-003).
    public var breakGlassGroup: String?
    public var accessReview: AccessReview?
    /// The longest a human account may stay valid without renewal, in days (ACC-007).
    public var renewalDays: Int = Site.defaultRenewalDays
    /// The key service that releases volume keys only after attesting the host, as the site
    /// describes it (ENC-004): Warden cannot see it, so it asks a reviewer to check it.
    public var attestedKeyService: String?
    /// Software the site forbids on this host (INT-007, RAND SL3 "problematic software is
    /// blocklisted"): Debian package names, also looked for as executables on the standard PATH.
    /// Nil when the file gives no list.
    public var softwareDenylist: [String]?
    public var waivers: [Waiver] = []
    /// SHA-256 of the file's bytes.
    public var sha256: String = ""
    public var file: String = ""

    public init() {}

    public static let defaultScanRoots = ["/home", "/root", "/tmp", "/var/tmp", "/dev/shm", "/srv", "/opt", "/data", "/mnt", "/var/lib"]

    /// Site fields that a check may compare against (`{site: weights.owner}`).
    public static let knownPaths: Set<String> = [
        "role", "containers", "weights.paths", "weights.owner", "weights.group", "weights.allowed_principals",
        "weights.canary", "weights.scan_roots", "weights.min_size", "network.allowed_listeners",
        "services.edr_units", "services.weights_units", "environment", "weights.break_glass_group", "access.renewal_days",
        "encryption.attested_key_service", "services.forbidden_agents", "services.network_ids",
        "services.allowed_units", "services.allowed_containers", "software.denylist",
    ]

    /// The site as a fact (`site`), so that findings carry everything evaluation used. Fields the
    /// file does not set are absent.
    public var json: JSON {
        func strings(_ a: [String]) -> JSON { .array(a.map { .string($0) }) }
        var weights: JSONObject = ["allowed_principals": strings(allowedPrincipals), "canary": strings(canary), "min_size": .int(minSize)]
        if let weightsPaths { weights["paths"] = strings(weightsPaths) }
        if let weightsOwner { weights["owner"] = .string(weightsOwner) }
        if let weightsGroup { weights["group"] = .string(weightsGroup) }
        if let scanRoots { weights["scan_roots"] = strings(scanRoots) }
        if let breakGlassGroup { weights["break_glass_group"] = .string(breakGlassGroup) }
        if let accessReview { weights["access_review"] = accessReview.json }
        var network: JSONObject = [:]
        if let allowedListeners { network["allowed_listeners"] = strings(allowedListeners) }
        var o: JSONObject = [
            "containers": .bool(containers), "weights": .object(weights), "network": .object(network),
            "services": [
                "edr_units": strings(edrUnits), "weights_units": strings(weightsUnits), "forbidden_agents": strings(forbiddenAgents),
                "allowed_units": strings(allowedUnits), "allowed_containers": strings(allowedContainers),
            ],
            "waivers": .array(waivers.map(\.json)), "sha256": .string(sha256),
            "environment": .string(environment.rawValue), "access": ["renewal_days": .int(Int64(renewalDays))],
        ]
        if let role { o["role"] = .string(role.rawValue) }
        if let attestedKeyService { o["encryption"] = ["attested_key_service": .string(attestedKeyService)] }
        if let softwareDenylist { o["software"] = ["denylist": strings(softwareDenylist)] }
        if let networkIDS, case .object(var services)? = o["services"] {
            services["network_ids"] = .string(networkIDS)
            o["services"] = .object(services)
        }
        return .object(o)
    }

    /// Parses a site file. Every error names the file, line, column and field.
    public static func parse(_ text: String, file: String, digester: Digester) throws(WardenError) -> Site {
        var site = Site()
        site.file = file
        site.sha256 = try digester.sha256Hex(Array(text.utf8))
        let root = try YNode.parse(text, file: file)
        let f = try root.fields(
            allowed: [
                "role", "environment", "containers", "weights", "network", "services", "access", "encryption", "waivers", "software",
            ])
        if let r = f["role"] {
            let s = try r.string()
            guard let role = Role(rawValue: s) else {
                throw r.error("unknown role '\(s)' (expected \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            site.role = role
        }
        if let e = f["environment"] {
            let s = try e.string()
            guard let environment = Environment(rawValue: s) else {
                throw e.error("unknown environment '\(s)' (expected \(Environment.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            site.environment = environment
        }
        site.containers = try f["containers"]?.bool() ?? false
        if let w = f["weights"] {
            let wf = try w.fields(
                allowed: [
                    "paths", "owner", "group", "allowed_principals", "canary", "scan_roots", "min_size", "break_glass_group",
                    "access_review",
                ])
            if let p = wf["paths"] { site.weightsPaths = try absolutePaths(p) }
            site.weightsOwner = try wf["owner"]?.nonEmptyString()
            site.weightsGroup = try wf["group"]?.nonEmptyString()
            site.allowedPrincipals = try wf["allowed_principals"]?.strings() ?? []
            if let c = wf["canary"] { site.canary = try absolutePaths(c) }
            if let s = wf["scan_roots"] { site.scanRoots = try absolutePaths(s) }
            if let m = wf["min_size"] { site.minSize = try size(m) }
            site.breakGlassGroup = try wf["break_glass_group"]?.nonEmptyString()
            if let r = wf["access_review"] { site.accessReview = try accessReview(r) }
        }
        if let n = f["network"] {
            let nf = try n.fields(allowed: ["allowed_listeners"])
            if let l = nf["allowed_listeners"] {
                var listeners: [String] = []
                for item in try l.list() {
                    let s = try item.string()
                    let port = s.hasPrefix("tcp/") || s.hasPrefix("udp/") ? s.dropFirst(4) : ""
                    guard (1...5).contains(port.utf8.count), port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(port),
                        n <= 65535
                    else {
                        throw item.error("a listener is written like tcp/22 or udp/123, found '\(s)'")
                    }
                    listeners.append(s)
                }
                site.allowedListeners = listeners
            }
        }
        if let s = f["services"] {
            let sf = try s.fields(allowed: [
                "edr_units", "weights_units", "forbidden_agents", "network_ids", "allowed_units", "allowed_containers",
            ])
            site.edrUnits = try sf["edr_units"]?.strings() ?? []
            site.weightsUnits = try sf["weights_units"]?.strings() ?? []
            site.forbiddenAgents = try sf["forbidden_agents"]?.strings() ?? []
            site.networkIDS = try sf["network_ids"]?.nonEmptyString()
            site.allowedUnits = try sf["allowed_units"]?.strings() ?? []
            site.allowedContainers = try sf["allowed_containers"]?.strings() ?? []
        }
        if let a = f["access"] {
            let af = try a.fields(allowed: ["renewal_days"])
            if let r = af["renewal_days"] {
                let days = try r.int()
                guard days >= 1, days <= 3660 else { throw r.error("expected a number of days from 1 to 3660, found \(days)") }
                site.renewalDays = days
            }
        }
        if let e = f["encryption"] {
            let ef = try e.fields(allowed: ["attested_key_service"])
            site.attestedKeyService = try ef["attested_key_service"]?.nonEmptyString()
        }
        if let sw = f["software"] {
            let swf = try sw.fields(allowed: ["denylist"])
            if let d = swf["denylist"] { site.softwareDenylist = try packageNames(d) }
        }
        if let ws = f["waivers"] {
            for item in try ws.list() {
                let wf = try item.fields(
                    allowed: ["control", "reason", "approved_by", "expires"], required: ["control", "reason", "approved_by", "expires"])
                let c = try wf.required("control")
                let control = try c.string()
                guard ControlDefinition.isID(control) else { throw c.error("'\(control)' is not a control id like ACC-004") }
                let e = try wf.required("expires")
                let expiresText = try e.string()
                guard let expires = Timestamp(rfc3339: expiresText, dateMeansEndOfDay: true) else {
                    throw e.error("expected a date (2027-01-31) or an RFC 3339 time, found '\(expiresText)'")
                }
                site.waivers.append(
                    Waiver(
                        control: control, reason: try wf.required("reason").nonEmptyString(),
                        approvedBy: try wf.required("approved_by").nonEmptyString(),
                        expires: expires, expiresText: expiresText, line: item.line))
            }
        }
        return site
    }

    /// `{reviewed_at: YYYY-MM-DD, reviewer: NAME}`, both required. The date must be a real
    /// calendar day written with four, two and two digits: a YAML 1.1 reader would take an
    /// unquoted date as text anyway, and a time of day would claim a precision no review has.
    private static func accessReview(_ y: YNode) throws(WardenError) -> AccessReview {
        let f = try y.fields(allowed: ["reviewed_at", "reviewer"], required: ["reviewed_at", "reviewer"])
        let d = try f.required("reviewed_at")
        let date = try d.string()
        let digits = date.utf8.enumerated().allSatisfy { i, c in i == 4 || i == 7 ? c == UInt8(ascii: "-") : (c >= 0x30 && c <= 0x39) }
        guard date.utf8.count == 10, digits, let t = Timestamp(rfc3339: date), String(t.description.prefix(10)) == date else {
            throw d.error("expected the review's date as YYYY-MM-DD (2026-10-01), found '\(date)'")
        }
        return AccessReview(reviewedAt: date, reviewer: try f.required("reviewer").nonEmptyString(), line: y.line)
    }

    /// Debian package names as Debian policy (5.6.1) allows them: lower-case letters, digits,
    /// `+`, `-` and `.`, at least two characters, starting with a letter or digit. The same name
    /// is looked for as a file in the PATH directories, so nothing else (no `/`) may pass.
    private static func packageNames(_ y: YNode) throws(WardenError) -> [String] {
        var out: [String] = []
        for item in try y.list() {
            let name = try item.string()
            let bytes = Array(name.utf8)
            func allowed(_ c: UInt8) -> Bool {
                (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
                    || c == UInt8(ascii: ".")
            }
            guard bytes.count >= 2, bytes.allSatisfy(allowed), let first = bytes.first, allowed(first), first != UInt8(ascii: "+"),
                first != UInt8(ascii: "-"), first != UInt8(ascii: ".")
            else {
                throw item.error(
                    "'\(name)' is not a Debian package name (lower-case letters, digits, '+', '-' and '.', at least two characters, starting with a letter or digit)"
                )
            }
            out.append(name)
        }
        return out
    }

    private static func absolutePaths(_ y: YNode) throws(WardenError) -> [String] {
        var out: [String] = []
        for item in try y.list() {
            let p = try item.string()
            guard p.hasPrefix("/") else { throw item.error("'\(p)' must be an absolute path") }
            out.append(p)
        }
        return out
    }

    private static func size(_ y: YNode) throws(WardenError) -> Int64 {
        if case .int(let i) = try y.json() {
            guard i >= 0 else { throw y.error("a size cannot be negative") }
            return i
        }
        let s = try y.string()
        // Digits, optional white space, an optional unit.
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        let unitText = s.dropFirst(digits.count).drop { $0.isWhitespace }
        let unit: Int64? =
            switch unitText {
            case "", "B": 1
            case "K", "KiB": 1 << 10
            case "M", "MiB": 1 << 20
            case "G", "GiB": 1 << 30
            default: nil
            }
        guard let unit, let n = Int64(digits) else {
            throw y.error("expected a size like 1048576 or 1MiB, found '\(s)'")
        }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: unit)
        guard !overflow else { throw y.error("the size '\(s)' is larger than \(Int64.max) bytes") }
        return bytes
    }
}
