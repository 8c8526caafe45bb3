public import WardenCore
public import WardenFormats

/// SARIF 2.1.0 for code-scanning consumers: one rule per control of the profile, one result per
/// control that did not pass (levels: fail → error, error/not_checked → warning, advisory or
/// waived → note), located at the first evidence file.
public enum SARIFReport {
    public static let schema = "https://json.schemastore.org/sarif-2.1.0.json"

    public static func render(_ doc: FindingsDocument) -> JSON {
        let rules: [JSON] = doc.findings.map { f in
            [
                "id": .string(f.control),
                "name": .string(f.control.replacingDash()),
                "shortDescription": ["text": .string(f.title)],
                "help": ["text": .string(f.remediation)],
                "properties": [
                    "area": .string(f.area.rawValue), "severity": .string(f.severity.rawValue),
                    "tags": .array((["warden", f.area.rawValue] + f.references.nist).map { .string($0) }),
                ],
            ]
        }
        var results: [JSON] = []
        for (index, f) in doc.findings.enumerated() where ![.pass, .notApplicable].contains(f.status) {
            let level: String
            switch (f.status, f.advisory) {
            case (.fail, false): level = "error"
            case (.error, false), (.notChecked, false): level = "warning"
            default: level = "note"
            }
            var result: JSONObject = [
                "ruleId": .string(f.control), "ruleIndex": .int(index), "level": .string(level),
                "kind": .string(f.status == .fail ? "fail" : f.status == .manual ? "review" : "open"),
                "message": ["text": .string("\(f.status.rawValue): \(f.summary)")],
                "properties": ["status": .string(f.status.rawValue), "advisory": .bool(f.advisory)],
            ]
            if let path = f.evidence.lazy.compactMap({ SARIFReport.filePath($0.source) }).first {
                result["locations"] = [
                    [
                        "physicalLocation": [
                            "artifactLocation": ["uri": .string("file://" + path.file)],
                            "region": path.line.map { ["startLine": .int($0)] } ?? ["startLine": 1],
                        ]
                    ]
                ]
            }
            results.append(.object(result))
        }
        return [
            "$schema": .string(schema),
            "version": "2.1.0",
            "runs": [
                [
                    "tool": [
                        "driver": [
                            "name": "warden", "version": .string(doc.toolVersion),
                            "informationUri": "https://github.com/warden-audit/warden",
                            "rules": .array(rules),
                        ]
                    ],
                    "automationDetails": ["id": .string("warden/\(doc.profile.id)/\(doc.host["hostname"]?.stringValue ?? "host")")],
                    "results": .array(results),
                    "properties": ["profile": .string(doc.profile.id), "verdict": .string(doc.summary.verdict.rawValue)],
                ]
            ],
        ]
    }

    /// `/etc/ssh/sshd_config:12 …` → (path, 12); nil when the source is not an absolute path.
    static func filePath(_ source: String) -> (file: String, line: Int?)? {
        guard source.hasPrefix("/") else { return nil }
        let token = source.prefix { $0 != " " }
        if let colon = token.lastIndex(of: ":"), let line = Int(token[token.index(after: colon)...]) {
            return (String(token[..<colon]), line)
        }
        return (String(token), nil)
    }
}

extension String {
    /// `ACC-004` → `ACC004` (SARIF rule names are identifiers).
    func replacingDash() -> String { String(filter { $0 != "-" }) }
}
