"""Proofreading judged by the model: candidate edits (Harper, shipped word lists, the model's answer) scored against the original."""

from app.proofing.judge import MARGINS, Plan, Scorer, plan, proofread, split_sentences

__all__ = ["MARGINS", "Plan", "Scorer", "plan", "proofread", "split_sentences"]
