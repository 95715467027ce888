"""The sender's limits, on a fake clock (pure logic: no timing)."""
from wasb.outbound.ratelimit import PairPacer, TokenBucket, tier_capacity


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_no_second_ever_holds_more_sends_than_the_bucket_and_a_pause_is_not_lost():
    clock = Clock()
    bucket = TokenBucket(4, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [0, 0, 0, 0]
    assert bucket.try_take() == 1.0  # the first token comes back one second after it was spent
    clock.now += 0.5
    assert bucket.try_take() == 0.5
    clock.now += 0.5
    assert bucket.try_take() == 0 and bucket.try_take() == 0  # a second later, the tokens are back
    clock.now += 5  # a long pause saves nothing beyond one second's worth
    assert [bucket.try_take() for _ in range(5)][-1] > 0


def test_the_tier_keeps_headroom_under_meta_limit():
    assert tier_capacity(80) == 78 and tier_capacity(1000) == 980 and tier_capacity(1) == 1


def test_one_customer_is_paced_while_others_are_not():
    clock = Clock()
    pacer = PairPacer(burst=2, window=6, clock=clock)
    assert pacer.try_take("a") == 0 and pacer.try_take("a") == 0
    assert pacer.try_take("a") == 6 and pacer.try_take("b") == 0
    clock.now += 6
    assert pacer.try_take("a") == 0
    pacer.give_back("a")
    assert pacer.try_take("a") == 0 and pacer.try_take("a") == 0 and pacer.try_take("a") > 0
