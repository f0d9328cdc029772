"""Build the static HTML portfolio report from the serving database.

    python scripts/report.py                     # data/serving/report/index.html
    python scripts/report.py --db path/to/customer_health.duckdb --out report/

See `--help`, and the README section "The portfolio report".
"""

from __future__ import annotations

import sys

from health_report.cli import main

if __name__ == "__main__":
    sys.exit(main())
