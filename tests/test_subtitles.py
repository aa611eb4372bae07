"""Transcript formats of ``hotline transcribe``, from hand-built finals (no engine)."""

from __future__ import annotations

import json

from asr import Final, Word
from hotline.subtitles import (
    FORMATS,
    MAX_CUE_S,
    MAX_LINE_CHARS,
    cues,
    srt_time,
    to_json,
    to_srt,
    to_text,
    to_timed,
    to_vtt,
    vtt_time,
)


def final(text: str, start: float, end: float, confidence: float = 0.8) -> Final:
    """An utterance whose words share its span evenly."""
    words = text.split()
    step = (end - start) / len(words)
    return Final(
        text,
        [
            Word(w, start + i * step, start + (i + 1) * step, confidence)
            for i, w in enumerate(words)
        ],
        confidence,
        start,
        end,
    )


SHORT = [final("go forward ten meters", 1.25, 3.0), final("turn left", 3661.5, 3662.0675)]
LONG_TEXT = (
    "it was the first great sorrow of his life it was not so much the loss of the cotton "
    "itself but the fantasy the hopes the dreams built around it"
)
LONG = final(LONG_TEXT, 2.0, 16.0)


def test_timestamps_use_each_formats_separator_and_round_to_the_millisecond():
    assert srt_time(1.25) == "00:00:01,250"
    assert vtt_time(1.25) == "00:00:01.250"
    assert srt_time(3661.0675) == "01:01:01,068"
    assert vtt_time(0.0004) == "00:00:00.000"
    assert srt_time(-0.2) == "00:00:00,000"
    assert vtt_time(59.9996) == "00:01:00.000"


def test_text_is_the_words_only_one_utterance_per_line():
    assert to_text([*SHORT, Final("", [], 1.0, 4.0, 5.0)]) == "go forward ten meters\nturn left\n"


def test_timed_keeps_the_commands_original_lines():
    assert to_timed(SHORT[:1]) == "[   1.25 –    3.00] (0.80) go forward ten meters\n"


def test_json_lists_utterances_with_their_words():
    utterances = json.loads(to_json(SHORT))
    assert [u["text"] for u in utterances] == ["go forward ten meters", "turn left"]
    first = utterances[0]
    assert (first["start"], first["end"], first["confidence"]) == (1.25, 3.0, 0.8)
    assert first["words"][1] == {"word": "forward", "start": 1.688, "end": 2.125, "confidence": 0.8}
    assert set(utterances[1]) == {"start", "end", "text", "confidence", "words"}
    assert json.loads(to_json([])) == []


def test_srt_numbers_its_cues_with_comma_timestamps():
    assert to_srt(SHORT) == (
        "1\n00:00:01,250 --> 00:00:03,000\ngo forward ten meters\n"
        "\n"
        "2\n01:01:01,500 --> 01:01:02,068\nturn left\n"
    )


def test_vtt_has_its_header_and_dot_timestamps():
    assert to_vtt(SHORT) == (
        "WEBVTT\n"
        "\n00:00:01.250 --> 00:00:03.000\ngo forward ten meters\n"
        "\n01:01:01.500 --> 01:01:02.068\nturn left\n"
    )
    assert to_vtt([]) == "WEBVTT\n"
    assert to_vtt([Final("<b> & co", [], 1.0, 0.0, 1.0)]).endswith("\n&lt;b&gt; &amp; co\n")


def test_a_long_utterance_is_split_at_its_words_into_short_cues():
    split = cues([LONG])
    assert len(split) > 1
    assert " ".join(line for cue in split for line in cue.lines) == LONG_TEXT
    for cue in split:
        assert 1 <= len(cue.lines) <= 2
        assert all(len(line) <= MAX_LINE_CHARS for line in cue.lines)
        assert cue.end - cue.start <= MAX_CUE_S
    assert split[0].start == LONG.start and split[-1].end == LONG.end
    assert all(a.end <= b.start for a, b in zip(split, split[1:], strict=False))
    srt = to_srt([LONG])
    assert srt.startswith("1\n00:00:02,000 --> ")
    assert f"\n{len(split)}\n" in srt and f"\n{len(split) + 1}\n" not in srt


def test_a_slow_utterance_is_split_by_time_even_when_its_text_is_short():
    split = cues([final("one two three four", 0.0, 20.0)])
    assert [cue.lines for cue in split] == [["one"], ["two"], ["three"], ["four"]]


def test_an_utterance_without_word_timings_stays_one_wrapped_cue():
    split = cues([Final(LONG_TEXT, [], 0.9, 2.0, 16.0)])
    assert len(split) == 1 and (split[0].start, split[0].end) == (2.0, 16.0)
    assert all(len(line) <= MAX_LINE_CHARS for line in split[0].lines)


def test_every_format_is_listed_by_name():
    assert set(FORMATS) == {"timed", "text", "json", "srt", "vtt"}
