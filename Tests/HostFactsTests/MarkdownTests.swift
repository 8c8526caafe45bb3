import Testing
import WardenCore
import WardenTestSupport

@testable import Reports

/// The reports' Markdown read back by a CommonMark implementation (cmark-gfm, GitHub's, from
/// Debian): every control's remediation, in a paragraph as the report's "Remediation:" line and
/// in a table cell, gives back each of its code spans byte for byte, so that a reviewer who
/// copies a command from the rendered report copies the command.
@Suite struct MarkdownTests {
    /// The code spans of `text` as CommonMark reads them (runs of equal length open and close;
    /// a line break inside one is a space).
    static func codeSpans(_ text: String) -> [String] {
        let chars = Array(text)
        var spans: [String] = []
        var i = 0
        while i < chars.count {
            guard chars[i] == "`" else {
                i += 1
                continue
            }
            var run = 0
            while i + run < chars.count, chars[i + run] == "`" { run += 1 }
            var j = i + run
            var closed: Int?
            while j < chars.count {
                guard chars[j] == "`" else {
                    j += 1
                    continue
                }
                var other = 0
                while j + other < chars.count, chars[j + other] == "`" { other += 1 }
                if other == run {
                    closed = j
                    break
                }
                j += other
            }
            guard let end = closed else {
                i += run
                continue
            }
            var body = String(chars[(i + run)..<end].map { $0 == "\n" ? " " : $0 })
            if body.count > 2, body.hasPrefix(" "), body.hasSuffix(" "), body.contains(where: { $0 != " " }) {
                body = String(body.dropFirst().dropLast())
            }
            spans.append(body)
            i = end + run
        }
        return spans
    }

    /// The text of every `<code>` element of cmark-gfm's HTML, entities decoded.
    static func renderedCode(_ markdown: String) throws -> [String] {
        let tree = TempTree()
        let r = withExtendedLifetime(tree) { run("/usr/bin/cmark-gfm", ["-e", "table", tree.file("report.md", markdown)]) }
        try #require(r.status == 0, "cmark-gfm: \(r.stderr)")
        return code(inHTML: r.stdout)
    }

    static func code(inHTML html: String) -> [String] {
        var out: [String] = []
        var rest = Substring(html)
        while let open = rest.firstRange(of: "<code>") {
            guard let close = rest[open.upperBound...].firstRange(of: "</code>") else { break }
            let html = String(rest[open.upperBound..<close.lowerBound])
            out.append(Self.unescape(html))
            rest = rest[close.upperBound...]
        }
        return out
    }

    /// HTML text with cmark-gfm's four entities decoded.
    static func unescape(_ html: String) -> String {
        var out = ""
        var rest = Substring(html)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            rest = rest[amp...]
            let entity = [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&apos;", "'"), ("&amp;", "&")].first { rest.hasPrefix($0.0) }
            out += entity?.1 ?? "&"
            rest = rest.dropFirst(entity?.0.count ?? 1)
        }
        return out + rest
    }

    @Test func everyRemediationsCommandsReadBackAsWritten() throws {
        let catalog = try BuiltIn.catalog()
        var checked = 0
        for (id, control) in catalog.controls.sorted(by: { $0.key < $1.key }) {
            let expected = Self.codeSpans(control.remediation)
            guard !expected.isEmpty else { continue }
            let paragraph = "**Remediation:** \(BundleReport.mdEscape(control.remediation))\n"
            #expect(try Self.renderedCode(paragraph) == expected, "\(id) in a paragraph")
            let table = "| Control | Remediation |\n|---|---|\n| \(id) | \(BundleReport.mdEscape(control.remediation, inTable: true)) |\n"
            #expect(try Self.renderedCode(table) == expected, "\(id) in a table cell")
            // The HTML report writes the same spans as <code>, without backticks.
            #expect(Self.code(inHTML: BundleReport.hc(control.remediation)) == expected, "\(id) in HTML")
            #expect(!BundleReport.hc(control.remediation).contains("`"), "\(id) in HTML")
            checked += 1
        }
        #expect(checked >= 30, "most remediations name commands or files in code spans")
        // The cases that broke before: a pipe in a code span, and `<` outside and inside one.
        let tricky = "Run `grep -E 'a|b' /etc/x` then `echo <x>`; keep a < b | c."
        #expect(try Self.renderedCode("\(BundleReport.mdEscape(tricky))\n") == ["grep -E 'a|b' /etc/x", "echo <x>"])
        let cell = "| a | \(BundleReport.mdEscape(tricky, inTable: true)) |\n|---|---|\n"
        #expect(
            try Self.renderedCode("| h | i |\n|---|---|\n" + cell.split(separator: "\n")[0] + "\n") == ["grep -E 'a|b' /etc/x", "echo <x>"])
    }
}
