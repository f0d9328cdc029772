"""Build, test and publish the warehouse for BI tools.

    python scripts/publish.py                    # dbt build, then publish if every test passed
    python scripts/publish.py -- --select +marts # arguments after -- go to dbt build

See `--help`, and the README section "Serving BI tools".
"""

from __future__ import annotations

import sys

from serving.cli import main

if __name__ == "__main__":
    sys.exit(main())
