"""The workbench's replays as jobs (issue 16): a replay of more records than are replayed inline
runs as a job whose progress its owner reads (and nobody else), in process or, with
REDIS_URL, on an RQ worker that takes only the replay's id."""
from __future__ import annotations

import time


import workbenchkit
from workbenchkit import ALERTS, THRESHOLD, as_, open_alerts, put, rows

repo, app_config, bench = workbenchkit.repo, workbenchkit.app_config, workbenchkit.bench   # fixtures


def test_a_long_replay_runs_as_a_job_with_progress(app, bench, monkeypatch):
    from trimtab.server.jobs import replays
    from trimtab.server.storage.drafts import ReplayJob
    monkeypatch.setattr(replays, "INLINE_RECORDS", 1)
    client, _ = bench
    draft = open_alerts(app, client)
    did = draft["id"]
    text = client.get(f"/v1/drafts/{did}/file?path={ALERTS}", headers=as_(app, "hr.east")).get_json()["text"]
    put(app, client, did, text.replace(*THRESHOLD), draft["files"][0]["etag"])
    r = client.post(f"/v1/drafts/{did}/replay", json={"subject": "east.li"}, headers=as_(app, "hr.east"))
    assert r.status_code == 202 and r.headers["Location"] == f"/v1/replays/{r.get_json()['id']}"
    deadline = time.monotonic() + 30
    while True:
        job = client.get(r.headers["Location"], headers=as_(app, "hr.east")).get_json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (job["status"], job["done"], job["total"]) == ("done", 4, 4), job
    assert job["result"]["by_rule"] == {"合同额下滑": 3}
    assert rows(app, ReplayJob, ReplayJob.id == job["id"])[0].status == "done"
    assert client.get(r.headers["Location"], headers=as_(app, "hr.west")).status_code == 404


def test_a_replay_job_runs_on_an_rq_worker(app, bench, monkeypatch, repo):
    """With REDIS_URL the job is an RQ job that takes the replay's id; a worker with its own
    settings (database, rules) runs it."""
    import redis
    from rq import Queue, SimpleWorker

    from trimtab.server.jobs import replays, worker
    url = "redis://127.0.0.1:6379/11"          # a database of its own: no other test's queue
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setattr(replays, "INLINE_RECORDS", 1)
    monkeypatch.setattr(worker, "_SETTINGS", [worker.WorkerSettings(
        app.config["DATABASE_URL"], app.config["CHANNELS_PATH"], str(repo.rules), rules_rev="main")])
    client, _ = bench
    draft = open_alerts(app, client)
    text = client.get(f"/v1/drafts/{draft['id']}/file?path={ALERTS}", headers=as_(app, "hr.east")).get_json()["text"]
    put(app, client, draft["id"], text.replace(*THRESHOLD), draft["files"][0]["etag"])
    r = client.post(f"/v1/drafts/{draft['id']}/replay", json={}, headers=as_(app, "hr.east"))
    assert r.status_code == 202 and r.get_json()["status"] == "queued"
    queue = Queue(worker.QUEUE, connection=conn)
    [job] = queue.jobs
    assert job.args == (r.get_json()["id"],)             # an id, nothing live
    SimpleWorker([queue], connection=conn).work(burst=True)
    done = client.get(r.headers["Location"], headers=as_(app, "hr.east")).get_json()
    assert (done["status"], done["total"], done["result"]["by_rule"]) == ("done", 4, {"合同额下滑": 3})
    conn.flushdb()
