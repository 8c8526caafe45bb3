public import WardenCore
internal import WardenFormats

/// One line of `/etc/crypttab`: `name device [keyfile [options]]` (crypttab(5)).
struct CrypttabEntry: Sendable, Hashable {
    var name: String
    var device: String
    /// Nil for `none`, `-` or an absent third field (passphrase, token or cryptsetup-keys.d).
    var keyFile: String?
    var options: [String]
    var location: String

    /// Key files that are really a source of random bytes: the volume gets a new key each boot.
    static let randomSources: Set<String> = ["/dev/urandom", "/dev/random", "/dev/hw_random"]

    var randomKey: Bool { keyFile.map { CrypttabEntry.randomSources.contains($0) } ?? false }
    /// A key file kept on disk (not a random source).
    var storedKeyFile: String? { randomKey ? nil : keyFile }

    var json: JSON {
        [
            "name": .string(name), "device": .string(device), "key_file": keyFile.map { .string($0) } ?? .null,
            "options": .array(options.map { .string($0) }), "random_key": .bool(randomKey), "source": .string(location),
        ]
    }
}

/// `/etc/crypttab`, read as systemd-cryptsetup-generator reads it.
struct Crypttab: Sendable {
    static let path = "/etc/crypttab"

    var entries: [CrypttabEntry]
    var present: Bool
    var problems: [String]

    /// A missing file is an empty table (`present: false`); any other read error is thrown.
    static func read(_ root: HostRoot) throws(HostError) -> Crypttab {
        let text: String
        do { text = try root.readText(path, limit: 1 << 20) } catch {
            if error.isNotFound { return Crypttab(entries: [], present: false, problems: []) }
            throw error
        }
        var table = Crypttab(entries: [], present: true, problems: [])
        for (number, line) in configLines(text) {
            let w = line.words.map(String.init)
            let location = "\(path):\(number)"
            guard w.count >= 2, w.count <= 4 else {
                table.problems.append("\(location): expected 2 to 4 fields, found \(w.count)")
                continue
            }
            let key = w.count >= 3 && w[2] != "none" && w[2] != "-" ? w[2] : nil
            table.entries.append(
                CrypttabEntry(
                    name: w[0], device: w[1], keyFile: key,
                    options: w.count == 4 ? w[3].split(separator: ",").map(String.init) : [],
                    location: location))
        }
        return table
    }

    func entry(named name: String?) -> CrypttabEntry? {
        guard let name else { return nil }
        return entries.first { $0.name == name }
    }
}

/// The LUKS volumes behind the weight paths, their headers (cipher, keyslots and KDFs, tokens),
/// and how their keys are kept: `/etc/crypttab` key files and `/etc/cryptsetup-keys.d/`, each
/// with whether it lies on encrypted storage.
public struct LUKSProbe: Probe {
    public init() {}
    public let name = "luks"
    public let summary =
        "LUKS1/LUKS2 headers of the devices under the weight paths (cipher, keyslots, KDF, TPM2/clevis tokens), /etc/crypttab and cryptsetup key files"
    public let reads = [
        "/proc/1/mountinfo (else /proc/self/mountinfo)", "/sys/dev/block/*/…", "/dev/* (first bytes: LUKS headers)",
        "/etc/crypttab", "/etc/cryptsetup-keys.d/*", "/run/cryptsetup-keys.d/*",
    ]
    public var facts: [String: FactType] {
        [
            "luks": .object([
                "source": .string, "weights_origin": .string,
                "volumes": .list(
                    .object([
                        "path": .string, "resolved_path": .string, "encryption": .string, "devices": .list(LUKSProbe.deviceType),
                    ])),
                "crypttab": .object(["present": .bool, "entries": .list(CrypttabEntry.factType), "problems": .strings]),
                "key_files": .list(
                    .object([
                        "source": .string, "volume": .optional(.string), "path": .string, "storage_class": .string,
                        "on_encrypted_storage": .sourced(.bool), "storage": .string,
                    ])),
            ])
        ]
    }

    static let keyDirectories = ["/etc/cryptsetup-keys.d", "/run/cryptsetup-keys.d"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let crypttab: Crypttab
        do { crypttab = try Crypttab.read(root) } catch {
            return ["luks": .unavailable(.error("cannot read \(Crypttab.path): \(error)"))]
        }
        let resolver = context.storage

        var headers: JSONObject = [:]
        var volumes: [JSON] = []
        for path in context.weights.paths {
            let storage = resolver.flatMap { $0.resolve(path) }
            switch storage {
            case .failure(let f):
                volumes.append(f.item(context, label: path))
            case .success(let r):
                var devices: [JSON] = []
                for mapping in r.cryptMappings {
                    guard mapping.kind.isLUKS else {
                        devices.append([
                            "device": .string(mapping.backingDevices.first ?? mapping.mapping), "mapping": .string(mapping.mapping),
                            "type": .string(mapping.kind.rawValue),
                            "error": .string(
                                "\(mapping.kind.rawValue) dm-crypt mapping \(mapping.mapping) has no LUKS header: its cipher and keys cannot be checked"
                            ),
                        ])
                        continue
                    }
                    for device in mapping.backingDevices {
                        let item = headers[device] ?? deviceItem(device, mapping: mapping, crypttab: crypttab, context: context)
                        headers[device] = item
                        devices.append(item)
                    }
                }
                volumes.append([
                    "path": .string(path), "resolved_path": .string(r.resolvedPath), "encryption": .string(r.encryption),
                    "devices": .array(devices),
                ])
            }
        }

        let keyFiles = keyFileItems(crypttab: crypttab, resolver: resolver, context: context)
        let fact: JSON = [
            "source": .string(Crypttab.path),
            "weights_origin": .string(context.weights.origin.rawValue),
            "volumes": .array(volumes),
            "crypttab": [
                "present": .bool(crypttab.present), "entries": .array(crypttab.entries.map(\.json)),
                "problems": .array(crypttab.problems.map { .string($0) }),
            ],
            "key_files": .array(keyFiles),
        ]
        return ["luks": .value(fact)]
    }

    /// Reads and describes one LUKS device (the node under a CRYPT-LUKS mapping).
    func deviceItem(_ device: String, mapping: CryptMapping, crypttab: Crypttab, context: ProbeContext) -> JSON {
        var base: JSONObject = [
            "mapping": .string(mapping.mapping), "dm_uuid": .string(mapping.dmUUID),
            "type": .string(mapping.kind.rawValue),
        ]
        if let n = mapping.name { base["mapping_name"] = .string(n) }
        if let entry = crypttab.entry(named: mapping.name) { base["crypttab"] = entry.json }
        let header: LUKSHeader
        do {
            let prefix = try context.root.readHead(device, count: LUKSHeader.binaryHeaderSize)
            let length = try LUKSHeader.requiredLength(prefix)
            header = try LUKSHeader.parse(length <= prefix.count ? prefix : try context.root.readHead(device, count: length))
        } catch let error as HostError {
            let failure: StorageFailure = error.isNotFound ? .missing("\(device) does not exist") : .failed(error.description)
            return failure.item(context, key: "device", label: device, extra: base)
        } catch {
            return StorageFailure.failed("\(device): \(error)").item(context, key: "device", label: device, extra: base)
        }
        return LUKSProbe.describe(header, device: device, base: base)
    }

    /// The fact item for a parsed header.
    static func describe(_ header: LUKSHeader, device: String, base: JSONObject) -> JSON {
        var o = base
        o["device"] = .string(device)
        o["version"] = .int(header.version)
        o["uuid"] = .string(header.uuid)
        o["header_checksum"] = .string(header.checksum)
        let keyslotIDs = Set(header.keyslots.map(\.id))
        // Tokens whose keyslots all exist (a token pointing at a wiped keyslot unlocks nothing) and
        // that the program using them accepts (systemd 252 refuses some systemd-tpm2 tokens).
        let liveTokens = header.tokens.filter { $0.problem == nil && !$0.keyslots.isEmpty && $0.keyslots.allSatisfy(keyslotIDs.contains) }
        let exemptTypes: Set<String> = ["systemd-tpm2", "clevis"]
        o["keyslots"] = .array(
            header.keyslots.filter { $0.type != "reencrypt" }.map { k in
                let owners = liveTokens.filter { $0.keyslots.contains(k.id) }
                return [
                    "name": .string("\(device) keyslot \(k.id)"), "id": .string(k.id), "type": .string(k.type),
                    "key_bytes": .int(k.keySize),
                    "kdf": .string(k.kdf),
                    // pbkdf2 is not memory-hard: its memory cost is 0.
                    "memory_kib": .int(k.memoryKiB ?? 0),
                    "time_cost": k.timeCost.map { .int($0) } ?? .null, "iterations": k.iterations.map { .int($0) } ?? .null,
                    "tokens": .array(owners.map { .string($0.id) }), "token_types": .array(owners.map { .string($0.type) }),
                    "tpm_or_clevis_token": .bool(owners.contains { exemptTypes.contains($0.type) }),
                ]
            })
        o["tokens"] = .array(
            header.tokens.map { t in
                var j: JSONObject = [
                    "name": .string("\(device) token \(t.id)"), "id": .string(t.id), "type": .string(t.type),
                    "keyslots": .array(t.keyslots.map { .string($0) }), "live": .bool(liveTokens.contains(t)),
                ]
                if let p = t.tpm2PCRs { j["tpm2_pcrs"] = .array(p.map { .int($0) }) }
                if let b = t.tpm2PCRBank { j["tpm2_pcr_bank"] = .string(b) }
                if let p = t.tpm2Pin { j["tpm2_pin"] = .bool(p) }
                if let p = t.tpm2PubkeyPCRs { j["tpm2_pubkey_pcrs"] = .array(p.map { .int($0) }) }
                if let p = t.clevisPins { j["clevis_pins"] = .array(p.map { .string($0) }) }
                if let n = t.clevisThreshold { j["clevis_threshold"] = .int(n) }
                if let p = t.problem { j["problem"] = .string(p) }
                if let r = LUKSHeader.release(of: t) {
                    j["release"] = .string(r)
                    // Only systemd-tpm2 binds a signed PCR policy; clevis 19's tpm2 pin cannot.
                    j["signed_policy"] = .bool(t.type == "systemd-tpm2" && !(t.tpm2PubkeyPCRs ?? []).isEmpty)
                }
                return .object(j)
            })
        o["tpm_token"] = .bool(liveTokens.contains(where: LUKSHeader.needsTPM))

        // The volume key size: every keyslot holds the same volume key.
        let keyBytes = header.keyslots.first { $0.type != "reencrypt" }?.keySize
        let segment = header.segments.first { $0.cipher != nil }
        o["segments"] = .array(
            header.segments.map { s in
                ["id": .string(s.id), "type": .string(s.type), "cipher": s.cipher.map { .string($0) } ?? .null]
            })
        if let cipher = segment?.cipher {
            let strength = LUKSHeader.strength(cipher: cipher, keyBytes: keyBytes)
            o["cipher"] = .string(cipher)
            o["cipher_family"] = .string(strength.family)
            o["cipher_mode"] = .string(strength.mode)
            if let bits = strength.securityBits { o["security_bits"] = .int(bits) }
        }
        if let keyBytes {
            o["key_bytes"] = .int(keyBytes)
            o["key_bits"] = .int(keyBytes * 8)
        }
        return .object(o)
    }

    /// Key files: the third field of crypttab lines (random sources excluded) and the files of
    /// the cryptsetup-keys.d directories, each with the storage it lies on.
    func keyFileItems(crypttab: Crypttab, resolver: Result<StorageResolver, StorageFailure>, context: ProbeContext) -> [JSON] {
        var candidates: [(path: String, source: String, volume: String?)] = []
        for entry in crypttab.entries {
            guard let key = entry.storedKeyFile else { continue }
            candidates.append((key, entry.location, entry.name))
        }
        for dir in LUKSProbe.keyDirectories {
            let names: [String]
            do { names = try context.root.list(dir, limit: 10_000) } catch {
                if error.isNotFound { continue }
                candidates.append((dir, "directory listing", nil))
                continue
            }
            for name in names {
                let volume = name.hasSuffix(".key") ? String(name.dropLast(4)) : nil
                candidates.append((joinPath(dir, name), "\(dir)/ (directory listing)", volume))
            }
        }
        return candidates.map { c in
            var base: JSONObject = ["source": .string(c.source), "volume": c.volume.map { .string($0) } ?? .null]
            // `keyfile:device`: the key is read from another device (usually removable media).
            if !c.path.hasPrefix("/dev/"), let colon = c.path.firstIndex(of: ":") {
                let device = String(c.path[c.path.index(after: colon)...])
                base["path"] = .string(c.path)
                base["storage_class"] = "removable"
                base["on_encrypted_storage"] = ["value": false, "source": .string(c.source)]
                base["storage"] = .string("on device \(device), mounted only to read the key")
                return .object(base)
            }
            switch resolver.flatMap({ $0.resolve(c.path) }) {
            case .failure(let f):
                return f.item(context, label: c.path, extra: base)
            case .success(let r):
                base["path"] = .string(c.path)
                base["storage_class"] = .string(r.storageClass.rawValue)
                base["on_encrypted_storage"] = ["value": .bool(r.encrypted), "source": .string(r.mount.location)]
                base["storage"] = .string(r.encryption)
                return .object(base)
            }
        }
    }
}
