"""Saving ``output.ipynb``: the masker every save goes through masks as ``Masker`` does, searching each short text once."""

from __future__ import annotations

import pytest

from nb2prod.run.output import RememberingMasker
from nb2prod.secrets import Masker

SECRET = "hunter2-very-secret"
NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": [f"password = '{SECRET}'\n", "x = 1"]},
        {"cell_type": "code", "outputs": [{"name": "stdout", "text": f"token ghp_{'a' * 36} and {SECRET}\n"}], "source": "print()"},
    ],
    "metadata": {"papermill": {"parameters": {"password": SECRET}}},
}


def test_each_save_masks_as_masker_does_and_a_text_seen_before_is_not_searched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[str] = []
    real = Masker._spans

    def spans(self: Masker, text: str) -> list[tuple[int, int]]:
        searched.append(text)
        return real(self, text)

    monkeypatch.setattr(Masker, "_spans", spans)
    expected = Masker([SECRET]).data(NOTEBOOK)
    assert SECRET not in str(expected) and "ghp_" not in str(expected)
    searched.clear()
    masker = RememberingMasker([SECRET])
    assert masker.data(NOTEBOOK) == expected
    first = len(searched)
    assert masker.data(NOTEBOOK) == expected and masker.text(f"again {SECRET}") == "again ***"
    assert searched[first:] == [f"again {SECRET}"]  # the second save searched nothing again
