"""Sync health scores to HubSpot companies (or a CSV/JSONL file): changed rows only.

    python scripts/sync_crm.py sync --dry-run      # what would change
    python scripts/sync_crm.py sync                # send it (HUBSPOT_ACCESS_TOKEN)
    python scripts/sync_crm.py properties --apply  # create the company properties
    python scripts/sync_crm.py audit               # recent runs and rejected rows

See `--help` of each command, and the README section "Syncing scores to the CRM".
"""

from __future__ import annotations

import sys

from crm_sync.cli import main

if __name__ == "__main__":
    sys.exit(main())
