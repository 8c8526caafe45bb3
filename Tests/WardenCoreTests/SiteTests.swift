import Testing
import WardenCore

@Suite struct SiteTests {
    @Test func fullSchemaParses() throws {
        let text = """
        role: training
        containers: true
        weights:
          paths: [/srv/weights, /data/ckpt]
          owner: mlsvc
          group: weights
          allowed_principals: [alice, ml-admins]
          canary: [/srv/weights/.canary]
          scan_roots: [/home, /tmp]
          min_size: 4MiB
        network:
          allowed_listeners: [tcp/22, udp/123]
        services:
          edr_units: [falcon-sensor.service]
          weights_units: [vllm.service]
        waivers:
          - control: ACC-006
            reason: FIDO keys on order
            approved_by: ciso@example.org
            expires: 2027-01-31
        """
        let site = try Site.parse(text, file: "site.yaml")
        #expect(site.role == .training)
        #expect(site.containers)
        #expect(site.weightsPaths == ["/srv/weights", "/data/ckpt"])
        #expect(site.minSize == 4 << 20)
        #expect(site.allowedListeners == ["tcp/22", "udp/123"])
        #expect(site.waivers.first?.expires.description == "2027-01-31T23:59:59Z")
        #expect(site.waivers.first?.line == 17)
        #expect(site.json["weights"]?["owner"] == "mlsvc")
        #expect(site.sha256 == SHA256.hex(Array(text.utf8)))
    }

    @Test(arguments: [
        ("weights:\n  pathz: [/srv]\n", 2, "weights.pathz", "did you mean 'paths'"),
        ("role: gpu\n", 1, "role", "unknown role 'gpu'"),
        ("weights:\n  paths: [srv/weights]\n", 2, "weights.paths[0]", "must be an absolute path"),
        ("network:\n  allowed_listeners: [ssh]\n", 2, "network.allowed_listeners[0]", "tcp/22"),
        ("waivers:\n  - control: ACC-004\n    reason: r\n    approved_by: a\n    expires: soon\n", 5, "waivers[0].expires", "expected a date"),
        ("waivers:\n  - control: ACC-004\n    reason: r\n", 2, "waivers[0]", "missing required key 'approved_by'"),
        ("containers: yes please\n", 1, "containers", "expected true or false"),
        ("weights:\n  min_size: big\n", 2, "weights.min_size", "expected a size"),
        ("colour: blue\n", 1, "colour", "unknown key 'colour'"),
    ])
    func malformedSiteNamesLineAndField(text: String, line: Int, field: String, fragment: String) {
        let error = #expect(throws: WardenError.self) { try Site.parse(text, file: "site.yaml") }
        #expect(error?.code == .malformed)
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("site.yaml:\(line):") == true)
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }
}
