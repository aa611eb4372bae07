"""The /asr endpoint speaks the vosk-server protocol: real server, real socket, real engines."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
import websockets
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from hotline.config import load_config
from hotline.server.app import HotlineServer
from hotline.server.asr_endpoint import VoskStream
from hotline.wire import vosk as wire
from telephony import pcm_to_bytes, read_wav

HANGUL = re.compile(r"[가-힣]")
REPLY_TIMEOUT_S = 30.0
KOREAN_SENTENCE = "가로등이 고장났어요"
on_server_loop = pytest.mark.asyncio(loop_scope="module")


def silence(seconds: float, rate: int = 16000) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.int16)


def transcript(folder: Path, clip: str) -> str:
    lines = (folder / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)[clip]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("asr-endpoint")
    config = load_config(environ={}, port=0, data_dir=str(data_dir))
    # These tests open sessions side by side from one address; the limits have their own.
    config.call.capacity = 100
    config.security.asr_sessions_per_address = 64
    async with HotlineServer(config) as running:
        yield running


def url(server: HotlineServer) -> str:
    return f"ws://127.0.0.1:{server.port}/asr"


async def reply(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))


async def stream_audio(ws, pcm: np.ndarray, rate: int, chunk_s: float = 0.25) -> list[dict]:
    """Send `pcm` in chunks, reading the one reply each chunk must get before the next."""
    data = pcm_to_bytes(pcm)
    step = int(chunk_s * rate) * 2
    replies = []
    for offset in range(0, len(data), step):
        await ws.send(data[offset : offset + step])
        replies.append(await reply(ws))
    return replies


async def end_of_stream(ws) -> dict:
    """Send the exact eof string; the final must be the last message before a normal close."""
    await ws.send('{"eof" : 1}')
    final = await reply(ws)
    with pytest.raises(ConnectionClosedOK):
        await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S)
    assert ws.close_code == 1000
    return final


async def closed_with(ws) -> int | None:
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S)
    return ws.close_code


def assert_vosk_shape(message: dict) -> None:
    assert set(message) in ({"partial"}, {"text"}, {"text", "result"}), message
    for word in message.get("result", []):
        assert set(word) == {"conf", "start", "end", "word"}
        assert 0.0 <= word["start"] <= word["end"]
        assert 0.0 <= word["conf"] <= 1.0


def final_texts(replies: list[dict]) -> str:
    return " ".join(r["text"] for r in replies if "text" in r)


async def pool_stats(server: HotlineServer, engine: str) -> dict[str, int]:
    (described,) = [e for e in server.engines.describe()["asr"] if e["name"] == engine]
    return described["pool"]


async def wait_until_returned(server: HotlineServer, engine: str) -> dict[str, int]:
    for _ in range(100):
        stats = await pool_stats(server, engine)
        if stats["in_use"] == 0:
            return stats
        await asyncio.sleep(0.05)
    raise AssertionError(f"recognizer not returned to the {engine} pool: {stats}")


@pytest.fixture(scope="module")
def korean_speech_8k(make_speech) -> np.ndarray:
    speech = make_speech(KOREAN_SENTENCE, "ko", 8000)
    return np.concatenate([silence(0.3, 8000), speech, silence(0.8, 8000)])


@pytest.fixture(scope="module")
def korean_speech_16k(make_speech) -> np.ndarray:
    speech = make_speech(KOREAN_SENTENCE, "ko", 16000)
    return np.concatenate([silence(0.3), speech, silence(0.8)])


# --- the protocol over a real socket --------------------------------------------------


@on_server_loop
async def test_config_gets_no_reply_and_every_chunk_gets_exactly_one(server, korean_speech_16k):
    async with websockets.connect(url(server)) as ws:
        await ws.send('{"config" : {"sample_rate" : 16000}}')
        replies = await stream_audio(ws, korean_speech_16k, 16000)
        final = await end_of_stream(ws)
    for message in [*replies, final]:
        assert_vosk_shape(message)
    assert "partial" in replies[0], "the config message must not have been answered"
    assert "text" in final
    assert HANGUL.search(final_texts([*replies, final]))


@on_server_loop
async def test_real_korean_recording_is_transcribed_in_hangul(server, shared_speech: Path):
    pcm, rate = read_wav(shared_speech / "ko" / "pv_leopard_test_ko.wav")
    reference = transcript(shared_speech / "ko", "pv_leopard_test_ko.wav")
    async with websockets.connect(url(server)) as ws:
        await ws.send(json.dumps({"config": {"sample_rate": rate}}))
        replies = await stream_audio(ws, np.concatenate([pcm, silence(0.5, rate)]), rate)
        replies.append(await end_of_stream(ws))
    for message in replies:
        assert_vosk_shape(message)
    recognized = final_texts(replies).replace(" ", "")
    assert HANGUL.search(recognized)
    assert len(set(recognized) & set(reference)) >= 8, recognized
    words = [w for r in replies for w in r.get("result", [])]
    assert words and all(w["end"] <= len(pcm) / rate + 0.5 for w in words)


@on_server_loop
async def test_korean_at_the_default_8k_rate_is_transcribed_in_hangul(server, korean_speech_8k):
    async with websockets.connect(url(server)) as ws:
        replies = await stream_audio(ws, korean_speech_8k, 8000, chunk_s=0.02)
        replies.append(await end_of_stream(ws))
    for message in replies:
        assert_vosk_shape(message)
    assert HANGUL.search(final_texts(replies))
    partials = [r["partial"] for r in replies if "partial" in r]
    assert any(HANGUL.search(p) for p in partials), "no partial text during speech"


@on_server_loop
async def test_reset_returns_a_final_and_the_session_goes_on(server, korean_speech_16k):
    async with websockets.connect(url(server)) as ws:
        await ws.send('{"config" : {"sample_rate" : 16000}}')
        first = await stream_audio(ws, korean_speech_16k, 16000)
        await ws.send('{"reset" : 1}')
        first.append(await reply(ws))
        second = await stream_audio(ws, korean_speech_16k, 16000)
        second.append(await end_of_stream(ws))
    assert "text" in first[-1]
    assert HANGUL.search(final_texts(first))
    assert HANGUL.search(final_texts(second))
    first_length = len(korean_speech_16k) / 16000
    second_words = [w for r in second for w in r.get("result", [])]
    assert second_words and second_words[0]["start"] >= first_length - 0.1


@on_server_loop
async def test_english_config_uses_pocketsphinx(server, make_speech):
    speech = make_speech("the street light is broken", "en", 16000)
    audio = np.concatenate([silence(0.5), speech, silence(0.5)])
    async with websockets.connect(url(server)) as ws:
        await ws.send(json.dumps({"config": {"language": "en-US", "sample_rate": 16000}}))
        replies = await stream_audio(ws, audio, 16000)
        await ws.send('{"reset" : 1}')
        first = json.loads(await ws.recv())
        replies += await stream_audio(ws, audio, 16000)
        final = await end_of_stream(ws)
    assert all(set(r) == {"partial"} for r in replies), "PocketSphinx finalizes only on eof"
    assert_vosk_shape(final)
    # A fresh PocketSphinx decoder is still settling its normalisation on the first
    # utterance, so the words are looked for across both.
    heard = set(first["text"].split()) | set(final["text"].split())
    assert {"street", "light", "broken"} & heard, (first, final)
    assert [w["word"] for w in final["result"]] == final["text"].split()
    sphinx = await wait_until_returned(server, "pocketsphinx")
    assert sphinx["created"] >= 1 and sphinx["idle"] >= 1


@on_server_loop
async def test_english_at_the_default_8k_rate_is_decoded_by_the_16k_only_pocketsphinx(
    server, make_speech
):
    speech = make_speech("the street light is broken", "en", 8000)
    async with websockets.connect(url(server)) as ws:
        await ws.send('{"config" : {"language" : "en"}}')
        replies = await stream_audio(ws, np.concatenate([speech, silence(0.5, 8000)]), 8000)
        final = await end_of_stream(ws)
    assert len(replies) >= 6 and all(set(r) == {"partial"} for r in replies)
    assert any(r["partial"] for r in replies)
    assert_vosk_shape(final)
    assert final["text"] and final["result"]


@on_server_loop
async def test_words_false_leaves_out_the_result_list(server, korean_speech_16k):
    async with websockets.connect(url(server)) as ws:
        await ws.send(json.dumps({"config": {"sample_rate": 16000, "words": False}}))
        replies = await stream_audio(ws, korean_speech_16k, 16000)
        replies.append(await end_of_stream(ws))
    finals = [r for r in replies if "text" in r]
    assert finals and all(set(r) == {"text"} for r in finals)
    assert HANGUL.search(final_texts(finals))


@on_server_loop
async def test_unknown_language_gets_an_error_and_a_policy_close(server):
    async with websockets.connect(url(server)) as ws:
        await ws.send(json.dumps({"config": {"language": "xx"}}))
        error = await reply(ws)
        assert set(error) == {"error"} and "'xx'" in error["error"]
        assert "ko" in error["error"], "the error should list the languages there are"
        assert await closed_with(ws) == 1008


@on_server_loop
@pytest.mark.parametrize(
    "config",
    [
        '{"config" : {"sample_rate" : }',
        '{"config": {"sample_rate": 123}}',
        '{"config": {"sample_rate": "fast"}}',
        '{"config": {"max_alternatives": 3}}',
        '{"config": {"phrase_list": "street light"}}',
        '{"config": {"model": "/opt/model"}}',
        '{"config": 5}',
        "no config here",
    ],
)
async def test_malformed_config_gets_an_error_and_the_server_keeps_serving(server, config):
    async with websockets.connect(url(server)) as ws:
        await ws.send(config)
        error = await reply(ws)
        assert set(error) == {"error"} and error["error"]
        assert await closed_with(ws) == 1008
    async with websockets.connect(url(server)) as ws:
        assert await end_of_stream(ws) == {"text": ""}


@on_server_loop
async def test_invalid_text_gets_an_error_reply_and_the_session_goes_on(server):
    async with websockets.connect(url(server)) as ws:
        await ws.send("hello")
        assert "error" in await reply(ws)
        await ws.send('{"eof": 0}')
        assert "error" in await reply(ws)
        await ws.send('{"reset":1}')
        assert await reply(ws) == {"text": ""}
        await ws.send(pcm_to_bytes(silence(0.2, 8000)))
        assert await reply(ws) == {"partial": ""}
        await ws.send('{"eof": 1}')
        assert await reply(ws) == {"text": ""}
        assert await closed_with(ws) == 1000


@on_server_loop
async def test_odd_byte_audio_gets_an_error_and_the_session_goes_on(server):
    async with websockets.connect(url(server)) as ws:
        await ws.send(b"\x00\x01\x02")
        error = await reply(ws)
        assert set(error) == {"error"} and "3 bytes" in error["error"]
        await ws.send(pcm_to_bytes(silence(0.1, 8000)))
        assert await reply(ws) == {"partial": ""}
        assert await end_of_stream(ws) == {"text": ""}


@on_server_loop
async def test_recognizer_goes_back_to_the_pool_when_the_client_leaves(server, korean_speech_8k):
    for _ in range(2):
        async with websockets.connect(url(server)) as ws:
            await stream_audio(ws, korean_speech_8k[: 8000 * 1], 8000)
            during = await pool_stats(server, "vosk")
            assert during["in_use"] == 1
        after = await wait_until_returned(server, "vosk")
        assert after["idle"] >= 1
    async with websockets.connect(url(server)) as ws:
        await stream_audio(ws, korean_speech_8k, 8000)
    again = await wait_until_returned(server, "vosk")
    assert again["created"] == after["created"], "a pooled recognizer should have been reused"


# --- the decoding loop and the parser, without a socket -------------------------------


class CountingRecognizer:
    """A real recognizer that counts how often its partial is computed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.sample_rate = inner.sample_rate
        self.partials = 0

    def accept(self, pcm: bytes) -> bool:
        return self.inner.accept(pcm)

    def partial(self) -> str:
        self.partials += 1
        return self.inner.partial()

    def result(self):
        return self.inner.result()

    def finish(self):
        return self.inner.finish()

    def reset(self) -> None:
        self.inner.reset()


@pytest.mark.parametrize(("interval", "expected"), [(0.0, 50), (0.2, 5)])
def test_partials_are_recomputed_once_per_interval_and_repeated_between(
    interval, expected, korean_speech_16k
):
    from asr import AsrRegistry

    engine = AsrRegistry().engine_for("ko")
    inner = engine.recognizer("ko", 16000)
    try:
        recognizer = CountingRecognizer(inner)
        stream = VoskStream(recognizer, 16000, words=True, partial_interval_s=interval)
        data = pcm_to_bytes(korean_speech_16k[:16000])
        replies = [stream.feed(data[i : i + 640]) for i in range(0, len(data), 640)]
        assert len(replies) == 50
        assert recognizer.partials == expected
        assert all(isinstance(r, wire.PartialReply) for r in replies)
    finally:
        engine.release(inner)


class RecordingRecognizer(CountingRecognizer):
    """A real recognizer that keeps the bytes it was given."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.fed: list[bytes] = []

    def accept(self, pcm: bytes) -> bool:
        self.fed.append(pcm)
        return super().accept(pcm)


@pytest.mark.parametrize("client_rate", [16000, 8000])
def test_audio_at_the_decode_rate_reaches_the_recognizer_unchanged(
    client_rate, korean_speech_16k, korean_speech_8k
):
    from asr import AsrRegistry

    speech = korean_speech_16k if client_rate == 16000 else korean_speech_8k
    data = pcm_to_bytes(speech[: client_rate // 2])
    step = client_rate // 10 * 2
    engine = AsrRegistry().engine_for("ko")
    inner = engine.recognizer("ko", 16000)
    try:
        recognizer = RecordingRecognizer(inner)
        stream = VoskStream(recognizer, client_rate, words=True)
        replies = [stream.feed(data[i : i + step]) for i in range(0, len(data), step)]
        stream.finish()
        fed = b"".join(recognizer.fed)
        if client_rate == 16000:
            assert fed == data
        else:
            assert fed != data[: len(fed)] and len(fed) == 2 * len(data)
        assert len(replies) == 5
    finally:
        engine.release(inner)


@on_server_loop
async def test_phrase_list_limits_what_is_recognized(server, korean_speech_16k):
    phrases = ["가로등", "고장", "[unk]"]
    async with websockets.connect(url(server)) as ws:
        await ws.send(json.dumps({"config": {"sample_rate": 16000, "phrase_list": phrases}}))
        replies = await stream_audio(ws, korean_speech_16k, 16000)
        replies.append(await end_of_stream(ws))
    words = final_texts(replies).split()
    assert words and set(words) <= set(phrases), words
    assert {"가로등", "고장"} & set(words), words
