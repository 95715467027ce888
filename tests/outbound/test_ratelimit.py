"""The sender's limits, on a fake clock (pure logic: no timing)."""
import heapq
import itertools

from wasb.outbound.ratelimit import PairPacer, TokenBucket, tier_capacity


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_token_comes_back_one_second_after_its_send_was_answered():
    clock = Clock()
    bucket = TokenBucket(4, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [0, 0, 0, 0]
    assert bucket.try_take() == 1.0  # all four under way: none can be free within the next second
    clock.now += 0.25
    bucket.release()  # the first answer
    clock.now += 0.25
    bucket.release()  # the second
    assert bucket.try_take() == 0.75  # one second after the first answer, not after the first take
    clock.now += 0.75
    assert bucket.try_take() == 0
    assert bucket.try_take() == 0.25  # the second answer's token
    clock.now += 0.25
    assert bucket.try_take() == 0 and bucket.try_take() == 1.0


def test_a_pause_leaves_one_second_of_tokens_never_more():
    clock = Clock()
    bucket = TokenBucket(4, clock=clock)
    for _ in range(4):
        assert bucket.try_take() == 0
        bucket.release()
    clock.now += 5
    taken = [bucket.try_take() for _ in range(5)]
    assert taken[:4] == [0, 0, 0, 0] and taken[4] > 0


def sends_as_meta_sees_them(bucket: TokenBucket, clock: Clock, delays, count: int) -> list[float]:
    """Send `count` messages as fast as the bucket allows, each arriving at Meta `delay` after it
    took its token and answered right after arriving; returns the arrival times."""
    arrivals: list[float] = []
    answers: list[float] = []  # times of the answers still to come
    delays = itertools.cycle(delays)
    while len(arrivals) < count:
        wait = bucket.try_take()
        if wait == 0:
            arrival = clock.now + next(delays)
            arrivals.append(arrival)
            heapq.heappush(answers, arrival + 0.001)
        elif answers and answers[0] <= clock.now + wait:
            clock.now = heapq.heappop(answers)
            bucket.release()
        else:
            clock.now += wait
    return sorted(arrivals)


def most_in_one_second(arrivals: list[float]) -> int:
    """Meta's count: the messages that arrived in the second up to each arrival."""
    return max(sum(1 for earlier in arrivals[:i + 1] if arrival - earlier < 1.0) for i, arrival in enumerate(arrivals))


def test_however_late_sends_arrive_meta_never_counts_more_than_the_bucket_in_one_second():
    clock = Clock()
    bucket = TokenBucket(5, clock=clock)
    # The first of a second's sends slow on the way, the one after them fast: counted from the
    # take, their tokens would let both land within one second at Meta.
    arrivals = sends_as_meta_sees_them(bucket, clock, [0.3, 0.2, 0.1, 0.05, 0.0, 0.0, 0.0], count=70)
    assert most_in_one_second(arrivals) == 5
    # ...and the bucket keeps the pace: 70 sends in about 14 s, the delays added only once per token
    assert arrivals[-1] - arrivals[0] < 70 / 5 * 1.35


def test_the_tier_keeps_headroom_under_meta_limit():
    assert tier_capacity(80) == 79 and tier_capacity(1000) == 990 and tier_capacity(1) == 1


def test_one_customer_is_paced_while_others_are_not():
    clock = Clock()
    pacer = PairPacer(burst=2, window=6, clock=clock)
    assert pacer.try_take("a") == 0 and pacer.try_take("a") == 0
    assert pacer.try_take("a") == 6 and pacer.try_take("b") == 0
    clock.now += 6
    assert pacer.try_take("a") == 0
    pacer.give_back("a")
    assert pacer.try_take("a") == 0 and pacer.try_take("a") == 0 and pacer.try_take("a") > 0
