"""holstein.profiles: the one source of sizes."""
import pytest

from holstein.profiles import ENV_VAR, PROFILES, get_profile


def test_env_var_chooses_and_default_is_ci(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert get_profile().name == "ci"
    monkeypatch.setenv(ENV_VAR, "book")
    assert get_profile().name == "book"
    assert get_profile("paper").name == "paper"  # an explicit name wins


def test_unknown_profile_is_one_clear_line(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "huge")
    with pytest.raises(ValueError, match=r"unknown profile 'huge'.*\['book', 'ci', 'paper'\]"):
        get_profile()


def test_sizes_grow_from_ci_to_paper_and_are_consistent():
    ci, book, paper = (PROFILES[k] for k in ("ci", "book", "paper"))
    for f in ("L_ed", "n_random", "n_quench", "L_large", "large_steps"):
        assert getattr(ci, f) <= getattr(book, f) <= getattr(paper, f), f
    for p in PROFILES.values():
        assert p.L_ed % 2 == 0 and p.L_large % 2 == 0  # checkerboard order needs even L
        assert p.large_steps % p.large_every == 0 and p.fresh_steps % p.fresh_every == 0
        assert all(s % p.fresh_every == 0 and s <= p.fresh_steps for s in p.fresh_compare)
        assert p.n_quench % p.quench_runs == 0
        assert p.fresh_seed >= 100000  # disjoint from every dataset's quench seeds (1000·seed + r + 1)
