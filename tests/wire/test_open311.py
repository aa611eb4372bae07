"""Open311 GeoReport v2 without a server: paths route by their extension, queries and forms
parse as the spec describes or fail with its status and error list, and every answer has
exactly the spec's fields in JSON and in XML."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hotline.wire import open311 as wire
from hotline.wire.open311 import Open311Error, Route

NOW = datetime(2026, 11, 29, 13, 15, 30, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"
P = "/open311/v2/"


def refused(call, *args) -> Open311Error:
    with pytest.raises(Open311Error) as caught:
        call(*args)
    error = caught.value
    assert error.errors and all(code == error.status for code, _ in error.errors)
    return error


# --- routing ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "discovery.{}", ("discovery", None)),
        ("GET", "services.{}", ("services", None)),
        ("GET", "services/pothole.{}", ("service", "pothole")),
        ("GET", "requests.{}", ("requests", None)),
        ("POST", "requests.{}", ("requests", None)),
        ("GET", "requests/311-0042.{}", ("request", "311-0042")),
    ],
)
def test_every_endpoint_routes_by_its_extension(fmt, method, path, expected):
    assert wire.route(method, P + path.format(fmt)) == Route(*expected, fmt)


def test_ids_in_the_path_are_percent_decoded_and_may_hold_dots():
    assert wire.route("GET", P + "services/pot%20hole.json").ident == "pot hole"
    assert wire.route("GET", P + "requests/a.b.xml") == Route("request", "a.b", "xml")
    assert wire.route("GET", P + "requests/caf%C3%A9.json").ident == "café"


def test_another_prefix_can_be_mounted():
    assert wire.route("GET", "/api/services.json", prefix="/api/") == Route(
        "services", None, "json"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/open311/v2/",
        "/open311/v2/tickets.json",
        "/open311/services.json",
        "/open311/v2/services/a/b.json",
        "/open311/v2/discovery/x.json",
        "/open311/v2/requests/.json",
        "/open311/v2/requests/a%2Fb.json",
        "/open311/v2/requests/%FF.json",
        "/open311/v2/requests/" + "x" * 200 + ".json",
    ],
)
def test_unknown_paths_and_bad_ids_are_404(path):
    assert refused(wire.route, "GET", path).status == 404


@pytest.mark.parametrize("path", ["services.csv", "services.JSON", "requests/1.html"])
def test_an_unknown_extension_is_404_naming_the_formats_there_are(path):
    error = refused(wire.route, "GET", P + path)
    assert error.status == 404
    assert ".json" in error.message and ".xml" in error.message


def test_a_path_without_an_extension_is_404_naming_the_formats():
    error = refused(wire.route, "GET", P + "services")
    assert error.status == 404 and ".json or .xml" in error.message


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "services.json", ("GET",)),
        ("DELETE", "requests.xml", ("GET", "POST")),
        ("PUT", "requests/1.json", ("GET",)),
        ("POST", "requests/1.json", ("GET",)),
        ("POST", "discovery.xml", ("GET",)),
        ("HEAD", "services/x.json", ("GET",)),
    ],
)
def test_other_methods_are_405_with_the_allowed_ones(method, path, allow):
    error = refused(wire.route, method, P + path)
    assert error.status == 405 and error.allow == allow


def test_the_format_of_a_refused_path_is_still_known_for_its_error_body():
    assert wire.format_of(P + "nothing.xml") == "xml"
    assert wire.format_of(P + "nothing.csv") == "json"


# --- GET requests ----------------------------------------------------------------------


def test_lists_are_comma_separated():
    query = wire.parse_requests_query(
        "service_code=pothole,graffiti&status=open,closed&jurisdiction_id=city.gov", NOW
    )
    assert query.service_codes == ("pothole", "graffiti")
    assert query.statuses == ("open", "closed")
    assert query.jurisdiction_id == "city.gov"


def test_ids_override_every_other_argument():
    query = wire.parse_requests_query(
        "service_request_id=1,2,3&status=bogus&start_date=yesterday", NOW
    )
    assert query == wire.RequestQuery(
        service_request_ids=("1", "2", "3"),
        service_codes=(),
        start=None,
        end=None,
        statuses=(),
        jurisdiction_id=None,
    )


@pytest.mark.parametrize(
    "start_date",
    [
        "2026-11-01T00:00:00Z",
        "2026-11-01T08:00:00+08:00",
        "2026-11-01T08:00:00%2B08:00",
        "2026-11-01T08:00:00+08:00",  # an unescaped '+' reads as a space
        "2026-10-31T19:00:00-05:00",
    ],
)
def test_dates_carry_their_zone_and_come_back_in_utc(start_date):
    query = wire.parse_requests_query(f"start_date={start_date}", NOW)
    assert query.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert query.start.tzinfo is UTC


@pytest.mark.parametrize("date", ["2026-11-01", "2026-11-01T08:00:00"])
def test_a_date_without_a_zone_is_400_saying_so(date):
    error = refused(wire.parse_requests_query, f"end_date={date}", NOW)
    assert error.status == 400 and "end_date has no time zone" in error.message


def test_a_date_that_is_not_iso_8601_is_400():
    error = refused(wire.parse_requests_query, "start_date=last+tuesday", NOW)
    assert error.status == 400 and "ISO 8601" in error.message


def test_a_status_other_than_open_or_closed_is_400():
    error = refused(wire.parse_requests_query, "status=open,pending", NOW)
    assert error.status == 400 and "pending" in error.message


def test_start_after_end_is_400():
    query = "start_date=2026-11-02T00:00:00Z&end_date=2026-11-01T00:00:00Z"
    assert refused(wire.parse_requests_query, query, NOW).status == 400


def test_without_dates_the_window_is_the_last_90_days():
    query = wire.parse_requests_query("", NOW)
    assert (query.start, query.end) == (NOW - timedelta(days=90), NOW)


def test_one_given_end_of_the_window_gives_the_other_90_days_away():
    start = wire.parse_requests_query("start_date=2026-01-01T00:00:00Z", NOW)
    assert start.end - start.start == timedelta(days=90)
    end = wire.parse_requests_query("end_date=2026-06-01T00:00:00Z", NOW)
    assert end.start == datetime(2026, 3, 3, tzinfo=UTC)


def test_a_window_of_exactly_90_days_is_allowed_and_a_longer_one_is_400():
    ok = "start_date=2026-01-01T00:00:00Z&end_date=2026-04-01T00:00:00Z"
    assert wire.parse_requests_query(ok, NOW).end == datetime(2026, 4, 1, tzinfo=UTC)
    too_long = "start_date=2026-01-01T00:00:00Z&end_date=2026-04-01T00:00:01Z"
    assert refused(wire.parse_requests_query, too_long, NOW).status == 400


def test_repeated_parameters_take_the_first_and_unknown_ones_are_ignored():
    query = wire.parse_requests_query("status=closed&status=open&page=2&foo", NOW)
    assert query.statuses == ("closed",)


def test_two_different_jurisdictions_are_400():
    query = "jurisdiction_id=a.gov&jurisdiction_id=b.gov"
    assert refused(wire.parse_requests_query, query, NOW).status == 400
    same = wire.parse_requests_query("jurisdiction_id=a.gov&jurisdiction_id=a.gov", NOW)
    assert same.jurisdiction_id == "a.gov"


# --- POST requests ---------------------------------------------------------------------


def form(**fields: str | None) -> bytes:
    """A valid form, with ``fields`` changed; a field set to None is left out."""
    base: dict[str, str | None] = {
        "api_key": "k-123",
        "service_code": "pothole",
        "address_string": "1 Main St",
    }
    base.update(fields)
    return urlencode({k: v for k, v in base.items() if v is not None}).encode()


def test_every_field_of_a_new_request_is_read():
    body = urlencode(
        {
            "api_key": "k-123",
            "jurisdiction_id": "city.gov",
            "service_code": "pothole",
            "lat": "37.76524078",
            "long": "-122.4212043",
            "address_string": "1 Main St",
            "address_id": "A-9",
            "description": "Un bache enorme <junto> a la escuela & el parque",
            "media_url": "https://example.org/bache.jpg",
            "email": "ana@example.org",
            "device_id": "dev-1",
            "account_id": "acc-1",
            "first_name": "Ana",
            "last_name": "Núñez",
            "phone": "+14155550100",
            "attribute[WHISHETN]": "123",
            "attribute[DEPTH]": "deep",
            "language": "es",
        }
    ).encode()
    assert wire.parse_new_request(body, FORM) == wire.NewRequest(
        api_key="k-123",
        service_code="pothole",
        jurisdiction_id="city.gov",
        lat=37.76524078,
        long=-122.4212043,
        address_string="1 Main St",
        address_id="A-9",
        description="Un bache enorme <junto> a la escuela & el parque",
        media_url="https://example.org/bache.jpg",
        email="ana@example.org",
        device_id="dev-1",
        account_id="acc-1",
        first_name="Ana",
        last_name="Núñez",
        phone="+14155550100",
        attributes={"WHISHETN": "123", "DEPTH": "deep"},
        language="es",
    )


def test_missing_optional_fields_are_none_and_the_description_empty():
    parsed = wire.parse_new_request(b"api_key=k&service_code=x&address_id=A1", FORM)
    assert parsed.description == "" and parsed.attributes == {}
    assert parsed.lat is None and parsed.email is None and parsed.language is None


def test_a_multivaluelist_attribute_repeats_with_brackets():
    body = b"api_key=k&service_code=x&address_id=1&attribute[KIND][]=a&attribute[KIND][]=b"
    assert wire.parse_new_request(body, FORM).attributes == {"KIND": "a,b"}


def test_the_language_extension_takes_a_two_or_three_letter_code():
    assert wire.parse_new_request(form(language="ZH"), FORM).language == "zh"
    assert wire.parse_new_request(form(language="yue"), FORM).language == "yue"
    for bad in ("es-MX", "e", "espanol", "e5"):
        error = refused(wire.parse_new_request, form(language=bad), FORM)
        assert error.status == 400 and "language" in error.message


def test_a_missing_api_key_is_403():
    error = refused(wire.parse_new_request, form(api_key=None), FORM)
    assert (error.status, error.errors) == (403, [(403, "api_key is required")])


def test_a_missing_service_code_is_400():
    error = refused(wire.parse_new_request, form(service_code=None), FORM)
    assert (error.status, error.errors) == (400, [(400, "service_code is required")])


def test_a_missing_location_is_400_naming_the_choices():
    error = refused(wire.parse_new_request, form(address_string=None, description="x"), FORM)
    expected = "a location is required: lat and long, address_string or address_id"
    assert (error.status, error.errors) == (400, [(400, expected)])


def test_lat_and_long_are_a_location_together_only():
    parsed = wire.parse_new_request(form(address_string=None, lat="-33.9", long="18.4"), FORM)
    assert (parsed.lat, parsed.long) == (-33.9, 18.4)
    assert refused(wire.parse_new_request, form(lat="1"), FORM).status == 400


@pytest.mark.parametrize(
    ("lat", "long"),
    [("north", "1"), ("91", "0"), ("0", "-180.5"), ("nan", "0"), ("inf", "0"), ("1_0", "0")],
)
def test_lat_and_long_must_be_numbers_on_the_globe(lat, long):
    error = refused(wire.parse_new_request, form(lat=lat, long=long), FORM)
    assert error.status == 400


def test_a_description_over_4000_characters_is_400():
    assert wire.parse_new_request(form(description="ñ" * 4000), FORM).description == "ñ" * 4000
    error = refused(wire.parse_new_request, form(description="x" * 4001), FORM)
    assert error.status == 400 and "description" in error.message


def test_a_body_over_64_kib_is_413():
    body = form(description="x" * 70_000)
    assert refused(wire.parse_new_request, body, FORM).status == 413


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "multipart/form-data; boundary=x", "", f"{FORM}; charset=latin-1"],
)
def test_another_content_type_is_415(content_type):
    assert refused(wire.parse_new_request, form(), content_type).status == 415


def test_the_content_type_may_name_utf_8():
    assert wire.parse_new_request(form(), f"{FORM}; charset=UTF-8").service_code == "pothole"


def test_a_body_that_is_not_utf_8_is_400():
    body = form() + b"&description=caf\xe9"
    assert refused(wire.parse_new_request, body, FORM).status == 400


def test_a_media_url_must_be_http():
    error = refused(wire.parse_new_request, form(media_url="javascript:alert(1)"), FORM)
    assert error.status == 400


def test_several_faults_are_listed_together():
    body = form(service_code=None, lat="x", long="0", language="--")
    error = refused(wire.parse_new_request, body, FORM)
    assert error.status == 400
    assert [text.split(" ")[0] for _, text in error.errors] == ["service_code", "lat", "language"]


# --- answers ---------------------------------------------------------------------------


def xml_of(data: bytes) -> ET.Element:
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(data)


def tags(element: ET.Element) -> tuple[str, ...]:
    return tuple(child.tag for child in element)


SERVICE = {
    "service_code": "001",
    "service_name": "Cans left out 24x7",
    "description": "Garbage or recycling cans that have been left out for more than 24 hours.",
    "metadata": False,
    "type": "realtime",
    "keywords": "lorem, ipsum, dolor",
    "group": "sanitation",
}
REQUEST = {
    "service_request_id": "638344",
    "status": "closed",
    "status_notes": "Duplicate request.",
    "service_name": "Sidewalk and Curb Issues",
    "service_code": "006",
    "description": "Bache <grande> & peligroso — 路面坑洞",
    "agency_responsible": None,
    "service_notice": None,
    "requested_datetime": datetime(2010, 4, 14, 6, 37, 38, tzinfo=timezone(timedelta(hours=-8))),
    "updated_datetime": datetime(2010, 4, 14, 14, 39, 42, tzinfo=UTC),
    "expected_datetime": None,
    "address": "8TH AVE and JUDAH ST",
    "address_id": "545483",
    "zipcode": "94122",
    "lat": 37.762221815,
    "long": -122.4651145,
    "media_url": "http://city.gov.s3.amazonaws.com/requests/media/638344.jpg",
}
EXTENDED = {
    "caller_language": "es",
    "description_translated": "Big & dangerous <pothole>",
    "translated_language": "en",
    "detailed_status": "dispatched",
    "emergency": False,
    "duplicate_of": None,
    "recordings": ["https://h/r/1.wav", "https://h/r/2.wav"],
    "overdue": ["acknowledge"],
}


def test_discovery_has_the_specs_fields_in_json_and_xml():
    doc = wire.discovery_document(
        "https://city.gov/open311/v2/", NOW, "311 <ops@city.gov>", "https://city.gov/keys"
    )
    as_json = json.loads(wire.render_discovery(doc, "json"))
    assert tuple(as_json) == wire.DISCOVERY_FIELDS
    (endpoint,) = as_json["endpoints"]
    assert tuple(endpoint) == wire.ENDPOINT_FIELDS
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["changeset"] == as_json["changeset"] == "2026-11-29T13:15:30Z"

    root = xml_of(wire.render_discovery(doc, "xml"))
    assert root.tag == "discovery" and tags(root) == wire.DISCOVERY_FIELDS
    assert root.findtext("contact") == "311 <ops@city.gov>"
    (element,) = root.find("endpoints")
    assert element.tag == "endpoint" and tags(element) == wire.ENDPOINT_FIELDS
    assert element.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert element.findtext("type") == "production"
    assert [f.text for f in element.find("formats")] == ["text/xml", "application/json"]
    assert tags(element.find("formats")) == ("format", "format")


def test_services_are_a_list_of_the_specs_fields():
    as_json = json.loads(wire.render_services([SERVICE, SERVICE], "json"))
    assert len(as_json) == 2 and all(tuple(s) == wire.SERVICE_FIELDS for s in as_json)
    assert as_json[0] == SERVICE

    root = xml_of(wire.render_services([SERVICE], "xml"))
    assert root.tag == "services" and tags(root) == ("service",)
    assert tags(root[0]) == wire.SERVICE_FIELDS
    assert root[0].findtext("metadata") == "false"


def test_a_service_definition_has_its_attributes_and_their_values():
    attribute = {
        "variable": True,
        "code": "WHISHETN",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 1,
        "description": "What is the ticket/tag/DL number?",
        "values": [{"key": "123", "name": "Ford"}, {"key": "124", "name": "Chrysler"}],
    }
    as_json = json.loads(wire.render_service_definition("DMV66", [attribute], "json"))
    assert tuple(as_json) == ("service_code", "attributes")
    assert tuple(as_json["attributes"][0]) == wire.ATTRIBUTE_FIELDS
    assert as_json["attributes"][0] == attribute

    root = xml_of(wire.render_service_definition("DMV66", [attribute], "xml"))
    assert root.tag == "service_definition" and tags(root) == ("service_code", "attributes")
    (element,) = root.find("attributes")
    assert element.tag == "attribute" and tags(element) == wire.ATTRIBUTE_FIELDS
    assert element.findtext("required") == "true" and element.findtext("order") == "1"
    assert element.find("datatype_description").text is None
    assert [(v.findtext("key"), v.findtext("name")) for v in element.find("values")] == [
        ("123", "Ford"),
        ("124", "Chrysler"),
    ]


def test_requests_have_the_specs_fields_with_zoned_times_and_nulls():
    as_json = json.loads(wire.render_requests([REQUEST], "json"))
    (request,) = as_json
    assert tuple(request) == wire.REQUEST_FIELDS
    assert request["requested_datetime"] == "2010-04-14T06:37:38-08:00"
    assert request["updated_datetime"] == "2010-04-14T14:39:42Z"
    assert request["agency_responsible"] is None and request["lat"] == 37.762221815

    root = xml_of(wire.render_requests([REQUEST], "xml"))
    assert root.tag == "service_requests" and tags(root) == ("request",)
    assert tags(root[0]) == wire.REQUEST_FIELDS
    assert root[0].find("agency_responsible").text is None
    assert root[0].findtext("requested_datetime") == "2010-04-14T06:37:38-08:00"
    assert float(root[0].findtext("lat")) == 37.762221815


def test_missing_request_fields_are_null_and_unknown_ones_are_a_bug():
    (request,) = json.loads(
        wire.render_requests([{"service_request_id": "1", "status": "open"}], "json")
    )
    assert tuple(request) == wire.REQUEST_FIELDS and request["zipcode"] is None
    with pytest.raises(ValueError):
        wire.render_requests([{**REQUEST, "priority": 1}], "json")
    with pytest.raises(ValueError):
        wire.render_requests([{**REQUEST, "status": "dispatched"}], "json")


def test_extended_attributes_nest_as_an_object_and_as_elements():
    request = {**REQUEST, "extended_attributes": EXTENDED}
    (as_json,) = json.loads(wire.render_requests([request], "json"))
    assert tuple(as_json) == (*wire.REQUEST_FIELDS, wire.REQUEST_EXTENSION)
    assert as_json["extended_attributes"] == EXTENDED

    (element,) = xml_of(wire.render_requests([request], "xml"))
    assert tags(element) == (*wire.REQUEST_FIELDS, "extended_attributes")
    extended = element.find("extended_attributes")
    assert tags(extended) == tuple(EXTENDED)
    assert extended.findtext("emergency") == "false"
    assert extended.find("duplicate_of").text is None
    recordings = extended.find("recordings")
    assert tags(recordings) == ("recording", "recording")
    assert [r.text for r in recordings] == EXTENDED["recordings"]
    assert [item.text for item in extended.find("overdue")] == ["acknowledge"]


def test_xml_escapes_markup_and_keeps_spanish_and_chinese_text():
    text = "Bache <grande> & peligroso — 路面坑洞 ¿dónde? \"'"
    data = wire.render_requests([{**REQUEST, "description": text}], "xml")
    assert b"<grande>" not in data and "路面坑洞".encode() in data
    assert xml_of(data)[0].findtext("description") == text
    as_json = wire.render_requests([{**REQUEST, "description": text}], "json")
    assert "路面坑洞".encode() in as_json  # UTF-8, not \\u escapes
    assert json.loads(as_json)[0]["description"] == text


def test_characters_xml_cannot_carry_are_replaced_not_left_to_break_the_document():
    data = wire.render_requests([{**REQUEST, "status_notes": "a\x00b\x1bc"}], "xml")
    assert xml_of(data)[0].findtext("status_notes") == "a\ufffdb\ufffdc"


def test_the_answer_to_a_post_is_a_list_of_one():
    posted = {"service_request_id": "293944", "service_notice": "Expect 48 h.", "account_id": None}
    assert json.loads(wire.render_posted([posted], "json")) == [posted]
    root = xml_of(wire.render_posted([posted], "xml"))
    assert root.tag == "service_requests" and tags(root) == ("request",)
    assert tags(root[0]) == wire.POSTED_FIELDS


def test_errors_have_the_specs_shape_exactly():
    errors = [(403, "Invalid api_key")]
    assert json.loads(wire.render_errors(errors, "json")) == [
        {"code": 403, "description": "Invalid api_key"}
    ]
    assert wire.render_errors(errors, "xml") == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<errors><error><code>403</code><description>Invalid api_key</description>"
        b"</error></errors>"
    )


def test_a_refusal_renders_as_its_error_list():
    error = refused(wire.parse_new_request, form(api_key=""), FORM)
    assert json.loads(wire.render_errors(error.errors, "json")) == [
        {"code": 403, "description": "api_key is required"}
    ]
    several = refused(wire.parse_new_request, form(service_code=None, lat="x", long="0"), FORM)
    root = xml_of(wire.render_errors(several.errors, "xml"))
    assert tags(root) == ("error", "error")
    assert all(tags(e) == wire.ERROR_FIELDS and e.findtext("code") == "400" for e in root)


def test_formats_name_their_content_types_and_nothing_else_renders():
    assert wire.FORMATS == {
        "json": "application/json; charset=utf-8",
        "xml": "text/xml; charset=utf-8",
    }
    with pytest.raises(ValueError):
        wire.render_errors([], "csv")


def test_a_naive_datetime_is_a_bug_not_an_answer():
    with pytest.raises(ValueError):
        wire.render_requests([{**REQUEST, "updated_datetime": datetime(2026, 1, 1)}], "json")


# --- fuzzing: only Open311Error ever comes out -----------------------------------------

FUZZ = settings(
    max_examples=int(os.environ.get("HOTLINE_OPEN311_CASES", "500")),
    deadline=None,
    derandomize="HOTLINE_FUZZ_SEED" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NAMES = [
    "api_key", "service_code", "jurisdiction_id", "lat", "long", "address_string",
    "address_id", "description", "media_url", "email", "device_id", "account_id",
    "first_name", "last_name", "phone", "language", "attribute[X]", "attribute[X][]",
    "attribute[]", "attribute[[", "service_request_id", "start_date", "end_date", "status",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "", "0", "-91", "1e999", "nan", "open,closed", "es", "2026-11-01T00:00:00Z",
            "2026-11-01T00:00:00+08:00", "2026-11-01T00:00:00 08:00", "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00", "%FF", "%", "http://[", "x" * 5000, ",,,",
        ]
    ),
)  # fmt: skip


@st.composite
def forms(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=10))
    text = urlencode(pairs) if draw(st.booleans()) else "&".join(f"{k}={v}" for k, v in pairs)
    return text


@FUZZ
@given(
    body=st.one_of(forms().map(str.encode), st.binary(max_size=300)),
    content_type=st.sampled_from([FORM, f"{FORM}; charset=utf-8", f"{FORM};charset", "text/x"])
    | st.text(max_size=30),
)
@example(body=b"api_key=k&service_code=x&lat=1e999&long=0", content_type=FORM)
def test_parse_new_request_only_ever_refuses_with_open311_errors(body, content_type):
    try:
        parsed = wire.parse_new_request(body, content_type)
    except Open311Error as error:
        assert error.status in (400, 403, 413, 415) and error.errors
        return
    assert parsed.api_key and parsed.service_code


@FUZZ
@given(query=st.one_of(forms(), st.text(max_size=200)))
@example(query="start_date=0001-01-01T00:00:00%2B14:00")
@example(query="end_date=0001-01-01T00:00:00Z")
@example(query="start_date=9999-12-31T23:59:59-14:00")
def test_parse_requests_query_only_ever_refuses_with_open311_errors(query):
    try:
        parsed = wire.parse_requests_query(query, NOW)
    except Open311Error as error:
        assert error.status == 400 and error.errors
        return
    if not parsed.service_request_ids:
        assert parsed.start <= parsed.end <= parsed.start + wire.MAX_WINDOW


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT"]), rest=st.text(max_size=40))
def test_route_only_ever_refuses_with_open311_errors(method, rest):
    try:
        wire.route(method, P + rest)
    except Open311Error as error:
        assert error.status in (404, 405)
