import Glibc
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenTestSupport

/// docs/FACTS.md is generated from the declarations and the catalog; this keeps it current.
/// `WARDEN_WRITE_FACTS_MD=1 swift test --filter FactsDoc` rewrites it.
@Suite struct FactsDocTests {
    @Test func factsDocIsCurrent() throws {
        let rendered = FactsDoc.render(catalog: try BuiltIn.catalog())
        if let v = getenv("WARDEN_WRITE_FACTS_MD"), String(cString: v) == "1" {
            try LocalFile.write(Array(rendered.utf8), to: FactsDoc.path)
            return
        }
        let current = (try? LocalFile.readText(FactsDoc.path)) ?? ""
        guard current != rendered else { return }
        let old = current.split(separator: "\n", omittingEmptySubsequences: false)
        let new = rendered.split(separator: "\n", omittingEmptySubsequences: false)
        var diff: [String] = []
        for i in 0..<max(old.count, new.count) where diff.count < 40 {
            let a = i < old.count ? String(old[i]) : nil
            let b = i < new.count ? String(new[i]) : nil
            guard a != b else { continue }
            if let a { diff.append("\(i + 1)- \(a)") }
            if let b { diff.append("\(i + 1)+ \(b)") }
        }
        Issue.record(
            "docs/FACTS.md is not what the declarations and the catalog give; run `WARDEN_WRITE_FACTS_MD=1 swift test --filter FactsDoc` and commit it. First differences (- file, + generated):\n\(diff.joined(separator: "\n"))"
        )
    }
}
