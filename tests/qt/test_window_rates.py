"""Speeds and times the studio reports: running time only (pauses left out), and when the model is the limit."""

from __future__ import annotations

from arstudio.qt.presenter import RunClock, done_text, rate_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_clock_leaves_pauses_out() -> None:
    t = FakeClock()
    c = RunClock(t)
    c.follow(1, True, 0)  # plays
    t.now += 2.0
    c.follow(1, False, 20)  # pauses after 20 steps in 2 s
    t.now += 10.0  # 10 s paused
    c.follow(1, True, 20)
    t.now += 2.0
    assert c.running_time(40) == (40, 4.0) and c.rate(40) == 10.0  # the open stretch counts up to now
    c.follow(1, False, 44)
    assert c.running_time() == (44, 4.0) and c.paused == 10.0
    c.follow(2, True, 0)  # a new run starts from nothing
    assert c.running_time() == (0, 0.0) and c.stretches == 1


def test_steps_made_while_paused_are_not_timed() -> None:
    t = FakeClock()
    c = RunClock(t)
    c.follow(1, False, 0)
    t.now += 30.0
    c.follow(1, False, 5)  # five steps by hand (Right)
    assert c.running_time() == (0, 0.0) and c.rate() == 0.0
    assert done_text(5, 0.0, 0.0) == "Done: 5 steps, stepped by hand"


def test_the_summary_says_the_real_rate_and_the_pauses_left_out() -> None:
    # the "64 steps in 17.54 s / 4 steps/s": 14.3 s of it were paused
    assert done_text(64, 3.2, 14.34) == "Done: 64 steps in 3.20 s of sampling (14.3 s paused not counted)"
    assert done_text(64, 3.2, 0.1) == "Done: 64 steps in 3.20 s"
    assert rate_text(64 / 3.2, None) == "20 steps/s"


def test_a_set_speed_the_model_cannot_reach_is_said() -> None:
    assert rate_text(110, 500) == "110 steps/s · the model is the limit (set 500)"
    assert rate_text(49, 50) == "49 steps/s"  # at the set speed: nothing to say
    assert rate_text(1234.4, None) == "1,234 steps/s"
    assert rate_text(0.5, 1) == "0.5 steps/s · the model is the limit (set 1)"


def test_the_window_shows_the_limit_and_the_paused_time(studio, wait_finished, checkpoints, qtbot) -> None:
    w = studio(checkpoints["nade"], batch=2, rate=5)
    t = FakeClock()
    w.presenter.clock.clock = t
    said: list[str] = []
    w.presenter.message_posted.connect(lambda text, _ms: said.append(text))
    w.session.play()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled >= 2, timeout=20000)
    w.session.pause()
    t.now += 60.0  # a minute paused
    w.controls.set_rate(None)
    w.session.play()
    t.now += 1.0
    wait_finished(w, timeout=20000)
    done = said[-1]
    assert done.startswith("Done: 64 steps in ") and "paused not counted" in done
    assert "(60.0 s paused not counted)" in done  # the minute of pause, left out of the seconds
    seconds = float(done.split(" in ")[1].split(" s")[0])
    assert seconds < 30
    w.session.rate = 500.0  # a set speed far above what the model is reported to manage
    w.presenter.speed = 110.0
    w.presenter.draw()
    assert w.speed_label.text() == "110 steps/s · the model is the limit (set 500)"
