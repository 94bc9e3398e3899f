from opentelemetry._logs import SeverityNumber

from otel_ml_logging.capture import LineGrouper, level_of, parse_entry


def group(lines: list[str]) -> list[list[str]]:
    grouper = LineGrouper()
    entries = [entry for line in lines for entry in grouper.feed(line)]
    return entries + list(grouper.flush())


CHAINED = [
    "ERROR:root:prediction failed",
    "Traceback (most recent call last):",
    '  File "model.py", line 3, in predict',
    "    1 / 0",
    "ZeroDivisionError: division by zero",
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    "Traceback (most recent call last):",
    '  File "model.py", line 5, in predict',
    '    raise ValueError("bad input")',
    "ValueError: bad input",
]


def test_a_chained_traceback_with_its_log_line_is_one_entry():
    entries = group(["INFO: before", *CHAINED, "INFO: after"])
    assert entries == [["INFO: before"], CHAINED, ["INFO: after"]]
    parsed = parse_entry(entries[1], "stderr")
    assert parsed.severity_number is SeverityNumber.ERROR
    assert parsed.body.endswith("ValueError: bad input")


def test_two_tracebacks_in_a_row_stay_apart():
    first = ["Traceback (most recent call last):", '  File "a.py", line 1, in <module>', "KeyError: 'x'"]
    assert group(first + first) == [first, first]


def test_plain_lines_are_one_entry_each_and_blank_lines_survive():
    assert group(["a", "", "b"]) == [["a"], [""], ["b"]]


def test_level_words():
    assert level_of("INFO:     Started server process [12]") == (SeverityNumber.INFO, "INFO")
    assert level_of("[2026-12-05 10:00:00 +0000] [7] [WARNING] Worker timeout") == (SeverityNumber.WARN, "WARNING")
    assert level_of('ts=1 level=error msg="x"') == (SeverityNumber.ERROR, "ERROR")
    assert level_of("no error in lower case is a level") is None


def test_stream_gives_the_severity_when_nothing_else_does():
    assert parse_entry(["hello"], "stdout").severity_number is SeverityNumber.INFO
    assert parse_entry(["hello"], "stderr").severity_number is SeverityNumber.WARN
    assert parse_entry(["hello"], "stderr").attributes == {"log.iostream": "stderr"}


def test_json_lines_become_attributes_level_and_trace_ids():
    line = (
        '{"levelname": "ERROR", "message": "Prediction failed", "action": "predict", "model_version": "0.1.0",'
        ' "extra": {"n": 3, "tags": ["a", "b"], "mixed": [1, "x"]}, "none": null,'
        ' "otelTraceID": "0af7651916cd43dd8448eb211c80319c", "otelSpanID": "b7ad6b7169203331"}'
    )
    parsed = parse_entry([line], "stdout")
    assert parsed.body == "Prediction failed"
    assert (parsed.severity_number, parsed.severity_text) == (SeverityNumber.ERROR, "ERROR")
    assert parsed.attributes == {
        "action": "predict",
        "model_version": "0.1.0",
        "extra.n": 3,
        "extra.tags": ["a", "b"],
        "extra.mixed": '[1,"x"]',
        "log.iostream": "stdout",
    }
    assert parsed.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert parsed.span_id == 0xB7AD6B7169203331


def test_text_that_only_looks_like_json_stays_text():
    parsed = parse_entry(["{not json}"], "stdout")
    assert parsed.body == "{not json}"
    assert parsed.attributes == {"log.iostream": "stdout"}
