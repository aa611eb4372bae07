"""Open311 GeoReport v2 on a real server: every endpoint in JSON and XML carries the spec's
fields, bad requests get the spec's errors[] with the right HTTP code, and a request posted
in Spanish reaches the operator's console in the operator's language."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from hotline.cases.store import CaseStore
from hotline.records import RecordStore
from hotline.wire import open311
from tests.conftest import sign_in_operator

API_KEY = "city-web-7f3a"


def with_api_key(config) -> None:
    config.cases.api_keys = [API_KEY]
    config.cases.open311_contact = "311@city.example"


def http(server, method: str, path: str, form: dict | None = None, content_type: str | None = None):
    """(status, content type, body bytes) of one request to the server's port."""
    data = None
    headers = {}
    if form is not None:
        data = urlencode(form).encode()
        headers["Content-Type"] = content_type or "application/x-www-form-urlencoded"
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


async def get(server, path: str):
    return await asyncio.to_thread(http, server, "GET", path)


async def post(server, form: dict, fmt: str = "json", **kw):
    return await asyncio.to_thread(http, server, "POST", f"/open311/v2/requests.{fmt}", form, **kw)


def plant_cases(server) -> list[str]:
    with RecordStore(server.data_dir / "hotline.sqlite3") as records:
        cases = CaseStore(records, server.catalogue)
        a = cases.post("street_light", "Lamp out", "en", who="test", place="Oak Street")
        b = cases.post("noise", "Loud music", "en", who="test", place="Elm Street")
        cases.move(b.service_request_id, "resolved", "ana", "Stopped.")
        return [a.service_request_id, b.service_request_id]


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


async def test_discovery_and_services_in_json_and_xml_carry_the_specs_fields(start_server):
    server = await start_server(configure=with_api_key)
    status, kind, body = await get(server, "/open311/v2/discovery.json")
    assert status == 200 and kind.startswith("application/json")
    discovery = json.loads(body)
    assert tuple(discovery) == open311.DISCOVERY_FIELDS
    assert discovery["contact"] == "311@city.example"
    (endpoint,) = discovery["endpoints"]
    assert tuple(endpoint) == open311.ENDPOINT_FIELDS
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"

    status, kind, body = await get(server, "/open311/v2/discovery.xml")
    assert status == 200 and kind.startswith("text/xml")
    assert children(ET.fromstring(body)) == list(open311.DISCOVERY_FIELDS)

    status, _, body = await get(server, "/open311/v2/services.json")
    services = json.loads(body)
    assert [s["service_code"] for s in services] == server.catalogue.codes()
    assert all(tuple(s) == open311.SERVICE_FIELDS for s in services)
    street = next(s for s in services if s["service_code"] == "street_light")
    assert street["group"] == "Streets" and street["metadata"] is False

    status, _, body = await get(server, "/open311/v2/services.xml")
    root = ET.fromstring(body)
    assert root.tag == "services" and len(root) == len(services)
    assert all(children(s) == list(open311.SERVICE_FIELDS) for s in root)

    status, _, body = await get(server, "/open311/v2/services/pothole.json")
    definition = json.loads(body)
    assert status == 200 and definition["service_code"] == "pothole"
    assert definition["attributes"] == []
    status, kind, body = await get(server, "/open311/v2/services/teleport.xml")
    assert status == 404 and kind.startswith("text/xml")
    (error,) = ET.fromstring(body)
    assert children(error) == ["code", "description"] and error.find("code").text == "404"


async def test_requests_are_listed_and_filtered_with_the_specs_fields(start_server):
    server = await start_server(configure=with_api_key)
    lamp, noise = plant_cases(server)

    status, _, body = await get(server, "/open311/v2/requests.json")
    listed = json.loads(body)
    assert status == 200 and {r["service_request_id"] for r in listed} == {lamp, noise}
    for request in listed:
        assert tuple(request) == (*open311.REQUEST_FIELDS, "extended_attributes")
    by_id = {r["service_request_id"]: r for r in listed}
    assert by_id[lamp]["status"] == "open" and by_id[noise]["status"] == "closed"
    assert by_id[noise]["status_notes"].startswith("resolved")
    assert by_id[noise]["extended_attributes"]["detailed_status"] == "resolved"
    assert by_id[lamp]["agency_responsible"] == "Department of Transportation"

    async def ids(query: str) -> list[str]:
        status, _, body = await get(server, f"/open311/v2/requests.json?{query}")
        assert status == 200, body
        return sorted(r["service_request_id"] for r in json.loads(body))

    assert await ids("status=open") == [lamp]
    assert await ids("status=closed") == [noise]
    assert await ids("service_code=noise,pothole") == [noise]
    assert await ids(f"service_request_id={lamp}") == [lamp]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await ids(f"start_date={tomorrow}") == []

    status, _, body = await get(server, f"/open311/v2/requests/{lamp}.xml")
    root = ET.fromstring(body)
    assert status == 200 and root.tag == "service_requests"
    (request,) = root
    assert children(request) == [*open311.REQUEST_FIELDS, "extended_attributes"]
    assert request.find("service_request_id").text == lamp


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/open311/v2/requests.json?start_date=2026-11-01", 400),
        ("/open311/v2/requests.json?start_date=yesterday", 400),
        ("/open311/v2/requests.json?status=pending", 400),
        ("/open311/v2/requests.json?service_code=teleport", 400),
        ("/open311/v2/requests/H-19990101-0001.json", 404),
        ("/open311/v2/nothing.json", 404),
        ("/open311/v2/services.yaml", 404),
    ],
)
async def test_bad_requests_get_the_specs_errors_with_the_right_code(start_server, path, status):
    server = await start_server(configure=with_api_key)
    got, kind, body = await get(server, path)
    assert got == status
    if kind.startswith("application/json"):
        (error,) = json.loads(body)
        assert set(error) == {"code", "description"} and error["code"] == status
        assert error["description"]


async def test_posting_needs_a_valid_api_key_a_known_service_and_a_place(start_server):
    server = await start_server(configure=with_api_key)
    form = {"service_code": "pothole", "address_string": "5 Main Street", "description": "Hole"}
    status, _, body = await post(server, form)
    assert status == 403 and json.loads(body)[0]["code"] == 403
    status, _, body = await post(server, {**form, "api_key": "guess"})
    assert status == 403 and json.loads(body) == [{"code": 403, "description": "Invalid api_key"}]
    status, _, body = await post(server, {**form, "api_key": API_KEY, "service_code": "teleport"})
    assert status == 404 and "teleport" in json.loads(body)[0]["description"]
    status, _, body = await post(server, {"api_key": API_KEY, "service_code": "pothole"}, "xml")
    assert status == 400 and ET.fromstring(body).tag == "errors"
    status, _, _ = await post(server, {**form, "api_key": API_KEY}, content_type="text/plain")
    assert status == 415
    status, _, _ = await asyncio.to_thread(http, server, "POST", "/console", form)
    assert status == 405, "only the API takes posts"


async def test_a_request_posted_in_spanish_reaches_the_console_in_the_operators_language(
    start_server,
):
    server = await start_server(configure=with_api_key)
    operator = await sign_in_operator(server, "ana", ["en"])
    form = {
        "api_key": API_KEY,
        "service_code": "street_light",
        "address_string": "Calle Mayor 5",
        "description": "La farola está rota.",
        "language": "es",
        "email": "vecina@example.org",
    }
    status, _, body = await post(server, form)
    assert status == 201, body
    (posted,) = json.loads(body)
    assert tuple(posted) == open311.POSTED_FIELDS
    request_id = posted["service_request_id"]
    shown = await operator.wait_for(lambda m: m["type"] == "case", timeout=20)
    assert shown["service_request_id"] == request_id
    assert shown["description"] == "La farola está rota." and shown["language"] == "es"
    assert shown["translated_language"] == "en" and "broken" in shown["translation"].lower()
    assert shown["place"] == "Calle Mayor 5" and shown["service_name"] == "Street light out"
    await operator.close()

    status, _, body = await get(server, f"/open311/v2/requests/{request_id}.json")
    (request,) = json.loads(body)
    assert request["description"] == "La farola está rota."
    extended = request["extended_attributes"]
    assert extended["caller_language"] == "es" and extended["translated_language"] == "en"
    assert "broken" in extended["description_translated"].lower()
    assert extended["channel"] == "open311" and request["address"] == "Calle Mayor 5"


async def test_operators_are_told_which_cases_are_past_a_clock(start_server):
    def often(config) -> None:
        config.cases.overdue_check_s = 0.2

    server = await start_server(configure=often)
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    with RecordStore(server.data_dir / "hotline.sqlite3") as records:
        cases = CaseStore(records, server.catalogue, now=lambda: three_days_ago)
        late = cases.post("pothole", "Hole", "en", who="test", place="5 Main Street")
        done = cases.post("noise", "Music", "en", who="test", place="Elm Street")
        cases.move(done.service_request_id, "resolved", "ana", "Stopped.")
        fresh = CaseStore(records, server.catalogue).post("water", "Leak", "en", who="test")
    operator = await sign_in_operator(server, "ana", ["en"])
    told = await operator.wait_for(lambda m: m["type"] == "overdue", timeout=10)
    await operator.close()
    assert told["total"] == 1
    (case,) = told["cases"]
    assert case["service_request_id"] == late.service_request_id != fresh.service_request_id
    assert case["overdue"] == ["dispatch"] and case["agency"] == "Department of Transportation"


async def test_a_posted_description_without_a_language_is_identified(start_server):
    server = await start_server(configure=with_api_key)
    form = {
        "api_key": API_KEY,
        "service_code": "noise",
        "address_string": "Plaza Mayor",
        "description": "Los vecinos ponen música muy alta todas las noches.",
    }
    status, _, body = await post(server, form)
    assert status == 201, body
    (posted,) = json.loads(body)
    status, _, body = await get(server, f"/open311/v2/requests/{posted['service_request_id']}.json")
    (request,) = json.loads(body)
    assert request["extended_attributes"]["caller_language"] == "es"
    assert request["extended_attributes"]["translated_language"] == "en"
