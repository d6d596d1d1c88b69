"""Run statistics: one :class:`RunStatistics` per analysis, filled batch by batch, rendered once.

Counts follow vidjil-algo's summary (reads per system with average length, SEG/SEG_+/SEG_-/SEG
changed w, and the UNSEG reasons), plus clone merging, timings and throughput.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vdj.statuses import STATUS_NAMES


@dataclass
class RunStatistics:
    """Totals of one run. Per-system dicts are keyed by system name."""

    total: int = 0
    total_length: int = 0
    segmented: int = 0
    segmented_length: int = 0
    segmented_plus: int = 0
    segmented_plus_length: int = 0
    segmented_minus: int = 0
    segmented_minus_length: int = 0
    changed_window: int = 0
    changed_window_length: int = 0
    reasons: dict[str, int] = field(default_factory=lambda: {name: 0 for name in STATUS_NAMES[1:]})
    reason_lengths: dict[str, int] = field(default_factory=lambda: {name: 0 for name in STATUS_NAMES[1:]})
    per_system: dict[str, int] = field(default_factory=dict)
    per_system_length: dict[str, int] = field(default_factory=dict)
    clones_per_system: dict[str, int] = field(default_factory=dict)
    windows: int = 0
    clones: int = 0
    reported_clones: int = 0
    shrunk_windows_merged: int = 0
    shrunk_reads_merged: int = 0
    error_windows_merged: int = 0
    error_reads_merged: int = 0
    seconds_reading_detecting: float = 0.0
    seconds_clustering: float = 0.0
    seconds_designation: float = 0.0
    seconds_total: float = 0.0
    cpu_seconds_main: float = 0.0

    @property
    def detected(self) -> int:
        """Reads with a junction found (segmented + junction too close to the read end)."""
        return self.segmented + self.reasons.get("UNSEG too short w", 0)

    def add(self, other: "RunStatistics") -> None:
        """Add the counts of ``other`` (a batch) to this one."""
        for name in ("total", "total_length", "segmented", "segmented_length", "segmented_plus",
                     "segmented_plus_length", "segmented_minus", "segmented_minus_length",
                     "changed_window", "changed_window_length"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for target, source in ((self.reasons, other.reasons), (self.reason_lengths, other.reason_lengths),
                               (self.per_system, other.per_system),
                               (self.per_system_length, other.per_system_length)):
            for key, value in source.items():
                target[key] = target.get(key, 0) + value

    def to_dict(self) -> dict:
        """JSON-ready dict of every count (for reports and the benchmarks)."""
        return {
            "total": self.total, "segmented": self.segmented, "detected": self.detected,
            "segmented_plus": self.segmented_plus, "segmented_minus": self.segmented_minus,
            "changed_window": self.changed_window, "reasons": dict(self.reasons),
            "per_system": dict(self.per_system), "clones_per_system": dict(self.clones_per_system),
            "windows": self.windows, "clones": self.clones, "reported_clones": self.reported_clones,
            "shrunk_windows_merged": self.shrunk_windows_merged,
            "shrunk_reads_merged": self.shrunk_reads_merged,
            "error_windows_merged": self.error_windows_merged,
            "error_reads_merged": self.error_reads_merged,
            "seconds": {"reading_detecting": round(self.seconds_reading_detecting, 3),
                        "clustering": round(self.seconds_clustering, 3),
                        "designation": round(self.seconds_designation, 3),
                        "total": round(self.seconds_total, 3),
                        "main_process_cpu_reading_detecting": round(self.cpu_seconds_main, 3)},
        }

    def render(self) -> str:
        """vidjil-algo-like text summary (also stored in the .vidjil ``samples.log``)."""
        def pct(n: int) -> str:
            return f"{100.0 * n / self.total:.2f}%" if self.total else "-"

        def avg(total: int, n: int) -> str:
            return f"{total / n:8.1f}" if n else "       -"

        lines = [
            f"  ==> junction detected in {self.detected} reads ({pct(self.detected)})",
            f"  ==> found {self.windows} windows in {self.segmented} reads ({pct(self.segmented)} of {self.total} reads)",
            f"  ==> {self.clones} clones after merging {self.error_windows_merged} error windows "
            f"({self.error_reads_merged} reads) and {self.shrunk_windows_merged} shrunk windows "
            f"({self.shrunk_reads_merged} reads); {self.reported_clones} reported",
            "                          reads  av. len     clones clo/rds",
        ]
        for system in sorted(self.per_system):
            n = self.per_system[system]
            clones = self.clones_per_system.get(system, 0)
            ratio = f"{clones / n:7.3f}" if n else "      -"
            lines.append(f"  {system:<17} -> {n:8d} {avg(self.per_system_length.get(system, 0), n)} {clones:10d} {ratio}")
        lines.append("")
        lines.append(f"  {'SEG':<17} -> {self.segmented:8d} {avg(self.segmented_length, self.segmented)}")
        lines.append(f"  {'SEG_+':<17} -> {self.segmented_plus:8d} {avg(self.segmented_plus_length, self.segmented_plus)}")
        lines.append(f"  {'SEG_-':<17} -> {self.segmented_minus:8d} {avg(self.segmented_minus_length, self.segmented_minus)}")
        lines.append(f"  {'SEG changed w':<17} -> {self.changed_window:8d} {avg(self.changed_window_length, self.changed_window)}")
        lines.append("")
        for reason in STATUS_NAMES[1:]:
            n = self.reasons.get(reason, 0)
            lines.append(f"  {reason:<17} -> {n:8d} {avg(self.reason_lengths.get(reason, 0), n)}")
        return "\n".join(lines) + "\n"
