/// A point in time as whole seconds since the Unix epoch, UTC. Time is always passed in
/// (docs/ARCHITECTURE.md: injected "now"), so evaluation and documents are deterministic.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.seconds < b.seconds }

    /// RFC 3339 in UTC with a `Z`: `2026-11-29T08:38:14Z`.
    public var description: String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secs = seconds - days * 86400
        let (y, m, d) = Timestamp.civil(fromDays: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(y)
        return
            "\(String(repeating: "0", count: max(0, 4 - year.count)))\(year)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60))Z"
    }

    /// Parses RFC 3339 (`2026-11-29T08:38:14Z`, `…+02:00`, fractional seconds dropped) or a bare
    /// date (`2026-11-29`, taken as the *end* of that day when `dateMeansEndOfDay`, as an expiry date reads).
    public init?(rfc3339 text: String, dateMeansEndOfDay: Bool = false) {
        let s = Array(text.utf8)
        func num(_ r: Range<Int>) -> Int64? {
            guard r.upperBound <= s.count, !r.isEmpty else { return nil }
            var v: Int64 = 0
            for i in r {
                guard (48...57).contains(s[i]) else { return nil }
                v = v * 10 + Int64(s[i] - 48)
            }
            return v
        }
        guard s.count >= 10, s[4] == 45, s[7] == 45,
            let y = num(0..<4), let m = num(5..<7), let d = num(8..<10),
            (1...12).contains(m), d >= 1, d <= Timestamp.daysIn(month: m, year: y)
        else { return nil }
        let days = Timestamp.days(fromCivil: y, m, d)
        if s.count == 10 {
            seconds = days * 86400 + (dateMeansEndOfDay ? 86399 : 0)
            return
        }
        guard s.count >= 20, s[10] == 84 || s[10] == 116 || s[10] == 32, s[13] == 58, s[16] == 58,
            let hh = num(11..<13), let mm = num(14..<16), let ss = num(17..<19), hh < 24, mm < 60, ss < 61
        else { return nil }
        var i = 19
        if s[i] == 46 {
            i += 1
            let start = i
            while i < s.count, (48...57).contains(s[i]) { i += 1 }
            guard i > start else { return nil }
        }
        guard i < s.count else { return nil }
        var offset: Int64 = 0
        if s[i] == 90 || s[i] == 122 {
            guard i + 1 == s.count else { return nil }
        } else if s[i] == 43 || s[i] == 45 {
            guard i + 6 == s.count, s[i + 3] == 58, let oh = num(i + 1..<i + 3), let om = num(i + 4..<i + 6), oh < 24, om < 60 else {
                return nil
            }
            offset = (oh * 3600 + om * 60) * (s[i] == 43 ? 1 : -1)
        } else {
            return nil
        }
        seconds = days * 86400 + hh * 3600 + mm * 60 + min(ss, 59) - offset
    }

    static func daysIn(month m: Int64, year y: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
