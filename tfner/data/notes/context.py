"""The context one note is drawn from (shared by every module that writes values)."""

from __future__ import annotations

from datetime import date, timedelta

from tfner.data.notes.lang import LOCALE_INFO

_FAKERS: dict = {}


def faker(locale: str):
    """One Faker per locale and process (creating one is slow); callers reseed it before drawing."""
    fake = _FAKERS.get(locale)
    if fake is None:
        from faker import Faker

        fake = _FAKERS[locale] = Faker(locale)
        _stable_order(fake)
    return fake


def _stable_order(fake) -> None:
    """Faker builds some lists from sets (it_IT's cities), so their order, and what a seed draws from them,
    changes with PYTHONHASHSEED; sorting them makes notes the same in every process."""
    for generator in fake.factories:
        for provider in generator.providers:
            for attr in ("cities", "city_names"):
                values = getattr(provider, attr, None)
                if isinstance(values, (list, tuple)) and values and all(isinstance(v, str) for v in values):
                    setattr(provider, attr, sorted(values))


class Ctx:
    """What one note draws from: random stream, seeded Faker, locale, label set, 'today', and the share
    `foreign` of names, birthplaces and written dates that come from another origin (`lang.ORIGINS`)."""

    def __init__(self, rng, fake, locale: str, extended: bool, foreign: float = 0.0):
        self.rng = rng
        self.fake = fake
        self.locale = locale
        self.lang, self.cc, self.trunk, self.country = LOCALE_INFO[locale]
        self.extended = extended
        self.foreign = foreign
        self.today = date(rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def days_ago(self, lo: int, hi: int) -> date:
        return self.today - timedelta(days=self.rng.randint(lo, hi))

    def period(self, lo: int, hi: int, longest: int) -> tuple[date, date]:
        """A start between `hi` and `lo` days ago and an end 1 to `longest` days after it."""
        start = self.days_ago(lo, hi)
        return start, start + timedelta(days=self.rng.randint(1, longest))

    def foreign_faker(self, origins):
        """A Faker of one of `origins`, seeded from this note, for a share `foreign` of the calls; else None.
        Draws nothing from the note's random stream when `foreign` is 0, so such notes stay as they were."""
        if not self.foreign or self.rng.random() >= self.foreign:
            return None
        fake = faker(self.rng.choice(origins))
        fake.seed_instance(self.rng.getrandbits(64))
        return fake
