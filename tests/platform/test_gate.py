"""The gate (simulators/platform/gate.py): one thread in at a time, first come first in, a waiting thread
steps out, and no thread waits longer than the gate's patience."""

import threading
import time

from simulators.platform.gate import Gate


def _run(*targets):
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    return threads


def _join(threads):
    for t in threads:
        t.join(timeout=10)
        assert not t.is_alive()


def test_one_thread_in_at_a_time():
    gate, inside, most = Gate(patience=10), [0], [0]
    lock = threading.Lock()

    def call():
        for _ in range(50):
            gate.enter()
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.0005)  # holds the gate: no other thread may be in meanwhile
            with lock:
                inside[0] -= 1
            gate.leave()

    _join(_run(*[call] * 6))
    assert most[0] == 1


def test_first_come_first_in():
    gate, order = Gate(patience=10), []
    gate.enter()  # held by this thread while the others queue, in a known order
    threads = []
    for n in range(5):
        def call(n=n):
            gate.enter()
            order.append(n)
            gate.leave()
        threads += _run(call)
        while len(gate._waiting) < n + 1:
            time.sleep(0.001)
    gate.leave()
    _join(threads)
    assert order == [0, 1, 2, 3, 4]


def test_a_thread_that_waits_steps_out_and_comes_back_ahead_of_new_callers():
    gate, order = Gate(patience=10), []
    released = threading.Event()

    def slow():  # a latency fault or an outbound call: waits within its call
        gate.enter()
        order.append("slow in")
        with gate.waiting():
            released.wait(10)
        order.append("slow back")
        gate.leave()

    def quick():
        gate.enter()
        order.append("quick")
        gate.leave()

    threads = _run(slow)
    while "slow in" not in order:
        time.sleep(0.001)
    threads += _run(quick)  # gets in while slow waits
    while "quick" not in order:
        time.sleep(0.001)
    gate.enter()  # this thread holds the gate while slow's wait ends and a newcomer queues
    released.set()
    while len(gate._waiting) < 1:
        time.sleep(0.001)
    threads += _run(quick)
    while len(gate._waiting) < 2:
        time.sleep(0.001)
    gate.leave()
    _join(threads)
    assert order == ["slow in", "quick", "slow back", "quick"]


def test_no_thread_waits_past_the_patience():
    gate, got_in = Gate(patience=0.05), threading.Event()
    gate.enter()  # never left while the other thread comes

    def call():
        gate.enter()
        got_in.set()
        gate.leave()  # it went in beside the holder: leaving gives nothing away

    threads = _run(call)
    assert got_in.wait(5)
    _join(threads)
    assert gate._busy  # still this thread's
    gate.leave()
    assert not gate._busy and not gate._waiting


def test_waiting_outside_the_gate_does_nothing():
    gate = Gate()
    with gate.waiting():
        assert not gate._busy
    assert not gate._busy
