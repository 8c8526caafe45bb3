public import WardenCore

/// The fact declarations several probes share, and the declarations of every fact a check may
/// read (`ProbeRegistry.factTypes`): what `FactContract` checks profiles against.
extension ProbeRegistry {
    /// Every fact a check may read, with its type: each probe's `facts`, and the facts that
    /// exist without a probe (`site`, `weights`).
    public static let factTypes: [String: FactType] = {
        var all: [String: FactType] = ["site": Site.factType, "weights": WeightLocations.factType]
        for probe in ProbeRegistry.all {
            for (name, type) in probe.facts {
                precondition(all[name] == nil, "fact '\(name)' is declared twice")
                all[name] = type
            }
        }
        return all
    }()
}

extension FactType {
    /// A path that could not be walked or read (`PathProblem.json`): a stated `error` with the
    /// path it concerns.
    static let pathProblem = FactType.object(["path": .string, "error": .string])

    /// This object type with `type` at `path`, the objects on the way made as needed.
    func inserting(_ type: FactType, at path: [String]) -> FactType {
        guard let first = path.first, case .object(var fields, let others) = self else { return self }
        fields[first] = path.count == 1 ? type : (fields[first] ?? .object([:])).inserting(type, at: Array(path.dropFirst()))
        return .object(fields, others: others)
    }

    /// This object type with more fields.
    func adding(_ more: [String: FactType]) -> FactType {
        guard case .object(let fields, let others) = self else { return self }
        return .object(fields.merging(more) { _, new in new }, others: others)
    }
}

extension Site {
    /// The `site` fact (`Site.json`, with `present` and `source` from the collector).
    static let factType = FactType.object([
        "present": .bool, "source": .string, "sha256": .string, "role": .string, "containers": .bool,
        "weights": .object([
            "paths": .strings, "owner": .string, "group": .string, "allowed_principals": .strings, "canary": .strings,
            "scan_roots": .strings, "min_size": .int, "break_glass_group": .string,
            "access_review": .object(["reviewed_at": .string, "reviewer": .string]),
        ]),
        "environment": .string, "access": .object(["renewal_days": .int]),
        "encryption": .object(["attested_key_service": .string]),
        "network": .object(["allowed_listeners": .strings]),
        "services": .object([
            "edr_units": .strings, "weights_units": .strings, "forbidden_agents": .strings, "network_ids": .string,
            "allowed_units": .strings, "allowed_containers": .strings,
        ]),
        "waivers": .list(.object(["control": .string, "reason": .string, "approved_by": .string, "expires": .string])),
        "software": .object(["denylist": .strings]),
    ])
}

extension WeightLocations {
    /// The `weights` fact (`WeightLocations.json`).
    static let factType = FactType.object([
        "origin": .string, "paths": .strings, "note": .string, "source": .string, "discovery_error": .string,
        "discovery": WeightScan.factType,
    ])
}

extension WeightScan {
    /// `WeightScan.json`: a scan of the scan roots for weight files.
    static let factType = FactType.object([
        "roots": .list(.object(["path": .string, "status": .string, "detail": .string])),
        "min_size": .int, "budget": .object(["max_entries": .int, "max_seconds": .int]),
        "hits": .list(.object(["path": .string, "size": .int, "format": .string])),
        "hit_count": .int, "entries": .int, "candidates": .int,
        "unreadable": .object(["count": .int, "first": .list(FactType.pathProblem)]),
        "other_filesystems": .object(["count": .int, "first": .strings]),
        "complete": .bool, "stopped": .string, "incomplete": .string,
    ])
}

extension StorageResolution {
    /// `StorageResolution.json`: where one path is stored.
    static let factType = FactType.object([
        "path": .string, "resolved_path": .string, "mount_point": .string, "mount_source": .string,
        "mount_options": .strings, "super_options": .strings, "fstype": .string, "device_number": .string,
        "class": .string, "encrypted": .sourced(.bool), "encryption": .string, "encryption_kinds": .strings, "devices": .strings,
        "crypt_mappings": .list(
            .object([
                "mapping": .string, "kind": .string, "dm_uuid": .string, "backing_devices": .strings, "name": .string,
            ])),
        "luks_devices": .strings, "network": .bool, "in_transit_encrypted": .sourced(.bool), "in_transit": .string,
    ])
}

extension CrypttabEntry {
    /// `CrypttabEntry.json`.
    static let factType = FactType.object([
        "name": .string, "device": .string, "key_file": .optional(.string), "options": .strings, "random_key": .bool, "source": .string,
    ])
}

extension LUKSProbe {
    /// One device under a weight path (`deviceItem`, `describe`): its mapping, and its LUKS
    /// header as read.
    static let deviceType = FactType.object([
        "device": .string, "mapping": .string, "dm_uuid": .string, "type": .string, "mapping_name": .string,
        "crypttab": CrypttabEntry.factType,
        "version": .int, "uuid": .string, "header_checksum": .string,
        "keyslots": .list(
            .object([
                "name": .string, "id": .string, "type": .string, "key_bytes": .int, "kdf": .string, "memory_kib": .int,
                "time_cost": .optional(.int), "iterations": .optional(.int), "tokens": .strings, "token_types": .strings,
                "tpm_or_clevis_token": .bool,
            ])),
        "tokens": .list(
            .object([
                "name": .string, "id": .string, "type": .string, "keyslots": .strings, "live": .bool,
                "tpm2_pcrs": .list(.int), "tpm2_pcr_bank": .string, "tpm2_pin": .bool, "tpm2_pubkey_pcrs": .list(.int),
                "clevis_pins": .strings, "clevis_threshold": .int, "problem": .string, "release": .string, "signed_policy": .bool,
            ])),
        "tpm_token": .bool,
        "segments": .list(.object(["id": .string, "type": .string, "cipher": .optional(.string)])),
        "cipher": .string, "cipher_family": .string, "cipher_mode": .string, "security_bits": .int,
        "key_bytes": .int, "key_bits": .int,
    ])
}

extension AuditRulesProbe {
    /// Whether the rules watch one path (`coverage`). `error` is set, beside the rest, when some
    /// rule lines could not be parsed.
    static let coverageType = FactType.object([
        "path": .string, "needs": .string, "error": .string, "covered": .bool, "source": .string, "reason": .string,
        "rule": .string, "key": .optional(.string),
    ])
}

extension SSHDConfigProbe {
    /// The effective settings (global, or of a Match block): every keyword sshd knows, under its
    /// current name (aliases resolved), as `typedValue` stores it; a keyword a newer OpenSSH
    /// knows and the table does not is kept as text.
    static let settingsType: FactType = {
        var fields: [String: FactType] = [:]
        for keyword in SSHDKeywords.table.keys where keyword != "include" && keyword != "match" && aliases[keyword] == nil {
            fields[keyword] = .sourced(timeKeywords.contains(keyword) || intKeywords.contains(keyword) ? .int : .string)
        }
        return .object(fields, others: .sourced(.string))
    }()
}
