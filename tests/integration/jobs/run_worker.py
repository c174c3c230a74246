"""The Ticketry consumer with the test-only jobs registered: the test suite's worker process.

    python tests/integration/jobs/run_worker.py [huey_worker.py options]
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.integration.jobs import testing_tasks  # noqa: E402,F401  (registers testonly.* jobs)

import huey_worker  # noqa: E402

if __name__ == "__main__":
    huey_worker.main()
