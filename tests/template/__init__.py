"""Tests of the Copier template: workflows, noxfile, answers, updates, pins, real projects."""
