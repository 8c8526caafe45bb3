import Glibc
import HostFacts
import Testing
import WardenTestSupport

@Suite struct HostRootTests {
    @Test func absoluteSymlinkIsReRootedNotFollowedOut() throws {
        let tree = TempTree()
        tree.file("etc/shadow", "fixture-shadow\n")
        tree.symlink("etc/link", to: "/etc/shadow")
        let root = try HostRoot(tree.path)
        #expect(try root.resolve("/etc/link") == "/etc/shadow")
        #expect(try root.readText("/etc/link") == "fixture-shadow\n")
    }

    @Test func dotDotNeverClimbsAboveTheRoot() throws {
        let tree = TempTree()
        tree.file("etc/passwd", "inside\n")
        tree.symlink("a/b", to: "../../../../../../etc/passwd")
        let root = try HostRoot(tree.path)
        #expect(try root.resolve("/a/b") == "/etc/passwd")
        #expect(try root.readText("/a/b") == "inside\n")
        #expect(try root.resolve("/../../etc/passwd") == "/etc/passwd")
    }

    @Test func symlinkOutOfTheRootToAMissingFileIsNotFound() throws {
        let tree = TempTree()
        tree.symlink("etc/shadow", to: "/etc/shadow")  // exists on the real host, not in the tree
        let root = try HostRoot(tree.path)
        #expect(throws: HostError.self) { try root.read("/etc/shadow") }
    }

    @Test func symlinkLoopIsELOOP() throws {
        let tree = TempTree()
        tree.symlink("a", to: "/b")
        tree.symlink("b", to: "/a")
        let root = try HostRoot(tree.path)
        let error = try #require(throws: HostError.self) { try root.read("/a") }
        #expect(error.errno == ELOOP)
    }

    @Test func fifoIsRefusedWithoutBlocking() throws {
        let tree = TempTree()
        tree.directory("etc")
        mkfifo(tree.path + "/etc/sshd_config", 0o644)
        let root = try HostRoot(tree.path)
        let error = try #require(throws: HostError.self) { try root.read("/etc/sshd_config") }
        #expect(error.message.contains("not a regular file"))
    }

    @Test func readsAreBounded() throws {
        let tree = TempTree()
        tree.bytes("big", [UInt8](repeating: 65, count: 5000))
        let root = try HostRoot(tree.path)
        let error = try #require(throws: HostError.self) { try root.read("/big", limit: 4096) }
        #expect(error.errno == EFBIG)
        #expect(try root.readHead("/big", count: 100).count == 100)
    }

    @Test func readsAreLoggedWithTheirDigest() throws {
        let tree = TempTree()
        tree.file("etc/hostname", "abc")
        let root = try HostRoot(tree.path)
        _ = try root.read("/etc/hostname")
        #expect(root.log.snapshot["/etc/hostname"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func permissionDeniedCarriesTheErrno() throws {
        guard getuid() != 0 else { return }  // root reads anything; the audit test covers root with a mode-000 file via EACCES-free paths
        let tree = TempTree()
        tree.file("secret", "x", mode: 0)
        let root = try HostRoot(tree.path)
        let error = try #require(throws: HostError.self) { try root.read("/secret") }
        #expect(error.isPermissionDenied)
    }

    @Test func missingRootIsAnError() {
        #expect(throws: HostError.self) { try HostRoot("/nonexistent/warden-root") }
    }
}
