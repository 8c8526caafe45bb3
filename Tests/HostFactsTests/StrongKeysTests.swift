import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// ACC-014: SSH host and authorized keys, password hashes and ENCRYPT_METHOD
/// (docs/DAEMON-SEMANTICS.md, "SSH key strength" and "Password hashes").
@Suite struct StrongKeysTests {
    // MARK: - Key lines made here (no key material is committed; only what a key line carries)

    /// Public key lines built from the wire format, so that a test can ask for any type and size.
    enum Keys {
        static func string(_ bytes: [UInt8]) -> [UInt8] {
            let n = bytes.count
            return [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
        }
        static func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }
        /// A positive mpint of exactly `bits` bits (leading zero byte, as OpenSSH writes it).
        static func mpint(bits: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0xA5, count: (bits + 7) / 8)
            let top = bits % 8 == 0 ? 8 : bits % 8
            bytes[0] = UInt8(1 << (top - 1)) | 0x01
            return string(bytes[0] & 0x80 != 0 ? [0] + bytes : bytes)
        }
        static func line(_ type: String, _ blob: [UInt8], comment: String) -> String {
            "\(type) \(Base64.encode(blob))" + (comment.isEmpty ? "" : " \(comment)")
        }
        static func rsa(bits: Int, comment: String = "rsa@test", word: String = "ssh-rsa") -> String {
            line(word, string("ssh-rsa") + string([1, 0, 1]) + mpint(bits: bits), comment: comment)
        }
        static func rsaCertificate(bits: Int) -> String {
            let type = "ssh-rsa-cert-v01@openssh.com"
            return line(
                type, string(type) + string([UInt8](repeating: 7, count: 32)) + string([1, 0, 1]) + mpint(bits: bits), comment: "cert")
        }
        static func dsa(comment: String = "dsa@test") -> String {
            line(
                "ssh-dss", string("ssh-dss") + mpint(bits: 1024) + mpint(bits: 160) + mpint(bits: 1024) + mpint(bits: 1024),
                comment: comment)
        }
        static func ed25519(comment: String = "ed@test") -> String {
            line("ssh-ed25519", string("ssh-ed25519") + string([UInt8](repeating: 3, count: 32)), comment: comment)
        }
        static func ecdsa(comment: String = "ec@test") -> String {
            let type = "ecdsa-sha2-nistp256"
            return line(type, string(type) + string("nistp256") + string([4] + [UInt8](repeating: 9, count: 64)), comment: comment)
        }
        static func skEd25519(comment: String = "sk@test") -> String {
            let type = "sk-ssh-ed25519@openssh.com"
            return line(type, string(type) + string([UInt8](repeating: 3, count: 32)) + string("ssh:"), comment: comment)
        }
    }

    // MARK: - The key reader

    @Test(arguments: [
        (Keys.rsa(bits: 2048), "ssh-rsa", "rsa", 2048 as Int?, "rsa@test"),
        (Keys.rsa(bits: 3072), "ssh-rsa", "rsa", 3072, "rsa@test"),
        (Keys.rsa(bits: 4095, comment: ""), "ssh-rsa", "rsa", 4095, ""),
        (Keys.rsa(bits: 4096, comment: "two words"), "ssh-rsa", "rsa", 4096, "two words"),
        // The first word may be a signature name or a short name; the blob says what the key is.
        (Keys.rsa(bits: 2048, word: "rsa-sha2-512"), "ssh-rsa", "rsa", 2048, "rsa@test"),
        (Keys.rsa(bits: 1024, word: "RSA"), "ssh-rsa", "rsa", 1024, "rsa@test"),
        (Keys.rsaCertificate(bits: 2048), "ssh-rsa-cert-v01@openssh.com", "rsa", 2048, "cert"),
        (Keys.dsa(), "ssh-dss", "dsa", nil, "dsa@test"),
        (Keys.ed25519(), "ssh-ed25519", "ed25519", nil, "ed@test"),
        (Keys.ecdsa(), "ecdsa-sha2-nistp256", "ecdsa", nil, "ec@test"),
        (Keys.skEd25519(), "sk-ssh-ed25519@openssh.com", "sk-ed25519", nil, "sk@test"),
    ])
    func keyTypeAndSizeComeFromTheWireData(line: String, type: String, algorithm: String, bits: Int?, comment: String) throws {
        let key = try SSHPublicKey.parse(Substring(line)).get()
        #expect(key == SSHPublicKey(type: type, algorithm: algorithm, rsaBits: bits, comment: comment))
    }

    @Test func authorizedKeysLinesWithOptionsAndUnreadableLines() {
        let withOptions = "from=\"10.0.0.0/8,host a\",no-pty,command=\"echo \\\"x y\\\"\" " + Keys.rsa(bits: 2048)
        #expect((try? SSHPublicKey.authorizedKeyLine(Substring(withOptions)).get())?.rsaBits == 2048)
        #expect((try? SSHPublicKey.authorizedKeyLine(Substring("cert-authority " + Keys.ed25519())).get())?.algorithm == "ed25519")
        // The word says RSA, the data says Ed25519: sshd refuses the line.
        let mismatch = "ssh-rsa " + Keys.ed25519().split(separator: " ")[1]
        guard case .failure(.unreadable(let why)) = SSHPublicKey.authorizedKeyLine(Substring(mismatch)) else {
            Issue.record("a type mismatch was read as a key")
            return
        }
        #expect(why.contains("another type"))
        #expect(SSHPublicKey.authorizedKeyLine("ssh-rsa AAAA!!!! bad") == .failure(.unreadable("ssh-rsa key data is not base64")))
        #expect(SSHPublicKey.authorizedKeyLine("no key here at all") == .failure(.noKeyType))
    }

    // MARK: - Facts: host keys and authorized_keys entries

    /// A minimal host with an OpenSSH server: `config` is sshd_config, `keys` maps a private key
    /// path to its .pub line (nil: no .pub), and alice's authorized_keys holds `authorized`.
    func host(
        config: String = "", keys: [String: String?], authorized: [String] = [], shadow: String? = nil,
        loginDefs: String? = "ENCRYPT_METHOD YESCRYPT\n"
    ) -> TempTree {
        let t = TempTree()
        t.file("usr/sbin/sshd", mode: 0o755)
        t.file("etc/ssh/sshd_config", config)
        t.file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n")
        t.file("etc/shadow", shadow ?? "root:*:19700:0:99999:7:::\nalice:!:19700:0:99999:7:::\n", mode: 0o640)
        if let loginDefs { t.file("etc/login.defs", loginDefs) }
        for (path, pub) in keys {
            t.file(String(path.dropFirst()), "placeholder: Warden never reads a private key\n", mode: 0o600)
            if let pub { t.file(String(path.dropFirst()) + ".pub", pub + "\n") }
        }
        if !authorized.isEmpty { t.file("home/alice/.ssh/authorized_keys", authorized.joined(separator: "\n") + "\n") }
        return t
    }

    func sshdFact(_ t: TempTree) throws -> JSON { try probeFact("sshd", of: SSHDConfigProbe(), root: t.path) }

    @Test func withoutHostKeyLinesSshdLoadsTheDefaultsThatExist() throws {
        let t = host(keys: [
            "/etc/ssh/ssh_host_rsa_key": Keys.rsa(bits: 3072, comment: "root@vm"), "/etc/ssh/ssh_host_ed25519_key": Keys.ed25519(),
        ])
        let keys = try #require(try sshdFact(t)["host_keys"]?.arrayValue)
        // The ECDSA default is missing, so sshd skips it.
        #expect(keys.map { $0["path"] } == ["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ed25519_key"])
        #expect(keys[0]["rsa_bits"] == 3072)
        #expect(keys[0]["source"] == "/etc/ssh/ssh_host_rsa_key.pub")
        #expect(keys[0]["configured_at"] == "default (OpenSSH)")
        #expect(keys[1]["algorithm"] == "ed25519")
        #expect(keys[1]["rsa_bits"] == nil)
    }

    @Test func everyHostKeyLineCountsAndAMissingPubIsAnError() throws {
        let t = host(
            config: "HostKey /etc/ssh/k_ed\nHostKey=/etc/ssh/k_dsa\nHostKey /etc/ssh/k_nopub\nHostKey /etc/ssh/k_gone\n",
            keys: ["/etc/ssh/k_ed": Keys.ed25519(), "/etc/ssh/k_dsa": Keys.dsa(), "/etc/ssh/k_nopub": nil])
        let keys = try #require(try sshdFact(t)["host_keys"]?.arrayValue)
        #expect(keys.map { $0["path"] } == ["/etc/ssh/k_ed", "/etc/ssh/k_dsa", "/etc/ssh/k_nopub"])
        #expect(keys.map { $0["configured_at"] } == ["/etc/ssh/sshd_config:1", "/etc/ssh/sshd_config:2", "/etc/ssh/sshd_config:3"])
        #expect(keys[1]["algorithm"] == "dsa")
        #expect(keys[2]["error"]?.stringValue?.contains("k_nopub.pub does not exist") == true)
    }

    @Test func authorizedKeysEntriesCarryTypeSizeAndCommentNeverTheKey() throws {
        let t = host(
            keys: ["/etc/ssh/ssh_host_ed25519_key": Keys.ed25519()],
            authorized: [
                "# a comment line", Keys.rsa(bits: 2048, comment: "alice@laptop"), "no-pty " + Keys.skEd25519(comment: ""), "garbage",
            ])
        let files = try #require(try sshdFact(t)["authorized_keys"]?.arrayValue)
        let entries = try #require(files.first?["entries"]?.arrayValue)
        let path = "/home/alice/.ssh/authorized_keys"
        #expect(entries.map { $0["source"] } == [.string("\(path):2"), .string("\(path):3"), .string("\(path):4")])
        #expect(
            entries[0] == [
                "type": "ssh-rsa", "algorithm": "rsa", "rsa_bits": 2048, "comment": "alice@laptop", "source": .string("\(path):2"),
                "name": "alice: alice@laptop",
            ])
        #expect(entries[1]["algorithm"] == "sk-ed25519")
        #expect(entries[1]["name"] == "alice: key without a comment")
        #expect(entries[2]["error"]?.stringValue?.contains("sshd skips") == true)
        let key = String(Keys.rsa(bits: 2048).split(separator: " ")[1])
        #expect(!String(decoding: JSON.array(files).serialized(), as: UTF8.self).contains(key.prefix(40)))
    }

    // MARK: - Facts: shadow and login.defs

    @Test(arguments: [
        ("$y$j9T$salt$hash", "$y$", "yescrypt"), ("$gy$j9T$salt$hash", "$gy$", "gost-yescrypt"),
        ("$6$salt$hash", "$6$", "sha512crypt"), ("$6$rounds=5000$salt$hash", "$6$", "sha512crypt"),
        ("$5$salt$hash", "$5$", "sha256crypt"), ("$1$salt$hash", "$1$", "md5crypt"), ("$2b$10$abcdefghijk", "$2b$", "bcrypt"),
        ("$2y$10$abcdefghijk", "$2y$", "bcrypt"), ("abJnggxhB/yWI", "DES", "descrypt"), ("!abJnggxhB/yWI", "DES", "descrypt"),
        ("!$1$salt$hash", "$1$", "md5crypt"), ("_J9..CCCCXBrJUJV154M", "BSDi", "bsdicrypt"), ("x", "unrecognised", "unrecognised"),
    ])
    func shadowFieldsGiveTheirScheme(field: String, scheme: String, algorithm: String) {
        #expect(AccountsProbe.hashScheme(Substring(field))! == (scheme, algorithm))
    }

    @Test(arguments: ["", "!", "*", "!!", "!*", "*LK*", "!!*"])
    func locksAndEmptyFieldsHoldNoHash(field: String) {
        #expect(AccountsProbe.hashScheme(Substring(field)) == nil)
    }

    @Test(arguments: [
        ("ENCRYPT_METHOD SHA512\n", "SHA512", "/etc/login.defs:1"),
        ("ENCRYPT_METHOD MD5\n# later\n  ENCRYPT_METHOD\t\"YESCRYPT\"  \n", "YESCRYPT", "/etc/login.defs:3"),
        // getdef keeps an inline comment in the value: shadow then falls back to DES.
        ("ENCRYPT_METHOD SHA512 # strong\n", "SHA512 # strong", "/etc/login.defs:1"),
        (
            "#ENCRYPT_METHOD SHA512\nENCRYPT_METHOD\n", "DES",
            "default (shadow-utils: no ENCRYPT_METHOD in /etc/login.defs, MD5_CRYPT_ENAB not yes)"
        ),
        ("MD5_CRYPT_ENAB YES\n", "MD5", "default (shadow-utils: no ENCRYPT_METHOD in /etc/login.defs, MD5_CRYPT_ENAB yes)"),
    ])
    func encryptMethodAsShadowUtilsReadsIt(text: String, value: String, source: String) throws {
        let t = TempTree()
        t.file("etc/login.defs", text)
        #expect(AccountsProbe.encryptMethod(try HostRoot(t.path)) == ["value": .string(value), "source": .string(source)])
    }

    @Test(arguments: [
        ("ENCRYPT_METHOD SHA512\n", "SHA512", "/etc/login.defs:1"),
        // The first line wins, the key without case, `=` allowed, `#` cut, the value's prefix.
        ("encrypt_method=md5\nENCRYPT_METHOD YESCRYPT\n", "MD5", "/etc/login.defs:1"),
        ("# x\n  ENCRYPT_METHOD   sha512 # strong\n", "SHA512", "/etc/login.defs:2"),
        ("ENCRYPT_METHOD Blowfish\n", "BCRYPT", "/etc/login.defs:1"),
        ("ENCRYPT_METHOD DES\n", "DES", "/etc/login.defs:1 (a value pam_unix does not know: it uses bigcrypt)"),
        ("UID_MIN 1000\n", "DES", "default (pam_unix: no ENCRYPT_METHOD in /etc/login.defs, bigcrypt)"),
    ])
    func encryptMethodAsPamUnixReadsIt(text: String, value: String, source: String) throws {
        let t = TempTree()
        t.file("etc/login.defs", text)
        #expect(AccountsProbe.encryptMethodForPAM(try HostRoot(t.path)) == ["value": .string(value), "source": .string(source)])
    }

    @Test func shadowHashesAreListedWithoutTheHash() throws {
        let shadow =
            "root:*:19700:0:99999:7:::\nalice:$y$j9T$salt$secretsecret:19700:0:99999:7:::\nbob:!$1$salt$secretsecret:19700::::::\nsvc:!!:19700::::::\n"
        let t = host(keys: [:], shadow: shadow)
        let v = try accountsFact(t)
        #expect(
            v["password_hashes"]
                == [
                    ["name": "alice", "source": "/etc/shadow:2", "scheme": "$y$", "algorithm": "yescrypt", "locked": false],
                    ["name": "bob", "source": "/etc/shadow:3", "scheme": "$1$", "algorithm": "md5crypt", "locked": true],
                ])
        #expect(!String(decoding: v.serialized(), as: UTF8.self).contains("secretsecret"))
    }

    // MARK: - Probe tests: the facts ACC-014 reads, on each host the old audits used

    let strongKeys: [String: String?] = [
        "/etc/ssh/ssh_host_rsa_key": Keys.rsa(bits: 3072, comment: "root@vm"), "/etc/ssh/ssh_host_ecdsa_key": Keys.ecdsa(),
        "/etc/ssh/ssh_host_ed25519_key": Keys.ed25519(),
    ]

    func accountsFact(_ t: TempTree) throws -> JSON { try probeFact("accounts", of: AccountsProbe(), root: t.path) }

    func hostKeyFacts(_ t: TempTree) throws -> [JSON] {
        try probeFact("sshd", of: SSHDConfigProbe(), root: t.path)["host_keys"]?.arrayValue ?? []
    }

    @Test func theStrongHostsFacts() throws {
        let t = host(
            keys: strongKeys, authorized: [Keys.rsa(bits: 4096), Keys.ed25519(), Keys.skEd25519(), Keys.ecdsa()],
            shadow: "root:*:19700::::::\nalice:$6$salt$hash:19700::::::\nbob:!$y$j9T$s$h:19700::::::\n")
        let keys = try hostKeyFacts(t)
        #expect(keys.map { $0["algorithm"] } == ["rsa", "ecdsa", "ed25519"])
        #expect(keys.map { $0["rsa_bits"] } == [3072, nil, nil])
        let sshd = try probeFact("sshd", of: SSHDConfigProbe(), root: t.path)
        let entries = sshd["authorized_keys"]?.arrayValue?.first?["entries"]?.arrayValue ?? []
        #expect(entries.map { $0["algorithm"] } == ["rsa", "ed25519", "sk-ed25519", "ecdsa"])
        #expect(entries.first?["rsa_bits"] == 4096)
        let accounts = try accountsFact(t)
        #expect(accounts["password_hashes"]?.arrayValue?.map { $0["scheme"] } == ["$6$", "$y$"])
        #expect(accounts["encrypt_method"] == ["value": "YESCRYPT", "source": "/etc/login.defs:1"])
        #expect(accounts["encrypt_method_pam"] == ["value": "YESCRYPT", "source": "/etc/login.defs:1"])
        #expect(accounts["problems"] == [])
    }

    @Test func aShortRSAHostKeyIsReadFromItsPub() throws {
        var keys = strongKeys
        keys["/etc/ssh/ssh_host_rsa_key"] = Keys.rsa(bits: 2048, comment: "root@old")
        #expect(
            try hostKeyFacts(host(keys: keys)).first
                == [
                    "path": "/etc/ssh/ssh_host_rsa_key", "public_key": "/etc/ssh/ssh_host_rsa_key.pub",
                    "configured_at": "default (OpenSSH)",
                    "source": "/etc/ssh/ssh_host_rsa_key.pub", "type": "ssh-rsa", "algorithm": "rsa", "rsa_bits": 2048,
                    "comment": "root@old",
                ])
    }

    @Test func aDSAHostKeyLine() throws {
        var keys = strongKeys
        keys["/etc/ssh/ssh_host_dsa_key"] = Keys.dsa()
        let config = "HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_dsa_key\n"
        let found = try hostKeyFacts(host(config: config, keys: keys))
        #expect(found.map { $0["algorithm"] } == ["ed25519", "dsa"])
        #expect(found.last?["source"] == "/etc/ssh/ssh_host_dsa_key.pub")
    }

    @Test func weakAuthorizedKeysAreNamedByFileLineAndComment() throws {
        let t = host(
            keys: strongKeys,
            authorized: [Keys.ed25519(), Keys.rsa(bits: 2048, comment: "alice@old-laptop"), Keys.dsa(comment: "alice@2009")])
        let entries = try probeFact("sshd", of: SSHDConfigProbe(), root: t.path)["authorized_keys"]?.arrayValue?.first?["entries"]
        #expect(
            entries?.arrayValue?.dropFirst().map { [$0["source"], $0["algorithm"], $0["rsa_bits"], $0["name"]] }
                == [
                    ["/home/alice/.ssh/authorized_keys:2", "rsa", 2048, "alice: alice@old-laptop"],
                    ["/home/alice/.ssh/authorized_keys:3", "dsa", nil, "alice: alice@2009"],
                ])
    }

    @Test func weakPasswordHashesAreListedByAccountAndScheme() throws {
        let shadow =
            "root:*:19700::::::\nalice:$y$j9T$s$h:19700::::::\nbob:!$1$salt$secretsecret:19700::::::\ncarol:abJnggxhB/yWI:19700::::::\n"
        let v = try accountsFact(host(keys: strongKeys, shadow: shadow))
        #expect(
            v["password_hashes"]
                == [
                    ["name": "alice", "source": "/etc/shadow:2", "scheme": "$y$", "algorithm": "yescrypt", "locked": false],
                    ["name": "bob", "source": "/etc/shadow:3", "scheme": "$1$", "algorithm": "md5crypt", "locked": true],
                    ["name": "carol", "source": "/etc/shadow:4", "scheme": "DES", "algorithm": "descrypt", "locked": false],
                ])
        #expect(!String(decoding: v.serialized(), as: UTF8.self).contains("abJnggxhB"))
    }

    @Test(arguments: [
        ("ENCRYPT_METHOD MD5\n", "MD5", "MD5"), ("ENCRYPT_METHOD sha512\n", "sha512", "SHA512"), ("UID_MIN 1000\n", "DES", "DES"),
        // shadow reads YESCRYPT (the last line), pam_unix MD5 (the first).
        ("ENCRYPT_METHOD MD5\nENCRYPT_METHOD YESCRYPT\n", "YESCRYPT", "MD5"),
    ])
    func encryptMethodsInTheAccountsFact(defs: String, shadow: String, pam: String) throws {
        let v = try accountsFact(host(keys: strongKeys, loginDefs: defs))
        #expect(v["encrypt_method"]?["value"] == .string(shadow), "\(defs)")
        #expect(v["encrypt_method_pam"]?["value"] == .string(pam), "\(defs)")
    }

    @Test func whatCannotBeReadIsStatedInTheFacts() throws {
        var keys = strongKeys
        keys["/etc/ssh/ssh_host_ecdsa_key"] = .some(nil)
        #expect(
            try hostKeyFacts(host(keys: keys))[1]["error"]
                == "/etc/ssh/ssh_host_ecdsa_key.pub does not exist: the key's type and size cannot be known without reading the private key"
        )
        let badLine = host(keys: strongKeys, authorized: ["ssh-ed25519 AAAA!!"])
        let unreadable = try probeFact("sshd", of: SSHDConfigProbe(), root: badLine.path)
        #expect(
            unreadable["authorized_keys"]?.arrayValue?.first?["entries"]?.arrayValue?.first?["error"]
                == "ssh-ed25519 key data is not base64 (sshd skips this line)")
        // No host key at all: sshd would not start.
        #expect(try hostKeyFacts(host(keys: [:])) == [])
        let problems = try accountsFact(host(keys: strongKeys, shadow: "root:*:19700::::::\nalice:$y$j9T$s$h:x:0\n"))["problems"]
        #expect(problems?.arrayValue?.map { $0["source"] } == ["/etc/shadow:2"])
    }

    @Test func withoutAnSSHServerItsKeysDoNotApply() throws {
        let t = TempTree()
        t.file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
        let v = try probeFact("sshd", of: SSHDConfigProbe(), root: t.path)
        #expect(v["installed"] == false)
        #expect(v["host_keys"] == ["not_applicable": "no OpenSSH server is installed"])
        #expect(v["authorized_keys"] == ["not_applicable": "no OpenSSH server is installed"])
    }

    // MARK: - Control tests: ACC-014 over a table of canned facts

    static func hostKey(_ name: String, _ algorithm: String, bits: Int? = nil) -> JSON {
        var key: JSONObject = [
            "path": .string("/etc/ssh/\(name)"), "public_key": .string("/etc/ssh/\(name).pub"), "configured_at": "default (OpenSSH)",
            "source": .string("/etc/ssh/\(name).pub"), "type": "ssh-key", "algorithm": .string(algorithm), "comment": "root@vm",
        ]
        if let bits { key["rsa_bits"] = .int(Int64(bits)) }
        return .object(key)
    }

    static let strongHostKeys = [
        hostKey("ssh_host_rsa_key", "rsa", bits: 3072), hostKey("ssh_host_ecdsa_key", "ecdsa"), hostKey("ssh_host_ed25519_key", "ed25519"),
    ]

    /// alice's authorized_keys with these entries, each (algorithm, RSA bits, comment), line 1 on.
    static func authorized(_ keys: [(String, Int?, String)]) -> JSON {
        let path = "/home/alice/.ssh/authorized_keys"
        return [
            [
                "path": .string(path), "user": "alice", "source": .string(path), "keys": .int(Int64(keys.count)), "no_touch_required": [],
                "entries": .array(
                    keys.enumerated().map { i, key in
                        var entry: JSONObject = [
                            "type": "ssh-key", "algorithm": .string(key.0), "comment": .string(key.2),
                            "source": .string("\(path):\(i + 1)"),
                            "name": .string("alice: \(key.2)"),
                        ]
                        if let bits = key.1 { entry["rsa_bits"] = .int(Int64(bits)) }
                        return .object(entry)
                    }),
            ]
        ]
    }

    static func sshd(hostKeys: JSON = .array(strongHostKeys), authorizedKeys: JSON = authorized([("ed25519", nil, "alice@laptop")])) -> JSON
    {
        ["installed": true, "source": "/etc/ssh/sshd_config", "host_keys": hostKeys, "authorized_keys": authorizedKeys]
    }

    static let noServer: JSON = [
        "installed": false, "source": "/etc/ssh/sshd_config", "note": "no OpenSSH server: no sshd binary, configuration or unit",
        "host_keys": ["not_applicable": "no OpenSSH server is installed"],
        "authorized_keys": ["not_applicable": "no OpenSSH server is installed"],
    ]

    /// /etc/shadow with these hashes (scheme, locked), line 2 on, and login.defs' ENCRYPT_METHOD as
    /// shadow-utils and as pam_unix read it.
    static func accounts(
        _ hashes: [(String, Bool)] = [("$y$", false)], method: String = "YESCRYPT", pam: String? = nil, problems: [JSON] = []
    ) -> JSON {
        [
            "source": "/etc/passwd",
            "password_hashes": .array(
                hashes.enumerated().map { i, hash in
                    [
                        "name": .string("user\(i + 2)"), "source": .string("/etc/shadow:\(i + 2)"), "scheme": .string(hash.0),
                        "algorithm": "canned", "locked": .bool(hash.1),
                    ]
                }),
            "encrypt_method": ["value": .string(method), "source": "/etc/login.defs:1"],
            "encrypt_method_pam": ["value": .string(pam ?? method), "source": "/etc/login.defs:1"],
            "problems": .array(problems),
        ]
    }

    /// The same at SL3 and SL4 (SL4 keeps SL3's thresholds): the status, parts of the summary, and
    /// the sources of the failing evidence (sorted) where a row shows them.
    static let acc014Table: [(String, JSON, JSON, Status, [String], [String]?)] = [
        ("strong keys and hashes", sshd(), accounts([("$6$", false), ("$y$", true), ("$gy$", false)]), .pass, [], nil),
        (
            "a 2048-bit RSA host key", sshd(hostKeys: [hostKey("ssh_host_rsa_key", "rsa", bits: 2048)]), accounts(), .fail,
            ["RSA host key size in bits is 2048"], ["/etc/ssh/ssh_host_rsa_key.pub"]
        ),
        ("a 3071-bit RSA host key", sshd(hostKeys: [hostKey("ssh_host_rsa_key", "rsa", bits: 3071)]), accounts(), .fail, [], nil),
        (
            "a DSA host key", sshd(hostKeys: [hostKey("ssh_host_ed25519_key", "ed25519"), hostKey("ssh_host_dsa_key", "dsa")]), accounts(),
            .fail, [], ["/etc/ssh/ssh_host_dsa_key.pub"]
        ),
        (
            "FIDO and strong authorized keys",
            sshd(authorizedKeys: authorized([("rsa", 4096, "a"), ("ed25519", nil, "b"), ("sk-ed25519", nil, "c"), ("ecdsa", nil, "d")])),
            accounts(), .pass, [], nil
        ),
        (
            "weak authorized keys",
            sshd(
                authorizedKeys: authorized([
                    ("ed25519", nil, "alice@laptop"), ("rsa", 2048, "alice@old-laptop"), ("dsa", nil, "alice@2009"),
                ])),
            accounts(), .fail, ["alice: alice@old-laptop", "alice: alice@2009"],
            ["/home/alice/.ssh/authorized_keys:2", "/home/alice/.ssh/authorized_keys:3"]
        ),
        (
            "weak password hashes", sshd(), accounts([("$y$", false), ("$1$", true), ("DES", false)]), .fail, [],
            ["/etc/shadow:3", "/etc/shadow:4"]
        ),
        ("ENCRYPT_METHOD SHA512", sshd(), accounts(method: "SHA512"), .pass, [], nil),
        ("ENCRYPT_METHOD MD5", sshd(), accounts(method: "MD5"), .fail, [], ["/etc/login.defs:1", "/etc/login.defs:1"]),
        ("ENCRYPT_METHOD sha512, which shadow-utils does not know", sshd(), accounts(method: "sha512", pam: "SHA512"), .fail, [], nil),
        ("no ENCRYPT_METHOD: DES", sshd(), accounts(method: "DES"), .fail, [], nil),
        ("pam_unix reads MD5 where shadow-utils reads YESCRYPT", sshd(), accounts(pam: "MD5"), .fail, [], ["/etc/login.defs:1"]),
        (
            "a host key without its .pub",
            sshd(hostKeys: [
                hostKey("ssh_host_ed25519_key", "ed25519"),
                [
                    "path": "/etc/ssh/ssh_host_ecdsa_key", "public_key": "/etc/ssh/ssh_host_ecdsa_key.pub",
                    "configured_at": "default (OpenSSH)",
                    "source": "/etc/ssh/ssh_host_ecdsa_key.pub",
                    "error":
                        "/etc/ssh/ssh_host_ecdsa_key.pub does not exist: the key's type and size cannot be known without reading the private key",
                ],
            ]), accounts(), .error, [], nil
        ),
        (
            "an authorized_keys line sshd skips",
            sshd(authorizedKeys: [
                [
                    "path": "/home/alice/.ssh/authorized_keys", "user": "alice", "source": "/home/alice/.ssh/authorized_keys", "keys": 1,
                    "no_touch_required": [],
                    "entries": [
                        [
                            "source": "/home/alice/.ssh/authorized_keys:1", "name": "alice: unreadable key",
                            "error": "ssh-ed25519 key data is not base64 (sshd skips this line)",
                        ]
                    ],
                ]
            ]), accounts(), .error, [], nil
        ),
        ("no host key at all", sshd(hostKeys: []), accounts(), .error, [], nil),
        (
            "a shadow line Warden could not parse", sshd(),
            accounts(problems: [["source": "/etc/shadow:2", "error": "malformed shadow entry"]]), .error, ["/etc/shadow:2"], nil
        ),
        ("no SSH server, strong hashes", noServer, accounts([("$6$", false)], method: "SHA512"), .pass, [], nil),
        ("no SSH server, a SHA-256 crypt hash", noServer, accounts([("$5$", false)], method: "SHA512"), .fail, [], nil),
    ]

    @Test(arguments: StrongKeysTests.acc014Table.indices)
    func acc014OverATableOfFacts(_ row: Int) throws {
        let (name, sshd, accounts, expected, summary, failing) = StrongKeysTests.acc014Table[row]
        for profile in ["sl3", "sl4"] {
            let finding = try cannedFinding("ACC-014", profile: profile, facts: ["sshd": sshd, "accounts": accounts])
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            for part in summary { #expect(finding.summary.contains(part), "\(profile) \(name): \(finding.summary)") }
            if let failing {
                #expect(
                    finding.evidence.filter { $0.ok == false }.map(\.source).sorted() == failing, "\(profile) \(name): \(finding.evidence)")
            }
        }
    }

    /// The evidence shows what failed (a size, an algorithm, a scheme), never a hash.
    @Test func theFailingEvidenceShowsTheObservedValue() throws {
        func failing(_ sshd: JSON, _ accounts: JSON) throws -> [JSON] {
            let finding = try cannedFinding("ACC-014", profile: "sl3", facts: ["sshd": sshd, "accounts": accounts])
            return finding.evidence.filter { $0.ok == false }.map(\.observed)
        }
        let s = StrongKeysTests.self
        #expect(try failing(s.sshd(hostKeys: [s.hostKey("ssh_host_rsa_key", "rsa", bits: 2048)]), s.accounts()) == [2048])
        #expect(try failing(s.sshd(hostKeys: [s.hostKey("ssh_host_dsa_key", "dsa")]), s.accounts()) == ["dsa"])
        #expect(try failing(s.sshd(), s.accounts([("$1$", true), ("DES", false)])) == ["$1$", "DES"])
        #expect(try failing(s.sshd(), s.accounts(method: "sha512", pam: "SHA512")) == ["sha512"])
    }

    /// End to end, once: ACC-014 joins two probes' facts (sshd's keys, the accounts' hashes), so
    /// a host with a weak key and a weak hash is shown failing through the whole path.
    @Test func twoProbesMeetEndToEnd() throws {
        var keys = strongKeys
        keys["/etc/ssh/ssh_host_rsa_key"] = Keys.rsa(bits: 2048)
        let t = host(keys: keys, shadow: "root:*:19700::::::\nalice:$1$salt$hash:19700::::::\n")
        for profile in ["sl3", "sl4"] {
            let f = try audit(root: t.path, profile: profile, probes: [SSHDConfigProbe(), AccountsProbe()]).findings["ACC-014"]
            #expect(f.status == .fail)
            #expect(
                f.evidence.filter { $0.ok == false }.map(\.source).sorted() == ["/etc/shadow:2", "/etc/ssh/ssh_host_rsa_key.pub"],
                "\(f.evidence)")
        }
    }
}
