internal import HostFacts
internal import WardenCore
internal import WardenFormats

/// Fuzz targets for the parsers of host files: each feeds the input to the parser the probe
/// uses, then touches what came out (serialises facts, runs lookups) so that a malformed value
/// that survives parsing is exercised too.
enum ParserTargets {
    static let sshdRoot = ScratchRoot(files: [
        "/usr/sbin/sshd": "",
        "/etc/ssh/sshd_config.d/50-cloud.conf": "PasswordAuthentication yes\nMatch User backup\n  PermitRootLogin yes\n",
        "/etc/pam.d/sshd": "@include common-auth\nauth required pam_u2f.so\n",
        "/etc/pam.d/common-auth": "auth [success=1 default=ignore] pam_unix.so nullok\n",
    ])

    static func sshdConfig(_ bytes: [UInt8]) {
        let context = sshdRoot.context(writing: bytes, to: "/etc/ssh/sshd_config")
        _ = FactSet(mode: .offline, facts: SSHDConfigProbe().collect(context)).json.serialized()
    }

    static let nftablesRoot = ScratchRoot(files: [
        "/usr/sbin/sshd": "",
        "/etc/ssh/sshd_config": "ListenAddress 10.0.0.1\nAllowUsers alice@10.1.* bob\n",
        "/etc/nftables.d/10-out.nft": "add rule inet filter output ip daddr 10.0.0.53 udp dport 53 accept\n",
        "/etc/nftables.d/self.nft": "include \"/etc/nftables.d/self.nft\"\n",
        "/srv/rel.nft": "table ip t { chain c { type filter hook input priority 0; policy drop; jump c; }; }\n",
    ])

    static func nftables(_ bytes: [UInt8]) {
        let context = nftablesRoot.context(writing: bytes, to: "/etc/nftables.conf")
        _ = FactSet(mode: .offline, facts: NetworkPolicyProbe().collect(context)).json.serialized()
    }

    static let pamRoot = ScratchRoot(files: [
        "/etc/pam.d/common-auth":
            "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n",
        "/etc/pam.d/fido": "auth [success=done default=die] pam_u2f.so cue\nsession required pam_tty_audit.so enable=*\n",
        "/etc/pam.d/self": "@include self\nauth required pam_u2f.so\n",
    ])

    static func pamD(_ bytes: [UInt8]) {
        let context = pamRoot.context(writing: bytes, to: "/etc/pam.d/sshd")
        _ = PAMStack.requires(context.root, service: "sshd", type: "auth", .succeeds, where: PAMStack.isU2F).serialized()
        _ = PAMStack.requires(context.root, service: "sshd", type: "session", .runs, where: PAMStack.isTTYAuditEnable).serialized()
    }

    static func sysctl(_ bytes: [UInt8]) {
        var values: [String: SysctlProbe.Assignment] = [:]
        var problems: [String] = []
        SysctlProbe.parse(text(bytes), file: "/etc/sysctl.d/99-fuzz.conf", into: &values, problems: &problems)
        for key in SysctlProbe.keys { _ = values[key]?.value }
    }

    /// A dpkg control file (the status database, a package list, a Release file): every version
    /// dpkg's order is given must be ordered consistently (reflexive, antisymmetric with the one
    /// before it) and read back the same from its own text.
    static func dpkgControl(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let stanzas = try? Deb822.stanzas(bytes, keeping: ["Package", "Version", "Architecture", "Status"]) else { return }
        var previous: DebianVersion?
        for s in stanzas {
            try require(s.line >= 1, "stanza line \(s.line)")
            guard let v = s.fields["Version"].flatMap({ DebianVersion($0) }) else { continue }
            try require(DebianVersion.compare(v, v) == 0, "\(v) is not equal to itself")
            let again = DebianVersion(v.description)
            try require(again.map { DebianVersion.compare($0, v) == 0 } == true, "\(v) does not read back from its text")
            if let p = previous {
                let a = DebianVersion.compare(p, v)
                let b = DebianVersion.compare(v, p)
                try require((a < 0) == (b > 0) && (a == 0) == (b == 0), "\(p) and \(v) are ordered both ways")
            }
            previous = v
        }
    }

    static let aptRoot = ScratchRoot(files: [
        "/etc/apt/apt.conf.d/01autoremove": "APT { NeverAutoRemove { \"^linux-image.*\"; }; };\n",
        "/etc/apt/apt.conf": "APT::Periodic::Enable \"1\";\n",
    ])

    static func aptConf(_ bytes: [UInt8]) throws(InvariantViolation) {
        let context = aptRoot.context(writing: bytes, to: "/etc/apt/apt.conf.d/20auto-upgrades")
        let conf = AptConf.read(context.root)
        for (name, v) in conf.values {
            try require(name == name.lowercased(), "\(name) is kept with its case")
            try require(v.source.hasPrefix("/etc/apt/apt.conf"), "\(name) comes from \(v.source)")
        }
        _ = PatchProbe.intervalSeconds(conf["APT::Periodic::Unattended-Upgrade"]?.value ?? "0")
    }

    static let aptSourcesRoot = ScratchRoot(files: ["/etc/apt/sources.list": "deb http://deb.debian.org/debian bookworm main\n"])

    /// The same bytes as a one-line file and as a deb822 file: every entry read has a verdict and
    /// names its file.
    static func aptSources(_ bytes: [UInt8]) throws(InvariantViolation) {
        for file in ["/etc/apt/sources.list.d/fuzz.list", "/etc/apt/sources.list.d/fuzz.sources"] {
            let context = aptSourcesRoot.context(writing: bytes, to: file)
            guard case .value(let fact)? = PackageSigningProbe().collect(context)["package_signing"] else {
                throw InvariantViolation(message: "package_signing was not collected")
            }
            for item in fact["apt_sources"]?.arrayValue ?? [] where item["error"] == nil {
                try require(item["unauthenticated"]?["value"]?.boolValue != nil, "an entry without a verdict: \(item)")
                try require(item["unauthenticated"]?["source"]?.stringValue?.hasPrefix("/etc/apt/sources.list") == true, "\(item)")
            }
        }
    }

    static func auditRules(_ bytes: [UInt8]) {
        var problems: [String] = []
        let rules = AuditRulesProbe().parse(text(bytes), file: "/etc/audit/rules.d/fuzz.rules", problems: &problems)
        _ = rules.count
    }

    static func auditdConf(_ bytes: [UInt8]) {
        var problems: [String] = []
        _ = JSON.object(AuditdProbe.parseConf(text(bytes), problems: &problems)).serialized()
    }

    static func modprobe(_ bytes: [UInt8]) {
        var rules = ModprobeProbe.Rules()
        var problems: [String] = []
        ModprobeProbe.parse(text(bytes), file: "/etc/modprobe.d/fuzz.conf", into: &rules, problems: &problems)
        for module in ModprobeProbe.modules { _ = rules.install[module]?.command }
    }

    /// Each line of a USBGuard rule file (USBGuardRule.parse): a rule it takes has a target the
    /// daemon knows and only attributes it knows, and what it allows can be judged.
    static func usbguardRules(_ bytes: [UInt8]) throws(InvariantViolation) {
        for line in text(bytes).split(separator: "\n", omittingEmptySubsequences: false) {
            guard let rule = try? USBGuardRule.parse(line) else { continue }
            try require(["allow", "block", "reject", "match", "device"].contains(rule.target), "target \(rule.target) of `\(line)`")
            let known: Set<String> = [
                "id", "name", "hash", "parent-hash", "serial", "via-port", "with-interface", "with-connect-type", "if", "label",
            ]
            try require(Set(rule.attributes.keys).isSubset(of: known), "attributes \(rule.attributes.keys.sorted()) of `\(line)`")
            try require(rule.attributes.values.allSatisfy { !$0.values.isEmpty }, "an attribute without a value in `\(line)`")
            _ = rule.allowsUnidentifiedHID
        }
    }

    static let sudoersRoot = ScratchRoot(files: [
        "/usr/bin/sudo": "",
        "/etc/hostname": "fuzzhost.example\n",
        "/etc/sudoers.d/90-ops": "%ops ALL=(ALL) NOPASSWD: /usr/bin/systemctl\nDefaults:ops !use_pty\n",
        "/etc/sudoers.d/fuzzhost": "Defaults log_output\n",
        "/var/lib/dpkg/status": "Package: sudo\nStatus: install ok installed\nVersion: 1.9.13p3-1+deb12u1\n",
    ])

    static func sudoers(_ bytes: [UInt8]) {
        let context = sudoersRoot.context(writing: bytes, to: "/etc/sudoers")
        _ = FactSet(mode: .offline, facts: SudoersProbe().collect(context)).json.serialized()
    }

    static func mountinfo(_ bytes: [UInt8]) {
        guard let table = try? MountTable.parse(text(bytes), source: "/proc/self/mountinfo") else { return }
        for path in ["/", "/srv/weights/model.safetensors", "/home", "/proc/self"] { _ = table.mount(containing: path)?.option("ro") }
    }

    static func procNetTCP(_ bytes: [UInt8]) {
        let input = text(bytes)
        for table in ["tcp", "tcp6", "udp", "udp6"] {
            var sockets: JSONObject = [:]
            var problems: [String] = []
            ListenersProbe.parse(input, path: "/proc/net/\(table)", base: "/proc/net", into: &sockets, problems: &problems)
            _ = JSON.object(sockets).serialized()
        }
    }

    static func luks(_ bytes: [UInt8]) {
        guard let needed = try? LUKSHeader.requiredLength(Array(bytes.prefix(LUKSHeader.binaryHeaderSize))) else { return }
        guard bytes.count >= needed, let header = try? LUKSHeader.parse(bytes) else { return }
        for segment in header.segments {
            let keyBytes = header.keyslots.first?.keySize
            _ = LUKSHeader.strength(cipher: segment.cipher ?? segment.type, keyBytes: keyBytes)
        }
    }

    static func posixACL(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let acl = try? PosixACL.decode(bytes) else { return }
        try require(acl.encoded == bytes, "an ACL that decodes must encode to the same bytes")
    }

    /// Each line as an authorized_keys line: a key that is read has a known algorithm, a size
    /// exactly when it is RSA (no more bits than the line has bytes), and a comment taken from the
    /// line; nothing of the key data is kept.
    static func sshKeys(_ bytes: [UInt8]) throws(InvariantViolation) {
        for line in text(bytes).split(separator: "\n") {
            guard case .success(let key) = SSHPublicKey.authorizedKeyLine(line) else { continue }
            try require(SSHPublicKey.blobTypes[key.type] == key.algorithm, "\(key.type) read as \(key.algorithm)")
            try require((key.rsaBits != nil) == (key.algorithm == "rsa"), "an RSA size on \(key.algorithm), or none on RSA")
            try require((key.rsaBits ?? 0) <= line.utf8.count * 8, "an RSA size larger than the line")
            var bytes = Array(line.utf8)
            while let last = bytes.last, [0x20, 0x09, 0x0D, 0x0A].contains(last) { bytes.removeLast() }
            let comment = Array(key.comment.utf8)
            try require(bytes.suffix(comment.count).elementsEqual(comment), "a comment that is not the end of the line")
            try require(key.json.count == (key.rsaBits == nil ? 3 : 4), "members beyond type, algorithm, comment and size")
        }
    }

    static func weights(_ bytes: [UInt8]) {
        _ = WeightRecognizer.recognize(MemorySource(bytes))
    }
}
