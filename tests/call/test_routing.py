"""Skills-based routing: who gets which waiting call, in which language, in what order."""

from __future__ import annotations

import pytest

from hotline.call import OperatorSeat, QueueFull, Switchboard

PAIRS = {("ko", "en"), ("en", "ko"), ("ca", "es")}


def can_translate(source: str, target: str) -> bool:
    return source == target or (source, target) in PAIRS


def switchboard(max_queue: int = 10) -> Switchboard:
    return Switchboard(max_queue, can_translate)


async def test_an_operator_who_speaks_the_callers_language_is_preferred():
    board = switchboard()
    board.sign_in(OperatorSeat("ana", ["en"]))
    board.sign_in(OperatorSeat("min", ["ko"]))
    waiting = board.enqueue("c1", "ko")
    seat, language = waiting.assigned.result()
    assert (seat.name, language) == ("min", "ko")


async def test_next_best_is_a_language_translatable_both_ways_then_any_free_operator():
    board = switchboard()
    board.sign_in(OperatorSeat("pau", ["es"]))  # ca→es only one way
    board.sign_in(OperatorSeat("ana", ["en"]))
    seat, language = board.enqueue("c1", "ko").assigned.result()
    assert (seat.name, language) == ("ana", "en")
    seat, language = board.enqueue("c2", "ca").assigned.result()
    assert (seat.name, language) == ("pau", "es"), "untranslated captions beat waiting"


async def test_calls_wait_in_order_and_a_released_seat_takes_the_next():
    board = switchboard()
    ana = OperatorSeat("ana", ["en"])
    board.sign_in(ana)
    first = board.enqueue("c1", "en")
    second = board.enqueue("c2", "en")
    third = board.enqueue("c3", "en")
    assert first.assigned.done() and ana.taken_by == "c1" and not ana.free
    assert [board.position(second), board.position(third)] == [1, 2]
    board.release(ana)
    assert second.assigned.result()[0] is ana and board.position(third) == 1
    board.leave(third)
    assert board.waiting == [] and board.position(third) == 0


async def test_a_full_queue_refuses_the_next_caller():
    board = switchboard(max_queue=1)
    board.enqueue("c1", "en")
    with pytest.raises(QueueFull):
        board.enqueue("c2", "en")


async def test_operators_who_pick_by_hand_or_are_away_are_not_given_calls():
    board = switchboard()
    picker = OperatorSeat("ana", ["en"], auto_accept=False)
    away = OperatorSeat("bo", ["en"], available=False)
    board.sign_in(picker)
    board.sign_in(away)
    waiting = board.enqueue("c1", "en")
    assert not waiting.assigned.done()
    assert not board.accept(picker, "nope"), "only a waiting call can be accepted"
    assert board.accept(picker, "c1")
    assert waiting.assigned.result() == (picker, "en")


async def test_one_name_signs_in_once_and_every_seat_hears_queue_changes():
    board = switchboard()
    changes: list[str] = []
    board.sign_in(
        OperatorSeat("ana", ["en"], available=False, on_queue_change=lambda: changes.append("ana"))
    )
    with pytest.raises(ValueError, match="already signed in"):
        board.sign_in(OperatorSeat("ana", ["es"]))
    waiting = board.enqueue("c1", "ko")
    board.leave(waiting)
    assert changes == ["ana", "ana"]
    snapshot = board.queue_snapshot()
    assert snapshot == []
    board.enqueue("c2", "ko")
    (queued,) = board.queue_snapshot()
    assert (queued.call_id, queued.language) == ("c2", "ko") and queued.waiting_s >= 0


async def test_past_its_capacity_the_server_keeps_callers_queued_though_operators_are_free():
    asr_load = [0.0]
    board = Switchboard(10, can_translate, capacity=2, other_load=lambda: asr_load[0])
    seats = [OperatorSeat(name, ["en"]) for name in ("ana", "bo", "cy")]
    for seat in seats:
        board.sign_in(seat)
    calls = [board.enqueue(f"c{i}", "en") for i in range(3)]
    assert [c.assigned.done() for c in calls] == [True, True, False]
    assert board.position(calls[2]) == 1 and seats[2].free
    assert not board.accept(seats[2], "c2"), "not by hand either"
    board.release(calls[0].assigned.result()[0])
    assert calls[2].assigned.done(), "a call that ends makes room for the next"


async def test_other_work_on_the_engines_counts_against_the_capacity():
    asr_load = [1.5]
    board = Switchboard(10, can_translate, capacity=2, other_load=lambda: asr_load[0])
    board.sign_in(OperatorSeat("ana", ["en"]))
    waiting = board.enqueue("c1", "en")
    assert not waiting.assigned.done() and board.load() == 1.5
    asr_load[0] = 0.5
    board.dispatch()
    assert waiting.assigned.done()
