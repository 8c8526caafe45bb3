import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct EvaluatorTests {
    /// One control with the given check, in a profile of its own.
    func evaluate(
        check: String, parameters: String = "", params: String = "", facts: [String: Fact],
        advisory: Bool = false, site: JSON = .null, now: String = "2026-11-29T12:00:00Z", known: Set<String> = ["f", "site"]
    ) throws -> Finding {
        let controls = """
            controls:
              - id: HRD-001
                title: T
                area: hardening
                severity: high
                rationale: R
                references: {}
            \(parameters.isEmpty ? "" : "    parameters:\n" + parameters)
                check:
            \(check.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
                remediation: fix it
            """
        let catalog = try Catalog.load(files: [("c.yaml", controls)], knownFacts: known, digester: .libcrypto)
        let profile =
            "id: p\ntitle: P\nversion: \"1\"\ncontrols:\n  HRD-001: {advisory: \(advisory)\(params.isEmpty ? "" : ", parameters: {\(params)}")}\n"
        let resolved = try ProfileLoader.resolve("p", catalog: catalog, digester: .libcrypto) {
            (_: String, _: String?) throws(WardenError) in ("p.yaml", profile)
        }
        var set = FactSet(mode: .offline, facts: facts)
        set["site"] = .value(site)
        let finding = Evaluator.evaluate(resolved, facts: set, now: Timestamp(rfc3339: now)!)[0]
        // The status-only mode of the evaluator (bundles, fleets: it stops at the first part that
        // decides a node and builds no evidence) must always agree with the detailed mode.
        let status = EvaluationPlan([resolved]).statuses(facts: set, now: Timestamp(rfc3339: now)!)[0][0]
        #expect(status == finding.status, "status-only \(status) vs detailed \(finding.status) for \(check)")
        return finding
    }

    /// ENC-006's shape: every resume= entry is harmless when all swap is memory or encrypted.
    static let resumeCheck = """
        every: f.resume
        expect:
          any:
            - {fact: .configured, eq: false, describe: resume=}
            - {fact: f.swap_safe, eq: true, describe: all swap in memory or encrypted}
        if_empty: error
        empty_reason: no kernel command line to look for resume=
        """

    /// An unknown part never masks an alternative that decides on its own (issue 14, item 7).
    @Test(arguments: [
        // The list could not be read offline; the alternative outside the item decides.
        (Fact.unavailable(.notChecked("no /proc/cmdline offline")), true, Status.pass),
        (Fact.unavailable(.error("cannot read /proc/cmdline")), true, .pass),
        // Without the alternative, the unknown list stays unknown.
        (Fact.unavailable(.notChecked("no /proc/cmdline offline")), false, .notChecked),
        (Fact.unavailable(.error("cannot read /proc/cmdline")), false, .error),
    ])
    func aQuantifierOverAnUnreadableListIsDecidedByAnAlternativeOutsideIt(resume: Fact, swapSafe: Bool, status: Status) throws {
        let facts: [String: Fact] = ["f": .value(["swap_safe": .bool(swapSafe)])]
        // The list is a fact of its own, so that it can be unavailable alone.
        let finding = try evaluate(
            check: Self.resumeCheck.replacingFirst("f.resume", with: "r.entries"),
            facts: facts.merging(["r": resume]) { $1 }, known: ["f", "r", "site"])
        #expect(finding.status == status, "\(finding.summary)")
        if status == .pass {
            #expect(finding.summary.contains("could not be read") && finding.summary.contains("not needed"), "\(finding.summary)")
            #expect(
                finding.evidence.contains { $0.ok == true && $0.expected.contains("all swap in memory or encrypted") },
                "\(finding.evidence)")
        }
    }

    @Test(arguments: [(true, Status.pass), (false, .error)])
    func anEmptyListThatMeansUnknownIsDecidedTheSameWay(swapSafe: Bool, status: Status) throws {
        let facts: [String: Fact] = ["f": .value(["resume": [], "swap_safe": .bool(swapSafe)])]
        let finding = try evaluate(check: Self.resumeCheck, facts: facts)
        #expect(finding.status == status, "\(finding.summary)")
        if status == .error { #expect(finding.summary == "no kernel command line to look for resume=") }
    }

    /// A list a probe could not read offline is stated as `{"not_checked": why}`: the quantifier
    /// over it is `not_checked` with that reason, not "object, not a list" (EXF-002 offline).
    @Test func aListStatedAsNotCheckedIsNotChecked() throws {
        let check = "every: f.domains\nexpect: {fact: .authorized, eq: false}\nif_empty: pass\nempty_reason: none"
        let finding = try evaluate(check: check, facts: ["f": .value(["domains": ["not_checked": "no /sys/bus/thunderbolt offline"]])])
        #expect(finding.status == .notChecked)
        #expect(finding.summary.contains("no /sys/bus/thunderbolt offline"), "\(finding.summary)")
    }

    @Test func itemsStillDecideWhenTheyAreKnown() throws {
        let resume: JSON = [["configured": true, "source": "/proc/cmdline"]]
        #expect(try evaluate(check: Self.resumeCheck, facts: ["f": .value(["resume": resume, "swap_safe": false])]).status == .fail)
        #expect(try evaluate(check: Self.resumeCheck, facts: ["f": .value(["resume": resume, "swap_safe": true])]).status == .pass)
    }

    @Test(arguments: [
        // none: an expectation no item can meet passes without the items.
        ("none: r.entries\nexpect: {fact: f.allowed, eq: true}\nif_empty: error\nempty_reason: unknown", false, Status.pass),
        ("none: r.entries\nexpect: {fact: f.allowed, eq: true}\nif_empty: error\nempty_reason: unknown", true, .notChecked),
        // some: an expectation no item can meet fails without the items.
        ("some: r.entries\nexpect: {fact: f.allowed, eq: true}\nif_empty: error\nempty_reason: unknown", false, .fail),
        ("some: r.entries\nexpect: {fact: f.allowed, eq: true}\nif_empty: error\nempty_reason: unknown", true, .notChecked),
        // all/any around an unknown leaf: Kleene logic.
        ("all:\n  - {fact: r.x, eq: 1}\n  - {fact: f.allowed, eq: true}", false, .fail),
        ("any:\n  - {fact: r.x, eq: 1}\n  - {fact: f.allowed, eq: true}", true, .pass),
        ("any:\n  - {fact: r.x, eq: 1}\n  - {fact: f.allowed, eq: true}", false, .notChecked),
    ])
    func otherQuantifiersAndConnectivesFollowThreeValuedLogic(check: String, allowed: Bool, status: Status) throws {
        let finding = try evaluate(
            check: check, facts: ["f": .value(["allowed": .bool(allowed)]), "r": .unavailable(.notChecked("offline"))],
            known: ["f", "r", "site"])
        #expect(finding.status == status, "\(check): \(finding.summary)")
    }

    @Test func leafPassAndFailCarryEvidence() throws {
        let facts: [String: Fact] = ["f": .value(["x": ["value": 2, "source": "/etc/x.conf:3"]])]
        let pass = try evaluate(check: "fact: f.x\ngte: 2", facts: facts)
        #expect(pass.status == .pass)
        #expect(pass.evidence == [Observation(source: "/etc/x.conf:3", observed: 2, expected: "x ≥ 2", ok: true)])
        let fail = try evaluate(check: "fact: f.x\ngte: 3", facts: facts)
        #expect(fail.status == .fail)
        #expect(fail.summary == "x is 2, expected ≥ 3")
    }

    /// HRD-014's shape: two alternatives over one item. Each failed line keeps the alternative it
    /// checked and names the other, so the two lines for `/` are not the same line twice.
    @Test func failedAlternativesKeepTheirOwnExpectation() throws {
        let check = """
            some: f.mounts
            expect:
              any:
                - {fact: .read_only, eq: true, describe: mounted read-only}
                - {fact: .verity, eq: true, describe: on a dm-verity device}
            if_empty: error
            empty_reason: no mounts
            """
        let mount: JSON = ["path": "/", "read_only": false, "verity": false, "source": "/proc/self/mountinfo:1"]
        let fail = try evaluate(check: check, facts: ["f": .value(["mounts": [mount]])])
        #expect(fail.status == .fail)
        #expect(
            fail.evidence == [
                Observation(
                    source: "/proc/self/mountinfo:1", observed: false, expected: "mounted read-only (or: on a dm-verity device)", ok: false,
                    subject: "/"),
                Observation(
                    source: "/proc/self/mountinfo:1", observed: false, expected: "on a dm-verity device (or: mounted read-only)", ok: false,
                    subject: "/"),
            ])
        // A passing alternative's line is left as it is; the failed one still names the other.
        let verity: JSON = ["path": "/", "read_only": false, "verity": true, "source": "/proc/self/mountinfo:1"]
        let pass = try evaluate(check: check, facts: ["f": .value(["mounts": [verity]])])
        #expect(pass.status == .pass)
        #expect(pass.evidence.map(\.expected) == ["mounted read-only (or: on a dm-verity device)", "on a dm-verity device"])
        // The alternative that was not needed is shown, not judged: no failed line on a pass.
        #expect(pass.evidence.map(\.ok) == [nil, true])
    }

    /// `none` forbids what its expectation describes: a matching item's line is the failure, and
    /// an item that does not match is met, not shown as a failure on a passing finding.
    @Test func noneTurnsEachItemsEvidenceRound() throws {
        let check = """
            none: f.agents
            expect: {fact: .how, in: [enabled, running], describe: agent enabled or running}
            if_empty: pass
            empty_reason: no agents
            """
        func agent(_ name: String, _ how: String) -> JSON { ["name": .string(name), "how": .string(how), "source": .string("/u/\(name)")] }
        let pass = try evaluate(check: check, facts: ["f": .value(["agents": [agent("a", "installed")]])])
        #expect(pass.status == .pass)
        #expect(
            pass.evidence == [
                Observation(
                    source: "/u/a", observed: "installed", expected: "no agent enabled or running one of [enabled, running]", ok: true,
                    subject: "a")
            ])
        let fail = try evaluate(check: check, facts: ["f": .value(["agents": [agent("a", "installed"), agent("b", "enabled")]])])
        #expect(fail.status == .fail)
        #expect(
            fail.evidence.map { [$0.subject ?? "", $0.expected, "\($0.ok!)"] } == [
                ["b", "no agent enabled or running one of [enabled, running]", "false"],
                ["a", "no agent enabled or running one of [enabled, running]", "true"],
            ])
    }

    /// `none` around `any` (the SSH Match-block controls): every alternative is forbidden, so a
    /// clear item's lines carry no "(or: …)" that would read as if the other were acceptable.
    @Test func noneAroundAnyForbidsEveryAlternative() throws {
        let check = """
            none: f.blocks
            expect:
              any:
                - {fact: .password, eq: "yes", describe: PasswordAuthentication}
                - {fact: .empty, eq: "yes", describe: PermitEmptyPasswords}
            if_empty: pass
            empty_reason: no Match block
            """
        let block: JSON = ["path": "Match User a", "password": "no", "empty": "no", "source": "/etc/ssh/sshd_config:9"]
        let pass = try evaluate(check: check, facts: ["f": .value(["blocks": [block]])])
        #expect(pass.status == .pass)
        #expect(pass.evidence.map(\.expected) == ["no PasswordAuthentication = yes", "no PermitEmptyPasswords = yes"])
        #expect(pass.evidence.map(\.ok) == [true, true])
    }

    @Test func unavailableFactIsErrorOnlineAndNotCheckedOffline() throws {
        let e = try evaluate(check: "fact: f.x\neq: 1", facts: ["f": .unavailable(.error("/proc/sys/x: Permission denied"))])
        #expect(e.status == .error)
        #expect(e.summary == "/proc/sys/x: Permission denied")
        let n = try evaluate(check: "fact: f.x\neq: 1", facts: ["f": .unavailable(.notChecked("no /proc"))])
        #expect(n.status == .notChecked)
    }

    @Test func missingPathIsAnErrorNeverAPass() throws {
        let f = try evaluate(check: "fact: f.nothing\nne: 1", facts: ["f": .value([:])])
        #expect(f.status == .error)
        #expect(f.summary.contains("no value at f.nothing"))
    }

    @Test func typeMismatchIsAnError() throws {
        let f = try evaluate(check: "fact: f.x\nlte: 4", facts: ["f": .value(["x": "lots"])])
        #expect(f.status == .error)
        #expect(f.summary.contains("cannot compare"))
    }

    @Test func emptyListFollowsItsStatedRule() throws {
        let check = "every: f.items\nexpect: {fact: .ok, eq: true}\nif_empty: error\nempty_reason: no weight locations registered or found"
        let f = try evaluate(check: check, facts: ["f": .value(["items": []])])
        #expect(f.status == .error)
        #expect(f.summary == "no weight locations registered or found")
    }

    @Test func itemErrorsAndFailuresCombine() throws {
        let check = "every: f.items\nexpect: {fact: .ok, eq: true}\nif_empty: error"
        let items: JSON = ["items": [["path": "/a", "ok": true], ["path": "/b", "error": "cannot stat"], ["path": "/c", "ok": false]]]
        let f = try evaluate(check: check, facts: ["f": .value(items)])
        // A definite failure outweighs an undecided item.
        #expect(f.status == .fail)
        #expect(f.summary == "/c: ok is false, expected = true")
        // The deciding item first, then the others (the errored item has no observation).
        #expect(f.evidence.map(\.source) == ["/c", "/a"])
        #expect(f.evidence.map(\.ok) == [false, true])
        let onlyError = try evaluate(
            check: check, facts: ["f": .value(["items": [["path": "/a", "ok": true], ["path": "/b", "error": "cannot stat"]]])])
        #expect(onlyError.status == .error)
        #expect(onlyError.summary == "/b: cannot stat")
    }

    /// A check on an absolute fact inside a quantifier is about that fact, not the item: its
    /// evidence names the fact's own source and no subject, and its messages name no item
    /// (HRD-005 checks systemd-coredump's Storage for each core_pattern that pipes to it).
    @Test func anAbsoluteFactInsideAQuantifierIsItsOwn() throws {
        let check = """
            every: f.patterns
            expect:
              all:
                - {fact: .value, starts_with: "|", describe: pattern}
                - {fact: f.storage, eq: none, describe: Storage}
            if_empty: error
            """
        let pattern: JSON = ["value": "|/lib/systemd/systemd-coredump", "source": "/etc/sysctl.d/50-coredump.conf:1"]
        let f = try evaluate(
            check: check,
            facts: ["f": .value(["patterns": [pattern], "storage": ["value": "external", "source": "/etc/systemd/coredump.conf:4"]])])
        #expect(f.status == .fail)
        #expect(f.summary == "Storage is external, expected = none")
        #expect(
            f.evidence == [
                Observation(
                    source: "/etc/sysctl.d/50-coredump.conf:1", observed: "|/lib/systemd/systemd-coredump",
                    expected: "pattern starts with |",
                    ok: true),
                Observation(source: "/etc/systemd/coredump.conf:4", observed: "external", expected: "Storage = none", ok: false),
            ])
        let absent = try evaluate(check: check, facts: ["f": .value(["patterns": [pattern]])])
        #expect(absent.status == .error)
        #expect(absent.summary == "no value at f.storage")
    }

    @Test func noneQuantifierFailsOnAMatchingItem() throws {
        let check = "none: f.blocks\nwhere: {fact: .v, exists: true}\nexpect: {fact: .v, eq: \"yes\"}\nif_empty: pass"
        let bad = try evaluate(check: check, facts: ["f": .value(["blocks": [["source": "a:1"], ["source": "a:7", "v": "yes"]]])])
        #expect(bad.status == .fail)
        #expect(bad.evidence.first?.source == "a:7")
        let good = try evaluate(check: check, facts: ["f": .value(["blocks": [["source": "a:7", "v": "no"]]])])
        #expect(good.status == .pass)
        let empty = try evaluate(check: check, facts: ["f": .value(["blocks": []])])
        #expect(empty.status == .pass)
    }

    @Test func whenParameterSkipsANode() throws {
        let params = "      strict: {type: bool, description: d}\n"
        let check = "all:\n  - {fact: f.a, eq: 1}\n  - {fact: f.b, eq: 1, when: strict}"
        let facts: [String: Fact] = ["f": .value(["a": 1, "b": 0])]
        #expect(try evaluate(check: check, parameters: params, params: "strict: false", facts: facts).status == .pass)
        #expect(try evaluate(check: check, parameters: params, params: "strict: true", facts: facts).status == .fail)
    }

    @Test func siteOperandNotSetMakesTheNodeNotApplicable() throws {
        let check = "all:\n  - {fact: f.owner, eq: {site: weights.owner}}\n  - {fact: f.a, eq: 1}"
        let facts: [String: Fact] = ["f": .value(["owner": "root", "a": 1])]
        #expect(try evaluate(check: check, facts: facts).status == .pass)
        let site: JSON = ["weights": ["owner": "mlsvc"]]
        #expect(try evaluate(check: check, facts: facts, site: site).status == .fail)
        let fallback = "fact: f.owner\neq: {site: weights.owner, default: root}"
        #expect(try evaluate(check: fallback, facts: facts).status == .pass)
    }

    @Test func modeOperators() throws {
        let facts: [String: Fact] = ["f": .value(["m": "0644"])]
        #expect(try evaluate(check: "fact: f.m\nmode_at_most: \"0640\"", facts: facts).status == .fail)
        #expect(try evaluate(check: "fact: f.m\nmode_at_most: \"0644\"", facts: facts).status == .pass)
        #expect(try evaluate(check: "fact: f.m\nmode_lacks: \"0027\"", facts: facts).status == .fail)
        #expect(try evaluate(check: "fact: f.m\nmode_lacks: \"0022\"", facts: facts).status == .pass)
    }

    /// `at_most_days_ahead` (ACC-007's account expiry): a date no later than the evaluation time
    /// plus N days passes, a past date too; a later date fails, no date fails, a value that is
    /// not a date is an error. Both modes of the evaluator agree (`evaluate` checks it).
    @Test func aDateAtMostSomeDaysAhead() throws {
        let now = "2026-11-29T12:00:00Z"
        func status(_ observed: JSON, _ operand: String = "30", site: JSON = .null) throws -> Finding {
            try evaluate(
                check: "fact: f.expires\nat_most_days_ahead: \(operand)\ndescribe: account expiry",
                facts: ["f": .value(["expires": observed])],
                site: site, now: now)
        }
        #expect(try status("2026-12-29").status == .pass)  // 29.5 days ahead
        #expect(try status("2026-12-30").status == .fail)  // 30.5 days ahead
        #expect(try status("2026-12-29T12:00:00Z").status == .pass)  // exactly 30 days
        #expect(try status("2026-12-29T12:00:01Z").status == .fail)
        #expect(try status("1970-01-02").status == .pass)  // already expired: no access left
        let never = try status(.null)
        #expect(never.status == .fail)
        #expect(never.summary == "account expiry is not set, expected at most 30 days after 2026-11-29T12:00:00Z", "\(never.summary)")
        let late = try status("2027-06-01")
        #expect(late.summary == "account expiry is 2027-06-01, expected at most 30 days after 2026-11-29T12:00:00Z", "\(late.summary)")
        #expect(late.evidence.first?.expected == "account expiry at most 30 days after 2026-11-29T12:00:00Z")
        #expect(try status("soon").status == .error)
        #expect(try status(20_000).status == .error)
        // The number of days from the site file, with its default.
        let site: JSON = ["access": ["renewal_days": 183]]
        #expect(try status("2027-05-30", "{site: access.renewal_days}", site: site).status == .pass)
        #expect(try status("2027-06-01", "{site: access.renewal_days}", site: site).status == .fail)
        #expect(try status("2027-05-30", "{site: access.renewal_days, default: 30}").status == .fail)
    }

    /// `at_most_days_old` (INT-008's package lists): a date no earlier than the evaluation time
    /// less N days passes, a later one too; an older one fails, no date fails, a value that is not
    /// a date is an error. Both modes agree (`evaluate` checks it).
    @Test func aDateAtMostSomeDaysOld() throws {
        let now = "2026-11-29T12:00:00Z"
        func status(_ observed: JSON, _ operand: String = "7") throws -> Finding {
            try evaluate(
                check: "fact: f.date\nat_most_days_old: \(operand)\ndescribe: list date",
                facts: ["f": .value(["date": observed])], now: now)
        }
        #expect(try status("2026-11-22T12:00:00Z").status == .pass)  // exactly 7 days
        #expect(try status("2026-11-22T11:59:59Z").status == .fail)
        #expect(try status("2026-11-23").status == .pass)
        #expect(try status("2026-12-01").status == .pass)  // ahead of the evaluation time
        let old = try status("2026-11-01")
        #expect(old.status == .fail)
        #expect(old.summary == "list date is 2026-11-01, expected at most 7 days before 2026-11-29T12:00:00Z", "\(old.summary)")
        #expect(old.evidence.first?.expected == "list date at most 7 days before 2026-11-29T12:00:00Z")
        #expect(try status(.null).status == .fail)
        #expect(try status("last week").status == .error)
        #expect(throws: WardenError.self) { try status("2026-11-23", "\"7\"") }
    }

    @Test func aDateLimitNeedsANumberOfDays() throws {
        #expect(throws: WardenError.self) {
            try evaluate(check: "fact: f.expires\nat_most_days_ahead: \"30\"", facts: [:])
        }
    }

    @Test func waiverAppliesUntilItExpires() throws {
        let site: JSON = ["waivers": [["control": "HRD-001", "reason": "vendor kernel", "approved_by": "ciso", "expires": "2026-12-31"]]]
        let facts: [String: Fact] = ["f": .value(["a": 0])]
        let waived = try evaluate(check: "fact: f.a\neq: 1", facts: facts, site: site)
        #expect(waived.status == .waived)
        #expect(waived.waiver?.statusWithoutWaiver == .fail)
        #expect(waived.evidence.first?.observed == 0)
        let expired = try evaluate(check: "fact: f.a\neq: 1", facts: facts, site: site, now: "2027-01-01T00:00:00Z")
        #expect(expired.status == .fail)
        #expect(expired.waiver?.expired == true)
        #expect(expired.summary.contains("expired on 2026-12-31"))
        #expect(Summary([expired]).expiredWaivers == ["HRD-001"])
    }

    @Test func advisoryControlsDoNotDecideConformance() throws {
        let facts: [String: Fact] = ["f": .value(["a": 0])]
        let advisory = try evaluate(check: "fact: f.a\neq: 1", facts: facts, advisory: true)
        #expect(advisory.status == .fail)
        #expect(Summary([advisory]).verdict == .conformant)
        let verdict = try evaluate(check: "fact: f.a\neq: 1", facts: facts)
        #expect(Summary([verdict]).verdict == .nonconformant)
        let incomplete = try evaluate(check: "fact: f.a\neq: 1", facts: ["f": .unavailable(.notChecked("offline"))])
        #expect(Summary([incomplete]).verdict == .incomplete)
        #expect(Summary([incomplete]).verdict.exitCode == 2)
    }

    @Test func anyPassesWhenOneBranchPasses() throws {
        let check = "any:\n  - {fact: f.a, eq: 1}\n  - {fact: f.b, eq: 1}"
        #expect(try evaluate(check: check, facts: ["f": .value(["a": 0, "b": 1])]).status == .pass)
        #expect(try evaluate(check: check, facts: ["f": .value(["a": 0, "b": 0])]).status == .fail)
        #expect(try evaluate(check: check, facts: ["f": .value(["a": 0])]).status == .error)
    }

    @Test func factSetRoundTripsThroughJSON() throws {
        let set = FactSet(
            mode: .live, facts: ["a": .value(["x": [1, 2]]), "b": .unavailable(.notChecked("why"))], files: ["/etc/x": "ab"])
        #expect(try FactSet(json: JSON.parse(set.json.serialized())) == set)
    }
}

@Suite struct FactPathTests {
    @Test(arguments: [
        ("a.b.c", false, ["a", "b", "c"], "a.b.c"),
        (".encrypted", true, ["encrypted"], ".encrypted"),
        (
            "cmdline.parameters[\"module.sig_enforce\"]", false, ["cmdline", "parameters", "module.sig_enforce"],
            "cmdline.parameters[\"module.sig_enforce\"]"
        ),
        ("a[\"x.y\"].z", false, ["a", "x.y", "z"], "a[\"x.y\"].z"),
    ])
    func parses(text: String, relative: Bool, components: [String], description: String) throws {
        let p = try #require(FactPath(text))
        #expect(p.relative == relative)
        #expect(p.components == components)
        #expect(p.description == description)
    }

    @Test(arguments: ["", ".", "a..b", "a.", "a[\"x\"", "a[\"x\"]b", "a.[\"\"]"])
    func rejects(text: String) {
        #expect(FactPath(text) == nil)
    }
}
