internal import Glibc

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, carriage returns and newlines.
    var trimmed: Substring {
        let u = Substring(self).utf8
        var start = u.startIndex
        var end = u.endIndex
        while start < end, isBlank(u[start]) { start = u.index(after: start) }
        while end > start, isBlank(u[u.index(before: end)]) { end = u.index(before: end) }
        return Substring(u[start..<end])
    }

    /// Splits on runs of spaces, tabs and newlines (a file such as /proc/cmdline ends with a
    /// newline that is no part of its last word). A carriage return stays in its word, as it
    /// does for kmod and the shell its install commands run in.
    var words: [Substring] {
        Substring(self).utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A }).map { Substring($0) }
    }
}

private func isBlank(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
}

/// The lines of `text`, split at each "\n" as the daemons' line readers split them (a "\r"
/// before it stays on its line; `trimmed` removes it). A final newline ends the last line and
/// leaves an empty one after it, so that the 1-based line numbers are the editor's.
func lines(_ text: String) -> [Substring] {
    let u = text.utf8
    var out: [Substring] = []
    var start = u.startIndex
    var i = start
    while i != u.endIndex {
        if u[i] == 0x0A {
            out.append(Substring(u[start..<i]))
            start = u.index(after: i)
        }
        i = u.index(after: i)
    }
    out.append(Substring(u[start..<u.endIndex]))
    return out
}

/// The lines of a configuration file with their 1-based numbers, comments (from `comment` to the
/// end of the line, when the line starts with it after white space) and blank lines removed.
func configLines(_ text: String, comments: Set<Character> = ["#"]) -> [(number: Int, text: Substring)] {
    var out: [(Int, Substring)] = []
    for (i, raw) in lines(text).enumerated() {
        let line = raw.trimmed
        if line.isEmpty { continue }
        if let f = line.first, comments.contains(f) { continue }
        out.append((i + 1, line))
    }
    return out
}

/// Shell-style pattern match (`*`, `?`, `[...]`), as glob(3) applies it to one path component.
func fnmatchName(_ pattern: String, _ name: String) -> Bool {
    fnmatch(pattern, name, FNM_PERIOD) == 0
}

extension HostRoot {
    /// The `*.conf` files of a set of drop-in directories in the order the systemd family of
    /// tools applies them: sorted by file name across all directories, a file in an earlier
    /// directory masking a same-named one in a later directory. Files linked to /dev/null mask
    /// and are left out. Unreadable directories (other than missing ones) go into `problems`.
    func dropInFiles(in directories: [String], suffix: String = ".conf", problems: inout [String]) -> [String] {
        var byName: [String: String] = [:]
        for dir in directories {
            let names: [String]
            do { names = try list(dir) } catch {
                if !error.isNotFound { problems.append(error.description) }
                continue
            }
            for name in names where name.hasSuffix(suffix) && byName[name] == nil {
                byName[name] = joinPath(dir, name)
            }
        }
        return byName.sorted(by: { $0.key < $1.key }).map(\.value).filter { !isMasked($0) }
    }

    /// Whether `path` is masked: a symlink to /dev/null (systemd and modprobe read the link
    /// target literally; the root need not contain a /dev).
    func isMasked(_ path: String) -> Bool {
        (try? readLink(path)) == "/dev/null" || (try? resolve(path)) == "/dev/null"
    }

    /// Expands a glob whose wildcards are in the last component only (`/etc/ssh/sshd_config.d/*.conf`),
    /// sorted lexically as glob(3) does. A pattern without wildcards is returned as is.
    func glob(_ pattern: String) throws(HostError) -> [String] {
        guard pattern.contains(where: { "*?[".contains($0) }) else { return [pattern] }
        guard let slash = pattern.lastIndex(of: "/") else { return [] }
        let dir = String(pattern[..<slash]).isEmpty ? "/" : String(pattern[..<slash])
        let namePattern = String(pattern[pattern.index(after: slash)...])
        guard !dir.contains(where: { "*?[".contains($0) }) else {
            throw HostError(path: pattern, errno: EINVAL, message: "wildcards in directory components are not supported")
        }
        let names: [String]
        do {
            names = try list(dir)
        } catch {
            if error.isNotFound { return [] }
            throw error
        }
        return names.filter { fnmatchName(namePattern, $0) }.map { joinPath(dir, $0) }
    }
}

/// `ls -v`'s order of two file names (GNU coreutils 9.1, gnulib's `filevercmp`, then `strcmp` when
/// it finds them equal): runs of digits compare as numbers, letters before other characters,
/// `~` before everything, a trailing suffix like `.rules` compared only when the rest is equal.
/// Negative, zero or positive, as `strcmp`.
package func versionOrder(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    let v = fileVersionCompare(x, y)
    if v != 0 { return v }
    return x.lexicographicallyPrecedes(y) ? -1 : x == y ? 0 : 1
}

private func fileVersionCompare(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.isEmpty ? 0 : -1 }
    if b.isEmpty { return 1 }
    // ".", then "..", then other names starting with ".", then the rest.
    let dot = UInt8(ascii: ".")
    if a[0] == dot {
        if b[0] != dot { return -1 }
        if a == [dot] { return b == [dot] ? 0 : -1 }
        if b == [dot] { return 1 }
        if a == [dot, dot] { return b == [dot, dot] ? 0 : -1 }
        if b == [dot, dot] { return 1 }
    } else if b[0] == dot {
        return 1
    }
    let ap = suffixStart(a)
    let bp = suffixStart(b)
    let result = versionCompare(a[..<ap], b[..<bp])
    if result != 0 || (ap == a.count && bp == b.count) { return result }
    return versionCompare(a[...], b[...])
}

private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
private func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }

/// Where the longest suffix matching `(\.[A-Za-z~][A-Za-z0-9~]*)*$` starts (gnulib's
/// `file_prefixlen`).
private func suffixStart(_ s: [UInt8]) -> Int {
    let n = s.count
    var prefix = 0
    var i = 0
    while true {
        if i == n { return prefix }
        i += 1
        prefix = i
        while i + 1 < n, s[i] == UInt8(ascii: "."), isAlpha(s[i + 1]) || s[i + 1] == UInt8(ascii: "~") {
            i += 2
            while i < n, isAlpha(s[i]) || isDigit(s[i]) || s[i] == UInt8(ascii: "~") { i += 1 }
        }
    }
}

/// dpkg's `verrevcmp` as gnulib adapts it.
private func versionCompare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
    func order(_ s: ArraySlice<UInt8>, _ pos: Int) -> Int {
        if pos >= s.endIndex { return -1 }
        let c = s[pos]
        if isDigit(c) { return 0 }
        if isAlpha(c) { return Int(c) }
        if c == UInt8(ascii: "~") { return -2 }
        return Int(c) + 256
    }
    var i = a.startIndex
    var j = b.startIndex
    while i < a.endIndex || j < b.endIndex {
        var firstDiff = 0
        while (i < a.endIndex && !isDigit(a[i])) || (j < b.endIndex && !isDigit(b[j])) {
            let ac = order(a, i)
            let bc = order(b, j)
            if ac != bc { return ac - bc }
            i += 1
            j += 1
        }
        while i < a.endIndex, a[i] == UInt8(ascii: "0") { i += 1 }
        while j < b.endIndex, b[j] == UInt8(ascii: "0") { j += 1 }
        while i < a.endIndex, j < b.endIndex, isDigit(a[i]), isDigit(b[j]) {
            if firstDiff == 0 { firstDiff = Int(a[i]) - Int(b[j]) }
            i += 1
            j += 1
        }
        if i < a.endIndex, isDigit(a[i]) { return 1 }
        if j < b.endIndex, isDigit(b[j]) { return -1 }
        if firstDiff != 0 { return firstDiff }
    }
    return 0
}

/// A shell value without one pair of surrounding quotes (`"a b"` and `'a b'` → `a b`).
func unquoted(_ value: Substring) -> Substring {
    if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { return value.dropFirst().dropLast() }
    return value
}
