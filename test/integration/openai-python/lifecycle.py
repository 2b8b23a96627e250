"""A whole Ratchet job driven by the official `openai` Python SDK, unchanged, with Ratchet-only fields in extra_body.

Usage: lifecycle.py BASE_URL SUBMITTER_KEY APPROVER_KEY TRAINING_FILE. Prints one JSON object of what it saw;
test/integration/openai-python.test.ts asserts on it. Any SDK error that is not expected propagates (exit 1).
"""

import json
import sys
import time

import openai
from openai import OpenAI

base_url, submitter_key, approver_key, path = sys.argv[1:5]
sam = OpenAI(api_key=submitter_key, base_url=base_url, max_retries=0)
ada = OpenAI(api_key=approver_key, base_url=base_url, max_retries=0)
seen = {"sdk_version": openai.__version__}


def ratchet(job):
    """Ratchet's extra field: the precise state and every stage's result."""
    return job.model_extra["ratchet"]


def until(read, done, timeout=120):
    deadline = time.time() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.time() > deadline:
            raise TimeoutError(f"timed out; last: {value}")
        time.sleep(0.5)


# Ratchet's licence and source travel as extra form fields of the multipart upload.
with open(path, "rb") as f:
    uploaded = sam.files.create(
        file=f, purpose="fine-tune", extra_body={"licence": "CC-BY-4.0", "source": "Iris (test fixture)"}
    )
seen["file"] = {
    "object": uploaded.object,
    "purpose": uploaded.purpose,
    "status": uploaded.status,
    "licence": uploaded.model_extra.get("licence"),
    "source": uploaded.model_extra.get("source"),
}
seen["file_listed"] = uploaded.id in [f.id for f in sam.files.list(limit=1)]

# Ratchet-only fields in extra_body: the release policy, the intended use, a short training run.
extra = {
    "intended_use": "Iris species from four flower measurements (test fixture)",
    "policy": {"minAccuracy": 0.8, "allowedLicences": ["CC-BY-4.0"], "approvalTimeout": "10m"},
    "training": {"hidden": [16], "config": {"maxSteps": 150, "checkpointEvery": 20, "lr": 0.01, "seed": 7}},
}
job = sam.fine_tuning.jobs.create(
    model="mlp", training_file=uploaded.id, metadata={"sdk": "python"}, extra_body=extra
)
seen["created"] = {"object": job.object, "status": job.status, "hyperparameters": job.hyperparameters.model_dump()}
waiting = until(
    lambda: sam.fine_tuning.jobs.retrieve(job.id),
    lambda j: ratchet(j)["status"] in ("awaiting_approval", "dataset_rejected", "gate_failed", "failed"),
)
seen["waiting"] = {
    "status": waiting.status,
    "ratchet_status": ratchet(waiting)["status"],
    "policy_min_accuracy": next(
        (r["threshold"] for r in ratchet(waiting)["gate"]["rules"] if r["rule"] == "min_accuracy"), None
    ),
}

other = sam.fine_tuning.jobs.create(model="mlp", training_file=uploaded.id, metadata={"sdk": "python-cancel"})
seen["listed"] = [j.id for j in sam.fine_tuning.jobs.list(limit=1)]
seen["filtered"] = [j.id for j in sam.fine_tuning.jobs.list(metadata={"sdk": "python-cancel"})]
seen["expected_listed"] = [other.id, job.id]
seen["cancel"] = sam.fine_tuning.jobs.cancel(other.id).id == other.id
seen["cancelled"] = until(lambda: sam.fine_tuning.jobs.retrieve(other.id), lambda j: j.status == "cancelled").status

events = list(sam.fine_tuning.jobs.list_events(job.id, limit=50))
metrics = [e for e in events if e.type == "metrics"]
seen["events"] = {
    "metrics": len(metrics),
    "first_metrics_data": metrics[0].data if metrics else None,
    "oldest": events[-1].message,
}
checkpoints = sam.fine_tuning.jobs.checkpoints.list(job.id)
seen["checkpoints"] = [c.step_number for c in checkpoints.data]

# Ratchet's sign-off, by a second identity, through the SDK's generic post.
ada.post(f"/fine_tuning/jobs/{job.id}/approve", body={"reason": "held-out accuracy is fine"}, cast_to=object)
done = until(lambda: sam.fine_tuning.jobs.retrieve(job.id), lambda j: j.status in ("succeeded", "failed"))
seen["done"] = {"status": done.status, "fine_tuned_model": done.fine_tuned_model}
model = sam.models.retrieve(done.fine_tuned_model)
seen["model"] = {"id": model.id, "object": model.object, "owned_by": model.owned_by}


def raised(call):
    try:
        call()
    except openai.APIStatusError as error:
        return {"type": type(error).__name__, "message": error.message, "param": getattr(error, "param", None)}
    return None


tenant = done.organization_id
seen["errors"] = {
    "not_found": raised(lambda: sam.fine_tuning.jobs.retrieve(f"{tenant}--job-000000000000000000000000")),
    "wrong_key": raised(lambda: OpenAI(api_key="not-a-key", base_url=base_url, max_retries=0).files.list()),
    "bad_body": raised(lambda: sam.fine_tuning.jobs.create(model="mlp", training_file="file-nope")),
    "own_approval": raised(
        lambda: sam.post(f"/fine_tuning/jobs/{job.id}/approve", body={"reason": "mine"}, cast_to=object)
    ),
}
print(json.dumps(seen))
