"""/admin/jobs: the Retry button in a real browser against real processes; tenant isolation."""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from app.extensions import db
from app.models import JobExecution
from app.services import jobs as job_records
from tests.conftest import login
from tests.integration.jobs.testing_tasks import read_lines

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.mark.e2e
@pytest.mark.parametrize("broker", ["sqlite"], indirect=True)  # a browser run is slow: one broker is enough
def test_retry_button_requeues_a_failed_job_and_the_row_shows_it_succeeded(stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    # The test web app registers the test-only jobs, so the Retry button can requeue one.
    web = stack.start_web("tests.integration.jobs.web_app:app", ready=False)
    stack.start_worker()
    counter = str(tmp_path / "runs")
    job_id = stack.enqueue("testonly.fail_first_run", stack.seed.acme_id, counter)
    # Two tenants' jobs running side by side in the worker's two threads: each is recorded for its own tenant.
    overlap = str(tmp_path / "overlap")
    ours = stack.enqueue("testonly.tenant_job", stack.seed.acme_id, 2.0, 0.0, overlap)
    theirs = stack.enqueue("testonly.tenant_job", stack.seed.globex_id, 0.3, 3.0, overlap)
    failed = stack.wait_for_job(job_id, ("failed",), timeout=30)
    assert (failed.tenant_id, failed.attempt) == (stack.seed.acme_id, 1)
    expect = sync_api.expect
    web.wait_ready()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(web.url + "/login")
            page.get_by_label("Email").fill(stack.seed.acme_admin)
            page.get_by_label("Password").fill(stack.seed.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(web.url + "/tickets**")
            page.get_by_role("navigation", name="Main").get_by_text("Manage").click()  # the admin menu
            page.get_by_role("link", name="Jobs").click()
            page.wait_for_url(web.url + "/admin/jobs")

            ours_row = stack.wait_for_job(ours, ("succeeded",), timeout=30)
            theirs_row = stack.wait_for_job(theirs, ("succeeded",), timeout=30)
            assert (ours_row.tenant_id, theirs_row.tenant_id) == (stack.seed.acme_id, stack.seed.globex_id)
            assert {(r["job_id"], r["tenant_id"]) for r in read_lines(overlap)} == {
                (ours, stack.seed.acme_id), (theirs, stack.seed.globex_id)}
            page.reload()
            expect(page.locator(f"#job-{ours_row.id}")).to_be_visible()
            expect(page.locator(f"#job-{theirs_row.id}")).to_have_count(0)

            row = page.locator(f"#job-{failed.id}")
            expect(row).to_contain_text("testonly.fail_first_run")
            expect(row.locator(".badge")).to_have_text("Failed")
            expect(row).to_contain_text("PermanentJobError: the first run fails on purpose")
            page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded

            row.get_by_role("button", name="Retry").click()
            expect(page.locator(f"#retry-{failed.id}")).to_have_text("Job testonly.fail_first_run is queued again.")

            done = stack.wait_for_job(job_id, ("succeeded",), timeout=30)
            assert done.id == failed.id and done.error is None
            # The live block refreshes every 5 seconds (hx-trigger="every 5s").
            expect(page.locator(f"#job-{failed.id} .badge")).to_have_text("Succeeded", timeout=15_000)
            expect(page.locator(f"#job-{failed.id}").get_by_role("button", name="Retry")).to_have_count(0)
            assert page.evaluate("window.__sameDocument") is True
            assert page.url == web.url + "/admin/jobs"
        finally:
            browser.close()

    runs = read_lines(counter)
    assert [r["job_id"] for r in runs] == [job_id, job_id]


# -- in process: a tenant admin sees and retries only their own workspace's jobs ---------------
def _failed_job(tenant_id: int, task_name: str, args: tuple) -> int:
    job_id = secrets.token_hex(8)
    job_records.start_attempt(job_id, task_name, args, {}, 1, 1, 60)
    job_records.set_tenant(job_id, tenant_id)
    job_records.finish_attempt(job_id, duration_ms=3, error=job_records.PermanentJobError("boom"), retry_at=None)
    return db.session.query(JobExecution.id).filter_by(job_id=job_id).scalar()


def test_admin_sees_and_retries_only_their_workspace_jobs(app, acme, globex):
    with app.app_context():
        # Real task names: a retry runs inline here (Huey's immediate mode in the test app).
        ours = _failed_job(acme.tenant.id, "ticket.process_event", ("no-such-event",))
        theirs = _failed_job(globex.tenant.id, "maintenance.relay_outbox_again", ())
        db.session.remove()

    client = app.test_client()
    assert login(client, acme.admin).status_code == 302
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert f'id="job-{ours}"' in html
    assert f'id="job-{theirs}"' not in html
    assert "maintenance.relay_outbox_again" not in html  # not even in the task filter
    fragment = client.get("/admin/jobs", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'id="job-{ours}"' in fragment and f'id="job-{theirs}"' not in fragment

    assert client.post(f"/admin/jobs/{theirs}/retry").status_code == 404
    assert client.post(f"/admin/jobs/{theirs}/retry", headers={"HX-Request": "true"}).status_code == 404
    assert client.post(f"/admin/jobs/{ours}/retry").status_code == 302

    with app.app_context():
        states = dict(db.session.query(JobExecution.id, JobExecution.state).all())
        db.session.remove()
    assert states[theirs] == "failed"
    assert states[ours] == "succeeded"  # requeued and, in immediate mode, run at once

    other = app.test_client()
    assert login(other, globex.admin).status_code == 302
    html = other.get("/admin/jobs").get_data(as_text=True)
    assert f'id="job-{theirs}"' in html and f'id="job-{ours}"' not in html

    agent = app.test_client()
    assert login(agent, acme.agent).status_code == 302
    assert agent.get("/admin/jobs").status_code == 403
    assert agent.post(f"/admin/jobs/{ours}/retry").status_code == 403
