import LocalFiles
import Testing
import WardenFormats
import WardenTestSupport

/// The HTML report printed as a reviewer prints it: headless Chromium to PDF on A4 landscape
/// (installed by Scripts/setup), read back page by page with pdftotext. Few pages, header rows
/// on every page of a table, no page ending on a heading, and every host and every control
/// that keeps a host from conforming in the text.
@Suite(.serialized) struct PrintTests {
    struct Printed {
        var pages: [String]
    }

    func printed(_ fleet: Fleet) throws -> Printed {
        let pdf = fleet.tree.path + "/report.pdf"
        let profile = fleet.tree.directory("chromium")
        let r = run(
            "/usr/bin/chromium",
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--user-data-dir=\(profile)",
                "--print-to-pdf=\(pdf)", "file://\(fleet.bundle)/report.html",
            ], timeout: 240)
        try #require(r.status == 0 && !r.timedOut, "chromium: \(r.stderr)")
        let info = run("/usr/bin/pdfinfo", [pdf]).stdout
        #expect(info.contains("Page size:       841.92 x 594.96 pts (A4)"), "A4 landscape: \(info)")
        let count = try #require(
            info.split(separator: "\n").first { $0.hasPrefix("Pages:") }.flatMap { Int($0.split(separator: " ").last ?? "") })
        let pages = (1...count).map { n in run("/usr/bin/pdftotext", ["-f", "\(n)", "-l", "\(n)", "-layout", pdf, "-"]).stdout }
        return Printed(pages: pages)
    }

    func check(_ fleet: Fleet, hosts: Int, atMost limit: Int) throws {
        let doc = try printed(fleet)
        #expect(doc.pages.count <= limit, "\(doc.pages.count) pages")
        let html = try LocalFile.readText(fleet.bundle + "/report.html")
        // The headings as printed (tags stripped).
        var headings: Set<String> = []
        for level in ["h1", "h2", "h3"] {
            for part in html.split(separator: "<\(level)>").dropFirst() {
                guard let end = part.firstRange(of: "</\(level)>") else { continue }
                headings.insert(Self.text(part[..<end.lowerBound]))
            }
        }
        let summary = try JSON.parse(try LocalFile.read(fleet.bundle + "/summary.json", limit: 64 << 20))
        let names = summary["hosts"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(names.count == hosts)
        for (n, page) in doc.pages.enumerated() {
            let lines = page.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
                .filter { !$0.isEmpty }
            guard let last = lines.last else { continue }
            #expect(!headings.contains(last), "page \(n + 1) ends on the heading '\(last)'")
            // A page with rows of a table has that table's header row.
            let matrixRow = lines.contains { line in
                names.contains { line.hasPrefix($0 + " ") } && (line.contains("✓") || line.contains("✗"))
            }
            if matrixRow {
                #expect(
                    lines.contains { $0.hasPrefix("Host ENC ACC LOG HRD INT EXF Verdict") }, "page \(n + 1): matrix rows without the header"
                )
            }
            let hostRow = lines.contains { line in
                names.contains { line.hasPrefix($0 + " ") } && line.split(separator: " ").contains { $0.count == 32 }
            }
            if hostRow {
                #expect(
                    lines.contains { $0.hasPrefix("Host Machine id Role Audited Finished") }, "page \(n + 1): host rows without the header")
            }
        }
        let all = doc.pages.joined(separator: "\n")
        for name in names { #expect(all.contains(name), "\(name) is not printed") }
        let blocking = (summary["controls"]?.arrayValue ?? []).filter { control in
            (control["results"]?.objectValue?.values ?? []).contains { result in
                result["advisory"] == false && ["fail", "error", "not_checked"].contains { (result["counts"]?[$0]?.intValue ?? 0) > 0 }
            }
        }.compactMap { $0["id"]?.stringValue }
        #expect(!blocking.isEmpty)
        for id in blocking { #expect(all.contains(id + " "), "\(id) keeps hosts from conforming and is not printed") }
    }

    static func text(_ html: Substring) -> String {
        var out = ""
        var inTag = false
        for c in html {
            if c == "<" { inTag = true } else if c == ">" { inTag = false } else if !inTag { out.append(c) }
        }
        return out.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    @Test func fiveHostsPrintOnAtMostEightPages() throws {
        try check(try Fleet(count: 5), hosts: 5, atMost: 8)
    }

    @Test func twoHundredHostsPrintOnAtMostSixtyPages() throws {
        try check(try Fleet(count: 200), hosts: 200, atMost: 60)
    }
}
