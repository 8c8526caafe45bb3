import HostFacts
import LocalFiles
import Testing
import WardenFuzzTargets
import WardenTestSupport

/// Every libFuzzer target's committed corpus (`Fuzz/Corpus/TARGET`, minimised by
/// `Scripts/fuzz --merge`) and the inputs of its past findings (`Fuzz/Regressions/TARGET`) run
/// through the target's harness, with the same checks as under libFuzzer: an input that traps
/// fails the run, one that breaks an invariant fails its target here with the file named.
@Suite struct FuzzCorpusReplayTests {
    static let corpus = Package.root + "/Fuzz/Corpus"
    static let regressions = Package.root + "/Fuzz/Regressions"

    @Test(arguments: FuzzTargets.all.map(\.name))
    func theCommittedCorpusAndPastFindingsReplay(target name: String) throws {
        let target = try #require(FuzzTargets.all.first { $0.name == name })
        let corpus = Self.files(Self.corpus + "/" + name)
        // A target renamed, or added without a campaign, must not pass by having nothing to run.
        #expect(!corpus.isEmpty, "\(Self.corpus)/\(name) holds no inputs: run a campaign, `Scripts/fuzz \(name)`")
        for file in corpus + Self.files(Self.regressions + "/" + name) {
            let bytes = try LocalFile.read(file)
            do {
                try target.run(bytes)
            } catch {
                Issue.record("\(file): \(error)")
            }
        }
    }

    /// A directory of inputs left behind by a renamed or removed target would never run.
    @Test func everyCorpusDirectoryBelongsToATarget() {
        let names = Set(FuzzTargets.all.map(\.name))
        for dir in [Self.corpus, Self.regressions] {
            for entry in LocalFile.list(dir) {
                #expect(names.contains(entry), "\(dir)/\(entry) is not the name of a fuzz target (Fuzz/Targets/FuzzTargets.swift)")
            }
        }
        #expect(LocalFile.list(Self.corpus).count == names.count)
    }

    /// Regular files of a directory, by path; none when it does not exist.
    static func files(_ dir: String) -> [String] {
        LocalFile.list(dir).map { dir + "/" + $0 }.filter { !LocalFile.isDirectory($0) }
    }
}
