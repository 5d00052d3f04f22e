"""This machine's memory: the process's resident set (/proc) against its container's limit
(cgroup v2 `memory.max`, else v1 `memory.limit_in_bytes`), or the configured one."""

from __future__ import annotations

from pathlib import Path

_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)
# a cgroup without a limit reports `max` (v2) or a huge number (v1): no limit, really
_NO_LIMIT = 1 << 60


class ProcessMemory:
    def __init__(self, configured_limit: int, status: Path = Path("/proc/self/status")) -> None:
        self._configured = configured_limit
        self._status = status

    def used_bytes(self) -> int:
        """VmRSS from /proc/self/status (kB); 0 where there is no /proc."""
        try:
            for line in self._status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return 0
        return 0

    def limit_bytes(self) -> int:
        """MEMORY_LIMIT_BYTES when set, else the cgroup's limit, else 0 (unknown)."""
        if self._configured > 0:
            return self._configured
        for path in _CGROUP_LIMITS:
            try:
                raw = path.read_text().strip()
            except OSError:
                continue
            if raw.isdigit() and int(raw) < _NO_LIMIT:
                return int(raw)
        return 0
