"""The Files panel's resumable upload against S3 (a moto server on another origin, as a bucket
is in production): the parts go from the browser straight to presigned UploadPart URLs, which
needs the bucket CORS rule README "Files" documents (PUT from the page's origin, `ETag`
exposed). A three-part file (8 + 8 + 1 MiB) goes up, is paused after one part, survives a
reload, is resumed (only the two missing parts are sent) and the bucket holds its exact bytes,
with no multipart upload left behind. Every way a part PUT fails (the bucket hides `ETag`,
refuses the CORS preflight for PUT, or answers 403) is said on the page, stays said in the
upload's status line, and Resume goes on once the bucket is fixed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import FilePayload, expect

from tests.e2e.conftest import Browsing, Shots, Watch
from tests.e2e.helpers import sign_up
from tests.e2e.test_journey import expect_notice
from tests.e2e.test_resumable_upload import BIG, DATA, MIB, Parts, saved_uploads
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.e2e

BUCKET = "flowhub-e2e-parts"
REGION = "ap-south-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
SMALL = b"A small file sent as one part.\n" * 100  # 3,100 bytes: "3.0 KB" on the page


def s3_client(endpoint_url: str) -> Any:
    """A plain botocore client on the moto server (the test's own view of the bucket)."""
    import botocore.session

    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def s3(aws_endpoint_url: str) -> Iterator[Any]:
    client = s3_client(aws_endpoint_url)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def server(s3: Any, aws_endpoint_url: str) -> Iterator[ServerProcess]:
    """The server with files in S3; the rest (mail included: the dev mailbox) in memory."""
    env = {
        "APP_ENV": "development",
        "S3_BUCKET_NAME": BUCKET,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": aws_endpoint_url,
        **CREDENTIALS,
    }
    try:
        with running_server("tests.e2e.server_app", env=env) as process:
            yield process
    finally:
        # moto keeps multipart parts, which break its state dump for the SES tests
        s3.delete_bucket_cors(Bucket=BUCKET)
        httpx.post(f"{aws_endpoint_url.rstrip('/')}/moto-api/reset", timeout=10)


def allow(
    s3: Any, origin: str, methods: tuple[str, ...] = ("GET", "POST", "PUT"), expose: bool = True
) -> None:
    """The bucket's CORS rule for the page's origin (README "Files": PUT, ExposeHeaders ETag)."""
    rule: dict[str, Any] = {
        "AllowedOrigins": [origin],
        "AllowedMethods": list(methods),
        "AllowedHeaders": ["*"],
        "MaxAgeSeconds": 0,
    }
    if expose:
        rule["ExposeHeaders"] = ["ETag"]
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [rule]})


@pytest.fixture
def origin(s3: Any, server: ServerProcess) -> Iterator[str]:
    """The page's origin, allowed by the bucket as documented (a test may change it)."""
    found = server.url.rstrip("/")
    allow(s3, found)
    yield found
    s3.delete_bucket_policy(Bucket=BUCKET)
    allow(s3, found)


def stored(s3: Any) -> dict[str, bytes]:
    """Every object in the bucket, by key, with its bytes."""
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def storage_pattern(endpoint_url: str) -> str:
    return f"{endpoint_url.rstrip('/')}/{BUCKET}/**"


def test_a_big_upload_to_s3_survives_a_reload_and_the_bucket_holds_the_exact_bytes(
    browsing: Browsing, shots: Shots, s3: Any, origin: str, aws_endpoint_url: str
) -> None:
    page, watch = browsing.page()
    sign_up(page, browsing.server, "Sam Three", "sam.s3@example.com")
    form = page.locator("#upload-resumable-form")
    percent = page.locator("#resumable-percent")
    status = page.locator("#resumable-status")
    before = set(stored(s3))

    parts = Parts(page, storage_pattern(aws_endpoint_url))
    form.get_by_label("Resumable upload").set_input_files(BIG)
    form.get_by_role("button", name="Start upload", exact=True).click()
    parts.wait_held(3)
    assert all(r.request.url.startswith(aws_endpoint_url) for r in parts.held)  # to the bucket
    parts.release_one_of(8 * MIB)
    expect(percent).to_have_text("47%")
    expect(status).to_contain_text("Uploading big.txt: 8.0 MB of 17.0 MB")
    form.get_by_role("button", name="Pause", exact=True).click()
    expect(status).to_have_text("Paused at 8.0 MB of 17.0 MB. Resume to go on.")
    shots(page, "paused-on-s3")

    page.unroute_all(behavior="ignoreErrors")
    page.reload()
    expect(status).to_have_text(
        "An unfinished upload of big.txt (17.0 MB), 8.0 MB sent. Choose the same file, then Resume."
    )
    (upload,) = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    arrived = s3.list_parts(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    assert [p["Size"] for p in arrived["Parts"]] == [8 * MIB]  # one part in the bucket

    parts = Parts(page, storage_pattern(aws_endpoint_url))
    parts.hold = False
    form.get_by_label("Resumable upload").set_input_files(BIG)
    form.get_by_role("button", name="Resume", exact=True).click()
    expect_notice(page, "success", "Uploaded big.txt (17.0 MB) in parts.")
    expect(page.locator("#file-list tr", has_text="big.txt")).to_contain_text("ready")
    assert parts.sent == 2  # only the missing parts
    assert saved_uploads(page) == []
    shots(page, "completed-on-s3")

    new = {key: body for key, body in stored(s3).items() if key not in before}
    assert list(new.values()) == [DATA]  # one object: the exact bytes, nothing staged left
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download big.txt").click()
    assert downloading.value.url.startswith(aws_endpoint_url)  # the presigned GET
    with open(downloading.value.path(), "rb") as saved:
        assert saved.read() == DATA
    assert watch.api_errors == []


def expected_problems(watch: Watch, *needles: str) -> None:
    """Take the browser's own reports of a failure the test causes out of `watch`, after
    checking they are there (anything else still fails the test)."""
    for needle in needles:
        assert any(needle in p for p in watch.problems), (needle, watch.problems)
    watch.problems[:] = [p for p in watch.problems if not any(n in p for n in needles)]


# what the page says for each way the bucket breaks a part PUT
SAID = {
    "etag-hidden": "Storage answered a part without its ETag header "
    "(the bucket's CORS rules must expose ETag).",
    "put-not-allowed": "Could not send a part to the storage: the network failed, "
    "or the bucket's CORS rules do not allow PUT from this page.",
    "forbidden": "Storage refused a part (HTTP 403",
}


@pytest.mark.parametrize("breakage", list(SAID))
def test_a_part_the_bucket_refuses_is_said_and_resume_goes_on_once_it_is_fixed(
    browsing: Browsing, shots: Shots, s3: Any, origin: str, breakage: str
) -> None:
    said = SAID[breakage]
    if breakage == "etag-hidden":
        allow(s3, origin, expose=False)
    elif breakage == "put-not-allowed":
        allow(s3, origin, methods=("GET", "POST"))  # the direct form upload's rule only
    else:
        deny = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
        s3.put_bucket_policy(
            Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
        )
    page, watch = browsing.page()
    sign_up(page, browsing.server, "Fay Fails", f"fay.{breakage}@example.com")
    form = page.locator("#upload-resumable-form")
    status = page.locator("#resumable-status")
    small: FilePayload = {"name": "small.txt", "mimeType": "text/plain", "buffer": SMALL}
    form.get_by_label("Resumable upload").set_input_files(small)
    form.get_by_role("button", name="Start upload", exact=True).click()

    expect_notice(page, "error", said)
    # the reason outlives the notice: the status line keeps it until the next try
    expect(status).to_contain_text(f"Stopped at 0 B of 3.0 KB: {said}")
    expect(status).to_contain_text("Resume to try again.")
    expect(form.get_by_role("button", name="Resume", exact=True)).to_be_visible()
    expect(page.locator("#file-list tr", has_text="small.txt")).to_contain_text("pending")
    shots(page, f"refused-{breakage}")

    s3.delete_bucket_policy(Bucket=BUCKET)
    allow(s3, origin)  # the bucket fixed: the same upload goes on
    form.get_by_role("button", name="Resume", exact=True).click()
    expect_notice(page, "success", "Uploaded small.txt")
    expect(page.locator("#file-list tr", has_text="small.txt")).to_contain_text("ready")
    expect(status).to_have_text("")
    if breakage == "put-not-allowed":
        expected_problems(watch, "blocked by CORS policy", "request failed: PUT", "net::ERR_FAILED")
    elif breakage == "forbidden":
        expected_problems(watch, "403 from PUT")
