"""`python -m botscan` runs the CLI.

`python -m` puts the working directory first on `sys.path`. Inside a downloaded bot that would
let the bot's own `click.py` or `libcst.py` shadow botscan's dependencies and run as they are
imported, so it is dropped before anything else is imported (the `botscan` package itself is
already loaded by then).
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from botscan.cli import main

main()
