public import WardenCore
internal import WardenFormats

/// A Prometheus text-format file for node_exporter's textfile collector: the status of every
/// control, counts per status, the verdict, when the audit ran and how long it took.
public enum PrometheusReport {
    public static func render(_ doc: FindingsDocument, durationSeconds: Double) -> String {
        let profile = label(doc.profile.id)
        var out = """
            # HELP warden_control_status Status of each control in the last audit (1 for the current status).
            # TYPE warden_control_status gauge

            """
        for f in doc.findings {
            for status in Status.allCases {
                out +=
                    "warden_control_status{profile=\"\(profile)\",control=\"\(f.control)\",area=\"\(f.area.rawValue)\",severity=\"\(f.severity.rawValue)\",advisory=\"\(f.advisory)\",status=\"\(status.rawValue)\"} \(f.status == status ? 1 : 0)\n"
            }
        }
        let summary = doc.summary
        out += "# HELP warden_controls Controls per status in the last audit.\n# TYPE warden_controls gauge\n"
        for status in Status.allCases {
            out += "warden_controls{profile=\"\(profile)\",status=\"\(status.rawValue)\"} \(summary.counts[status] ?? 0)\n"
        }
        out += "# HELP warden_conformant 1 when the host conformed to the profile in the last audit.\n# TYPE warden_conformant gauge\n"
        out += "warden_conformant{profile=\"\(profile)\"} \(summary.verdict == .conformant ? 1 : 0)\n"
        out +=
            "# HELP warden_last_run_timestamp_seconds When the last audit finished (Unix time).\n# TYPE warden_last_run_timestamp_seconds gauge\n"
        out += "warden_last_run_timestamp_seconds{profile=\"\(profile)\"} \(doc.finishedAt.seconds)\n"
        out += "# HELP warden_last_run_duration_seconds How long the last audit took.\n# TYPE warden_last_run_duration_seconds gauge\n"
        out += "warden_last_run_duration_seconds{profile=\"\(profile)\"} \(durationSeconds)\n"
        return out
    }

    /// Escapes a label value (backslash, double quote, newline).
    static func label(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
