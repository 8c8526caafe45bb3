import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats

@Suite struct SiteTests {
    @Test func fullSchemaParses() throws {
        let text = """
            role: training
            environment: research-sandbox
            containers: true
            weights:
              paths: [/srv/weights, /data/ckpt]
              owner: mlsvc
              group: weights
              allowed_principals: [alice, ml-admins]
              canary: [/srv/weights/.canary]
              scan_roots: [/home, /tmp]
              min_size: 4MiB
              break_glass_group: weights-breakglass
            network:
              allowed_listeners: [tcp/22, udp/123]
            services:
              edr_units: [falcon-sensor.service]
              weights_units: [vllm.service]
            access:
              renewal_days: 30
            encryption:
              attested_key_service: Keylime verifier kms-01 releases the key after PCR 7 and IMA attestation
            waivers:
              - control: ACC-006
                reason: FIDO keys on order
                approved_by: ciso@example.org
                expires: 2027-01-31
            """
        let site = try Site.parse(text, file: "site.yaml", digester: .libcrypto)
        #expect(site.role == .training)
        #expect(site.containers)
        #expect(site.weightsPaths == ["/srv/weights", "/data/ckpt"])
        #expect(site.minSize == 4 << 20)
        #expect(site.allowedListeners == ["tcp/22", "udp/123"])
        #expect(site.waivers.first?.expires.description == "2027-01-31T23:59:59Z")
        #expect(site.waivers.first?.line == 23)
        #expect(site.environment == .researchSandbox && site.environment.randAlternative == "B")
        #expect(site.breakGlassGroup == "weights-breakglass")
        #expect(site.renewalDays == 30)
        #expect(site.json["environment"] == "research-sandbox")
        #expect(site.json["access"]?["renewal_days"] == 30)
        #expect(site.attestedKeyService == "Keylime verifier kms-01 releases the key after PCR 7 and IMA attestation")
        #expect(site.json["encryption"]?["attested_key_service"] == .string(site.attestedKeyService ?? ""))
        #expect(site.json["weights"]?["owner"] == "mlsvc")
        #expect(site.sha256 == (try Digester.libcrypto.sha256Hex(Array(text.utf8))))
    }

    /// INT-005's network IDS: a description for a reviewer, present in the fact only when set.
    @Test func aNetworkIDSIsADescriptionInTheServices() throws {
        let site = try Site.parse(
            "services:\n  edr_units: [acme.service]\n  network_ids: Suricata on the weights VLAN span port\n", file: "site.yaml",
            digester: .libcrypto)
        #expect(site.networkIDS == "Suricata on the weights VLAN span port")
        #expect(site.json["services"]?["network_ids"] == "Suricata on the weights VLAN span port")
        #expect(site.json["services"]?["edr_units"] == ["acme.service"])
        #expect(try Site.parse("role: storage\n", file: "site.yaml", digester: .libcrypto).json["services"]?["network_ids"] == nil)
        #expect(Site.knownPaths.contains("services.network_ids"))
        #expect(throws: WardenError.self) {
            try Site.parse("services:\n  network_ids: \"\"\n", file: "site.yaml", digester: .libcrypto)
        }
    }

    @Test func withoutASiteTheFactsSayWhichEnvironmentAndRenewalPeriodWereJudged() throws {
        let site = try Site.parse("role: storage\n", file: "site.yaml", digester: .libcrypto)
        #expect(site.json["environment"] == "production")
        #expect(site.json["access"]?["renewal_days"] == 183)
        #expect(site.json["encryption"] == nil && site.json["weights"]?["break_glass_group"] == nil)
        #expect(Site().json["environment"] == "production")
    }

    @Test(arguments: [
        ("weights:\n  pathz: [/srv]\n", 2, "weights.pathz", "did you mean 'paths'"),
        ("role: gpu\n", 1, "role", "unknown role 'gpu'"),
        ("weights:\n  paths: [srv/weights]\n", 2, "weights.paths[0]", "must be an absolute path"),
        ("network:\n  allowed_listeners: [ssh]\n", 2, "network.allowed_listeners[0]", "tcp/22"),
        ("network:\n  allowed_listeners: [tcp/65536]\n", 2, "network.allowed_listeners[0]", "tcp/22"),
        ("network:\n  allowed_listeners: [udp/012345]\n", 2, "network.allowed_listeners[0]", "tcp/22"),
        ("network:\n  allowed_listeners: [sctp/22]\n", 2, "network.allowed_listeners[0]", "tcp/22"),
        ("network:\n  allowed_listeners: [tcp/]\n", 2, "network.allowed_listeners[0]", "tcp/22"),
        (
            "waivers:\n  - control: ACC-004\n    reason: r\n    approved_by: a\n    expires: soon\n", 5, "waivers[0].expires",
            "expected a date"
        ),
        ("waivers:\n  - control: ACC-004\n    reason: r\n", 2, "waivers[0]", "missing required key 'approved_by'"),
        ("containers: yes please\n", 1, "containers", "expected true or false"),
        ("weights:\n  min_size: big\n", 2, "weights.min_size", "expected a size"),
        ("weights:\n  min_size: 1KB\n", 2, "weights.min_size", "expected a size"),
        ("weights:\n  min_size: MiB\n", 2, "weights.min_size", "expected a size"),
        ("weights:\n  min_size: 1 MiB x\n", 2, "weights.min_size", "expected a size"),
        ("colour: blue\n", 1, "colour", "unknown key 'colour'"),
        ("environment: lab\n", 1, "environment", "unknown environment 'lab'"),
        ("access:\n  renewal_days: 0\n", 2, "access.renewal_days", "from 1 to 3660"),
        ("access:\n  renewal_days: soon\n", 2, "access.renewal_days", "expected an integer"),
        ("encryption:\n  attested_key_service: ''\n", 2, "encryption.attested_key_service", "must not be empty"),
    ])
    func malformedSiteNamesLineAndField(text: String, line: Int, field: String, fragment: String) {
        let error = #expect(throws: WardenError.self) { try Site.parse(text, file: "site.yaml", digester: .libcrypto) }
        #expect(error?.code == .malformed)
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("site.yaml:\(line):") == true)
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }
}

@Suite struct YAMLScalarTests {
    /// Plain scalars are typed after YAML 1.1; quoted ones are strings (checked through Site,
    /// whose `containers` wants a bool and `min_size` an int or a size string).
    @Test(arguments: [
        ("containers: yes\n", true), ("containers: Off\n", false), ("containers: TRUE\n", true),
    ])
    func plainBooleans(text: String, value: Bool) throws {
        #expect(try Site.parse(text, file: "s.yaml", digester: .libcrypto).containers == value)
    }

    @Test func quotedBooleanIsAString() {
        let error = #expect(throws: WardenError.self) { try Site.parse("containers: \"yes\"\n", file: "s.yaml", digester: .libcrypto) }
        #expect(error?.description.contains("expected true or false") == true)
    }

    @Test(
        arguments: [
            ("weights:\n  min_size: 2048\n", Int64(2048)), ("weights:\n  min_size: 0x10\n", Int64(16)),
            ("weights:\n  min_size: 010\n", Int64(8)),
            ("weights:\n  min_size: 1_000\n", Int64(1000)), ("weights:\n  min_size: '1MiB'\n", Int64(1 << 20)),
            ("weights:\n  min_size: 2 K\n", Int64(2 << 10)), ("weights:\n  min_size: 3G\n", Int64(3 << 30)),
            ("weights:\n  min_size: 5B\n", Int64(5)), ("weights:\n  min_size: 7 GiB\n", Int64(7 << 30)),
        ] as [(String, Int64)])
    func integers(text: String, value: Int64) throws {
        #expect(try Site.parse(text, file: "s.yaml", digester: .libcrypto).minSize == value, "\(text)")
    }

    @Test func emptyAndTildeAreNull() {
        let error = #expect(throws: WardenError.self) { try Site.parse("role: ~\n", file: "s.yaml", digester: .libcrypto) }
        #expect(error?.description.contains("expected a string, found null") == true)
        #expect(throws: WardenError.self) { try Site.parse("role:\n", file: "s.yaml", digester: .libcrypto) }
        // A quoted empty string is a string, not null (and not a valid role).
        let quoted = #expect(throws: WardenError.self) { try Site.parse("role: ''\n", file: "s.yaml", digester: .libcrypto) }
        #expect(quoted?.description.contains("unknown role ''") == true)
    }
}
