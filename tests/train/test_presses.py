"""The press report reads a closed loop's button presses as the simulator counts them."""

from fuse_ros.envs import make, make_expert
from fuse_ros.envs.manipulation.objects import CATALOGS
from fuse_ros.envs.manipulation.tasks import HOLD_STEPS
from fuse_ros.train.presses import Presses, press_report


def test_the_expert_taps_look_alikes_and_holds_the_target_until_it_is_chosen():
    env = make("button")
    report = press_report(env, make_expert(env), episodes=8)
    env.close()
    assert [e.end for e in report] == ["success"] * 8
    for episode in report:
        *taps, (last, steps) = episode.presses
        assert last == episode.target and steps == HOLD_STEPS
        assert all(button != episode.target and held < HOLD_STEPS for button, held in taps)
        assert episode.tone in CATALOGS["train"].tones
    assert any(len(episode.presses) > 1 for episode in report), "some episodes should probe by ear first"


def test_timeouts_are_told_apart_by_what_was_pressed():
    assert Presses(0, [(1, 2), (0, 3)], "timeout").kind == "timeout, target pressed but let go"
    assert Presses(0, [(1, 2)], "timeout").kind == "timeout, target never pressed"
    assert Presses(0, [], "timeout").kind == "timeout, nothing pressed"
    assert Presses(0, [(0, 8)], "success").kind == "success"
