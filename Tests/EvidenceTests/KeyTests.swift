import Evidence
import Glibc
import HostFacts
import LocalFiles
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = text.makeIterator()
    while let a = chars.next(), let b = chars.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

func mode(of path: String) -> UInt32 {
    var st = stat()
    stat(path, &st)
    return UInt32(st.st_mode) & 0o7777
}

@Suite struct KeyTests {
    /// RFC 8032 §7.1 TEST 2, loaded as PKCS#8 (the RFC 8410 prefix before the 32-byte seed).
    @Test func ed25519MatchesRFC8032() throws {
        let tree = TempTree()
        let pkcs8 = hex("302e020100300506032b657004220420") + hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
        let pem = "-----BEGIN PRIVATE KEY-----\n\(Base64.encode(pkcs8))\n-----END PRIVATE KEY-----\n"
        let key = try PrivateKey.load(tree.file("k.pem", pem, mode: 0o600))
        #expect(key.algorithm == .ed25519)
        #expect(Array(key.publicKey.spkiDER.suffix(32)) == hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"))
        let signature = try key.sign([0x72])
        #expect(
            signature
                == hex(
                    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
                ))
        #expect(key.publicKey.isValidSignature(signature, for: [0x72]))
    }

    @Test(arguments: KeyAlgorithm.allCases)
    func signAndVerifyRoundTrip(_ algorithm: KeyAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let message = Array("DSSEv1 28 application/vnd.in-toto+json 2 {}".utf8)
        let signature = try key.sign(message)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        switch algorithm {
        case .ed25519: #expect(signature.count == 64)
        case .ecdsaP256: #expect((68...72).contains(signature.count) && signature.first == 0x30, "DER SEQUENCE")
        }
        var flipped = message
        flipped[5] ^= 0x01
        #expect(!key.publicKey.isValidSignature(signature, for: flipped))
        var badSignature = signature
        badSignature[badSignature.count - 2] ^= 0x01
        #expect(!key.publicKey.isValidSignature(badSignature, for: message))
        #expect(!(try PrivateKey.generate(algorithm)).publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature([], for: message))
    }

    @Test(arguments: KeyAlgorithm.allCases)
    func keyIDIsTheSHA256OfTheSubjectPublicKeyInfo(_ algorithm: KeyAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        #expect(key.keyID == sha256Hex(key.publicKey.spkiDER))
        #expect(key.keyID.count == 64)
        let reloaded = try PublicKey(pem: Array(key.publicKey.pem.utf8))
        #expect(reloaded.keyID == key.keyID)
        #expect(reloaded.algorithm == algorithm)
        #expect(key.publicKey.pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
    }

    @Test(arguments: KeyAlgorithm.allCases)
    func writtenKeysAreMode0600AndLoadBack(_ algorithm: KeyAlgorithm) throws {
        let tree = TempTree()
        let path = tree.path + "/key.pem"
        let key = try PrivateKey.generate(algorithm)
        try key.writePEM(toNewFile: path)
        #expect(mode(of: path) == 0o600)
        let text = try LocalFile.readText(path)
        #expect(text.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let loaded = try PrivateKey.load(path)
        #expect(loaded.keyID == key.keyID)
        #expect(loaded.providerName == nil)
        #expect(key.publicKey.isValidSignature(try loaded.sign([1, 2, 3]), for: [1, 2, 3]))
    }

    @Test func newKeysNeverOverwriteAFile() throws {
        let tree = TempTree()
        let path = tree.file("key.pem", "precious\n", mode: 0o600)
        #expect {
            try PrivateKey.generate(.ed25519).writePEM(toNewFile: path)
        } throws: { ($0 as? OpenSSLError)?.kind == .fileExists }
        #expect(try LocalFile.readText(path) == "precious\n")
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o602] as [UInt32])
    func privateKeysOthersCanAccessAreRefused(_ fileMode: UInt32) throws {
        let tree = TempTree()
        let path = tree.path + "/key.pem"
        try PrivateKey.generate(.ed25519).writePEM(toNewFile: path)
        chmod(path, mode_t(fileMode))
        #expect {
            try PrivateKey.load(path)
        } throws: { error in
            guard let e = error as? OpenSSLError else { return false }
            return e.kind == .insecurePermissions && e.description.contains("mode 0\(String(fileMode, radix: 8))")
                && e.description.contains("chmod 600")
        }
        chmod(path, 0o400)
        #expect(try PrivateKey.load(path).algorithm == .ed25519)
    }

    @Test func unusableKeyFilesSayWhy() throws {
        let tree = TempTree()
        #expect { try PrivateKey.load(tree.path + "/absent.pem") } throws: { ($0 as? OpenSSLError)?.kind == .missingFile }
        let garbage = tree.file("garbage.pem", "not a key\n", mode: 0o600)
        #expect { try PrivateKey.load(garbage) } throws: { error in
            guard let e = error as? OpenSSLError else { return false }
            return e.kind == .invalidKey && e.description.hasPrefix(garbage + ": reading a PEM private key")
        }
        let encrypted = tree.file(
            "enc.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", mode: 0o600)
        #expect { try PrivateKey.load(encrypted) } throws: {
            ($0 as? OpenSSLError)?.message.contains("encrypted private keys are not supported") == true
        }
        // An RSA key is a valid key of a kind Warden does not sign with.
        let rsa = tree.path + "/rsa.pem"
        let r = run("/usr/bin/openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", rsa])
        try #require(r.status == 0, "\(r.stderr)")
        chmod(rsa, 0o600)
        #expect { try PrivateKey.load(rsa) } throws: { ($0 as? OpenSSLError)?.message.contains("unsupported key type") == true }
    }
}

@Suite struct PublicKeyReadingTests {
    /// Warden reads PEM public keys itself (OpenSSL's PEM reader is 100 times slower per key);
    /// what it reads must be what OpenSSL reads.
    @Test(arguments: KeyAlgorithm.allCases)
    func pemAndDERGiveTheKeyOpenSSLWrote(_ algorithm: KeyAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let fromPEM = try PublicKey(pem: Array(("some text before\n" + key.publicKey.pem + "and after\n").utf8))
        let fromDER = try PublicKey(spkiDER: key.publicKey.spkiDER)
        for loaded in [fromPEM, fromDER] {
            #expect(loaded.keyID == key.keyID)
            #expect(loaded.spkiDER == key.publicKey.spkiDER)
            #expect(loaded.algorithm == algorithm)
            #expect(loaded.pem == key.publicKey.pem)
            #expect(loaded.isValidSignature(try key.sign([1, 2, 3]), for: [1, 2, 3]))
        }
        let crlf = key.publicKey.pem.replacingOccurrences("\n", "\r\n")
        #expect(try PublicKey(pem: Array(crlf.utf8)).keyID == key.keyID)
    }

    @Test func brokenKeysAreRefused() throws {
        let der = try PrivateKey.generate(.ed25519).publicKey.spkiDER
        var wrongOID = der
        wrongOID[8] ^= 0x01
        var short = der
        short.removeLast()
        for bad in [wrongOID, short, [UInt8](repeating: 0, count: 44), []] {
            #expect(throws: OpenSSLError.self) { try PublicKey(spkiDER: bad) }
        }
        let body = Base64.encode(der)
        for text in [
            "-----BEGIN PUBLIC KEY-----\n\(body.dropLast(4))\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\n\(body)\n",
            "-----BEGIN PUBLIC KEY-----\n!\(body.dropFirst())\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\n=\(body.dropFirst())\n-----END PUBLIC KEY-----\n",
            "no key here\n",
        ] {
            #expect(throws: OpenSSLError.self, "\(text)") { try PublicKey(pem: Array(text.utf8)) }
        }
    }
}

@Suite struct PublicKeyPEMTests {
    /// `PublicKey.pem` is written by Warden; it must be the bytes OpenSSL writes for the key.
    @Test(arguments: KeyAlgorithm.allCases)
    func pemIsWhatOpenSSLWrites(_ algorithm: KeyAlgorithm) throws {
        let tree = TempTree()
        let path = tree.path + "/key.pem"
        let key = try PrivateKey.generate(algorithm)
        try key.writePEM(toNewFile: path)
        let openssl = run("/usr/bin/openssl", ["pkey", "-in", path, "-pubout"])
        #expect(openssl.status == 0, "\(openssl.stderr)")
        #expect(key.publicKey.pem == openssl.stdout)
    }
}
