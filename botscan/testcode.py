"""Is a file test code? Tests never run in production, so some findings mean little there.

In test code botscan does not report plain-text URLs or TLS switches (they point at mock
servers and fixtures), nor human-chosen passwords (`"testpass"`, `"WrongPassword"`). It still
reports random-looking keys, private keys and seed phrases: a real key pasted into a test is as
leaked as one in the bot.
"""

from __future__ import annotations

import re

_TEST_DIRS = frozenset({"test", "tests", "testing", "unit_tests", "integration_tests",
                        "__tests__", "spec", "specs"})
_TEST_FILE = re.compile(r"^(test_.*|.*_test|tests?|conftest)\.pyi?$")


def is_test_path(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    return bool(_TEST_FILE.match(parts[-1])) or any(p.lower() in _TEST_DIRS for p in parts[:-1])
