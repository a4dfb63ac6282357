"""How long `dispatch up` waits before it restarts a service that exited."""

from __future__ import annotations

from dispatch.stack import BACKOFF_MAX_S, exit_text, restart_delay


def test_a_service_that_ran_long_enough_is_restarted_at_once() -> None:
    assert restart_delay(0) == 0.0


def test_each_quick_exit_doubles_the_wait_up_to_the_ceiling() -> None:
    waits = [restart_delay(n) for n in range(1, 12)]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(waits) == waits[-1] == BACKOFF_MAX_S


def test_an_exit_by_signal_is_named() -> None:
    assert exit_text(-9) == "SIGKILL"
    assert exit_text(1) == "code 1"
