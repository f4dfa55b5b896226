"""The local intent classifier, trained at publish time from the bot's intent examples.

Word and character n-gram TF-IDF (characters make it forgiving of typos and inflections) into
a logistic regression. The confidence is its probability, damped when most of the message's
words appear in no example (see `_coverage`). Below the threshold, or when the
text matches nothing the bot knows, `classify` answers `(None, confidence)`: out of scope.

    blob = train(snapshot.intents)          # bytes, stored on BotVersion.nlu_model
    clf = load(blob, threshold=0.45)
    clf.classify("where is my parcel")      # ("track_order", 0.81)

The model data is pickled; the bytes carry an HMAC under SECRET_KEY so `load` only unpickles what
this installation trained (a tampered database row cannot run code).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import pickle  # noqa: S403 - signed below, only our own bytes are ever loaded
from collections import Counter
from collections.abc import Sequence

import numpy as np
from django.conf import settings
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bots.schema import IntentSpec

DEFAULT_THRESHOLD = 0.45
_MAGIC = b"sbnlu1"
# Out-of-scope examples: give the model somewhere to put text that is about nothing the bot
# knows, so a single-intent bot does not answer every message with that intent.
_OUT_OF_SCOPE = "__out_of_scope__"
_OOS_EXAMPLES = [
    "what is the weather like",
    "tell me a joke",
    "who won the game last night",
    "hello",
    "thanks",
    "ok",
    "what time is it",
    "asdf qwerty",
]


class NluError(ValueError):
    pass


_FEATURES = (  # (analyzer, n-gram range): words catch phrasing, characters catch typos and inflections
    ("word", (1, 2)),
    ("char_wb", (2, 5)),
)


def _vectorizer(analyzer: str, ngrams: tuple[int, int]) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True, lowercase=True)


def _sign(payload: bytes) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), payload, hashlib.sha256).digest()


def train(intents: Sequence[IntentSpec]) -> bytes:
    """Train on every intent's examples; an empty bot gets a model that never matches.

    What is stored is plain data (vocabularies, idf weights, coefficients), not scikit-learn
    objects: scoring one message by hand costs a few dozen microseconds, where the pipeline's
    per-call validation costs milliseconds.
    """
    texts: list[str] = []
    labels: list[str] = []
    for intent in intents:
        for example in intent.examples:
            if example.strip():
                texts.append(example)
                labels.append(intent.name)
    model = None
    if texts:
        texts += _OOS_EXAMPLES
        labels += [_OUT_OF_SCOPE] * len(_OOS_EXAMPLES)
        union = FeatureUnion([(a, _vectorizer(a, n)) for a, n in _FEATURES])
        pipeline = Pipeline([("features", union), ("model", LogisticRegression(C=20.0, max_iter=2000))]).fit(
            texts, labels
        )
        lr = pipeline.named_steps["model"]
        model = {
            "blocks": [
                {"vocabulary": dict(vec.vocabulary_), "idf": vec.idf_.astype(np.float32)}
                for _, vec in union.transformer_list
            ],
            "coef": lr.coef_.astype(np.float32),
            "intercept": lr.intercept_.astype(np.float32),
            "classes": [str(c) for c in lr.classes_],
        }
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return _MAGIC + _sign(payload) + payload


class Classifier:
    def __init__(self, model: dict | None, threshold: float = DEFAULT_THRESHOLD):
        self.threshold = threshold
        self._model = model
        self.intents: list[str] = [c for c in model["classes"] if c != _OUT_OF_SCOPE] if model else []
        if model:
            self._analyzers = [_vectorizer(a, n).build_analyzer() for a, n in _FEATURES]
            self._offsets = np.cumsum([0] + [len(b["vocabulary"]) for b in model["blocks"]])[:-1]
            self._words = {w for w in model["blocks"][0]["vocabulary"] if " " not in w}
            self._tokenize = _vectorizer(*_FEATURES[0]).build_tokenizer()

    def _coverage(self, text: str) -> float:
        """Share of the message's words seen in some example. A long question made mostly of
        unseen words is about something else, however the probabilities split between intents."""
        tokens = self._tokenize(text.lower())
        if not tokens:
            return 0.0
        return sum(t in self._words for t in tokens) / len(tokens)

    def _probabilities(self, text: str) -> np.ndarray:
        """What `predict_proba` of the trained pipeline gives, computed directly."""
        cols, vals = [], []
        for analyzer, block, offset in zip(self._analyzers, self._model["blocks"], self._offsets, strict=True):
            counts = Counter(t for t in analyzer(text) if t in block["vocabulary"])
            if not counts:
                continue
            idx = np.fromiter((block["vocabulary"][t] for t in counts), dtype=np.int64, count=len(counts))
            v = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * block["idf"][idx]
            cols.append(idx + offset)
            # Not `np.linalg.norm`: it lets go of the interpreter lock, and in a busy web process a
            # database thread takes it; the turn then waited ~45 µs for it (bench/turn.py).
            vals.append(v / math.sqrt(float((v * v).sum())))
        coef, intercept = self._model["coef"], self._model["intercept"]
        scores = intercept.copy()
        if cols:
            scores = scores + coef[:, np.concatenate(cols)] @ np.concatenate(vals)
        if coef.shape[0] == 1:  # two classes: one logistic score for the second class
            p = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - p, p])
        exp = np.exp(scores - scores.max())
        return exp / exp.sum()

    def classify(self, text: str, threshold: float | None = None) -> tuple[str | None, float]:
        """The best intent and its confidence; `None` when out of scope or below the threshold
        (`threshold`, or the one given to `load`)."""
        if not self._model or not text.strip():
            return None, 0.0
        probs = self._probabilities(text)
        best = int(probs.argmax())
        label = self._model["classes"][best]
        confidence = float(probs[best]) * (0.5 + 0.5 * self._coverage(text))
        if label == _OUT_OF_SCOPE or confidence < (self.threshold if threshold is None else threshold):
            return None, confidence
        return label, confidence


def load(blob: bytes, *, threshold: float = DEFAULT_THRESHOLD) -> Classifier:
    if not blob or not bytes(blob).startswith(_MAGIC):
        raise NluError("This intent model was not made by Switchboard's trainer; publish the bot again.")
    blob = bytes(blob)
    signature, payload = blob[len(_MAGIC) : len(_MAGIC) + 32], blob[len(_MAGIC) + 32 :]
    if not hmac.compare_digest(signature, _sign(payload)):
        raise NluError("This intent model was trained with another SECRET_KEY; publish the bot again.")
    return Classifier(pickle.loads(payload), threshold)  # noqa: S301 - signature checked above
