"""Dependencies: manifests parsed statically, exact pins audited by pip-audit without
installing anything, and the supply-chain rules that need no network (BOT601-BOT605).

The scan pipeline selects manifest files with `is_manifest` and hands their bytes to
`analyze_dependencies`; nothing in this package imports, builds or runs the scanned code.
"""

from botscan.deps.analyzer import AuditSettings, DependencyResult, analyze_dependencies
from botscan.deps.manifests import is_manifest

__all__ = ["AuditSettings", "DependencyResult", "analyze_dependencies", "is_manifest"]
