import HostFacts
import Testing
import WardenTestSupport

@Suite struct MountInfoTests {
    @Test(arguments: [
        ("/data/secure\\040weights", "/data/secure weights"),
        ("/a\\011tab\\012nl", "/a\ttab\nnl"),
        ("/back\\134slash", "/back\\slash"),
        ("/not\\9escape", "/not\\9escape"),
        ("/short\\04", "/short\\04"),
        ("/plain", "/plain"),
    ])
    func octalEscapes(field: String, decoded: String) {
        #expect(decodeOctalEscapes(field) == decoded)
    }

    @Test func fieldsOptionalFieldsAndSeparator() throws {
        let text = """
            36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue
            40 36 0:51 / /srv/nfs rw,relatime - nfs4 server:/export rw,vers=4.2,sec=krb5p,addr=10.0.0.2
            """
        let table = try MountTable.parse(text, source: "/proc/self/mountinfo")
        #expect(table.entries.count == 2)
        let e = table.entries[0]
        #expect(e.mountID == 36 && e.parentID == 35)
        #expect(e.major == 98 && e.minor == 0)
        #expect(e.root == "/mnt1")
        #expect(e.mountPoint == "/mnt 2")
        #expect(e.options == ["rw", "noatime"])
        #expect(e.optionalFields == ["master:1", "shared:7"])
        #expect(e.fstype == "ext3")
        #expect(e.source == "/dev/root")
        #expect(e.superOptions == ["rw", "errors=continue"])
        #expect(e.location == "/proc/self/mountinfo:1")
        let n = table.entries[1]
        #expect(n.optionalFields.isEmpty)
        #expect(n.option("sec") == "krb5p")
        #expect(n.option("relatime") == "")
        #expect(n.option("seal") == nil)
    }

    @Test func malformedLineIsAnErrorNamingTheLine() {
        let text = "21 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n22 21 8:2 / /boot rw shared:2 ext4 /dev/sda2 rw\n"
        let error = #expect(throws: MountInfoError.self) { try MountTable.parse(text, source: "/proc/1/mountinfo") }
        #expect(error?.location == "/proc/1/mountinfo:2")
        let badDevice = #expect(throws: MountInfoError.self) { try MountTable.parse("21 1 8-1 / / rw - ext4 /dev/sda1 rw\n", source: "m") }
        #expect(badDevice?.message.contains("MAJ:MIN") == true)
    }

    @Test func longestMountPointWinsAndStackedMountsTakeTheTopOne() throws {
        let text = """
            1 0 8:1 / / rw - ext4 /dev/sda1 rw
            2 1 8:2 / /srv rw - ext4 /dev/sda2 rw
            3 2 8:3 / /srv/weights rw - ext4 /dev/sda3 rw
            4 3 0:40 / /srv/weights rw - tmpfs tmpfs rw
            5 1 8:5 / /srv/weights-old rw - ext4 /dev/sda5 rw
            """
        let table = try MountTable.parse(text, source: "m")
        #expect(table.mount(containing: "/srv/weights/model.bin")?.fstype == "tmpfs")
        #expect(table.mount(containing: "/srv/weights")?.mountID == 4)
        // A sibling whose name extends the mount point is not below it.
        #expect(table.mount(containing: "/srv/weights-old/x")?.mountID == 5)
        #expect(table.mount(containing: "/srv/weightsx")?.mountID == 2)
        #expect(table.mount(containing: "/etc/passwd")?.mountID == 1)
    }

    @Test func readsPID1WhenPresentElseSelf() throws {
        let tree = TempTree()
        tree.file("proc/self/mountinfo", "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n")
        let root = try HostRoot(tree.path)
        #expect(try MountTable.read(from: root).source == "/proc/self/mountinfo")
        tree.file("proc/1/mountinfo", "1 0 8:2 / / rw - xfs /dev/sda2 rw\n")
        let table = try MountTable.read(from: root)
        #expect(table.source == "/proc/1/mountinfo")
        #expect(table.entries.first?.fstype == "xfs")
    }
}
